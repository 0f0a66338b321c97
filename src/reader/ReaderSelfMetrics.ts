import type { Counter, Histogram, MeterProvider } from '@opentelemetry/api';
import { PERFWATCH_VERSION } from '../version.js';

/**
 * perfwatch's own health as OTel instruments, so it leaves through the same exporters as every
 * other metric. Instruments are created on first use: the reader exists before the MeterProvider
 * that it is registered with.
 */
export class ReaderSelfMetrics {
  private instruments:
    | {
        collectionDuration: Histogram;
        pointsWritten: Counter;
        writeErrors: Counter;
        droppedCollections: Counter;
      }
    | undefined;
  private lastStoreSize: number | undefined;

  constructor(private readonly meterProvider: () => MeterProvider) {}

  /** The instruments, created on first use. */
  private get recorders() {
    if (this.instruments === undefined) {
      const meter = this.meterProvider().getMeter('perfwatch', PERFWATCH_VERSION);
      this.instruments = {
        collectionDuration: meter.createHistogram('perfwatch.collection.duration', {
          unit: 's',
          description: 'Time to collect all instruments and write the collection to DuckDB.',
          advice: {
            explicitBucketBoundaries: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
          },
        }),
        pointsWritten: meter.createCounter('perfwatch.store.points_written', {
          unit: '{point}',
          description: 'Data points written to the DuckDB history.',
        }),
        writeErrors: meter.createCounter('perfwatch.store.write_errors', {
          unit: '{error}',
          description:
            'Failed attempts to write a collection to DuckDB (the collection is kept and retried).',
        }),
        droppedCollections: meter.createCounter('perfwatch.store.dropped_collections', {
          unit: '{collection}',
          description: 'Collections dropped because the retry buffer was full while writes kept failing.',
        }),
      };
      meter
        .createObservableGauge('perfwatch.store.size', {
          unit: 'By',
          description: 'Size of the DuckDB history file and its write-ahead log.',
        })
        .addCallback((result) => {
          if (this.lastStoreSize !== undefined) result.observe(this.lastStoreSize);
        });
    }
    return this.instruments;
  }

  collectionFinished(seconds: number, outcome: 'written' | 'buffered'): void {
    this.recorders.collectionDuration.record(seconds, { outcome });
  }

  pointsWritten(points: number): void {
    this.recorders.pointsWritten.add(points);
  }

  writeFailed(): void {
    this.recorders.writeErrors.add(1);
  }

  collectionsDropped(count: number): void {
    this.recorders.droppedCollections.add(count);
  }

  storeSize(bytes: number): void {
    this.lastStoreSize = bytes;
  }
}
