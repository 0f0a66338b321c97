import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ResourceMetrics } from '@opentelemetry/sdk-metrics';
import { MetricStore } from '../src/store/MetricStore.js';
import { report } from './stats.js';
import { histogramCollection, numberCollection } from './syntheticCollection.js';

/** Seconds to write `inputs` one collection (one transaction) at a time. */
async function timeWrites(store: MetricStore, inputs: readonly ResourceMetrics[]): Promise<number> {
  const started = performance.now();
  for (const input of inputs) await store.writeCollection(input);
  return (performance.now() - started) / 1000;
}

async function pointCount(store: MetricStore): Promise<number> {
  const [row] = await store.query('SELECT count(*) AS n FROM points_number');
  return Number(row?.n);
}

/** Write throughput of the store and bytes on disk per numeric point. */
export async function benchStoreWrites(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'perfwatch-bench-'));
  try {
    // Inputs are built before timing: the figure is the store's, not the generator's.
    const small = await MetricStore.open(join(dir, 'small.duckdb'));
    const smallSeconds = await timeWrites(
      small,
      Array.from({ length: 1000 }, (_, c) => numberCollection(1000, c)),
    );
    await small.checkpoint();
    const bytesAt1M = await small.sizeBytes();
    const pointsAt1M = await pointCount(small);
    await timeWrites(
      small,
      Array.from({ length: 1000 }, (_, c) => numberCollection(1000, 1000 + c)),
    );
    await small.checkpoint();
    const marginal = ((await small.sizeBytes()) - bytesAt1M) / ((await pointCount(small)) - pointsAt1M);
    await small.close();

    const large = await MetricStore.open(join(dir, 'large.duckdb'));
    const largeSeconds = await timeWrites(
      large,
      Array.from({ length: 100 }, (_, c) => numberCollection(10_000, c)),
    );
    await large.close();

    const histograms = await MetricStore.open(join(dir, 'histograms.duckdb'));
    const histogramSeconds = await timeWrites(
      histograms,
      Array.from({ length: 100 }, (_, c) => histogramCollection(1000, c)),
    );
    const largeHistogramSeconds = await timeWrites(
      histograms,
      Array.from({ length: 10 }, (_, c) => histogramCollection(10_000, 100 + c)),
    );
    await histograms.close();

    const rate = (points: number, seconds: number) => Math.round(points / seconds).toLocaleString('en');
    report('store write path (synthetic collections, one transaction each)', [
      ['numeric points/s, 1,000-point collections', rate(1_000_000, smallSeconds), 'target ≥ 1,000,000'],
      ['numeric points/s, 10,000-point collections', rate(1_000_000, largeSeconds), 'target ≥ 1,000,000'],
      ['ms per 1,000-point collection', ((smallSeconds / 1000) * 1000).toFixed(2), ''],
      ['histogram points/s, 1,000-point collections', rate(100_000, histogramSeconds), 'target ≥ 100,000'],
      [
        'histogram points/s, 10,000-point collections',
        rate(100_000, largeHistogramSeconds),
        'target ≥ 100,000',
      ],
      [
        'bytes on disk per numeric point, file at 1M points',
        (bytesAt1M / pointsAt1M).toFixed(2),
        'target ≤ 4 (includes fixed per-table blocks)',
      ],
      ['bytes on disk per numeric point, 1M → 2M (marginal)', marginal.toFixed(2), 'target ≤ 4'],
    ]);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
