import type { WriteSummary } from '../store/MetricStore.js';
import type { StoredResourceMetrics } from '../store/StoredResourceMetrics.js';
import type { BatchWriter } from './WriteQueue.js';

/** What the OTLP receiver's writes to the history did, for `GET health` and the event stream. */
export interface ReceivedWritesStatus {
  /** Points of received requests committed to DuckDB. */
  readonly pointsWritten: number;
  /** Transactions that committed received points (concurrent requests share one). */
  readonly batchesWritten: number;
  /** Writes of received points that failed (their clients were answered 503 and retry). */
  readonly writeErrors: number;
  readonly lastWriteAt: Date | undefined;
  readonly lastErrorAt: Date | undefined;
}

/**
 * The store as the receiver sees it: every write passes through unchanged, and its outcome is
 * counted and announced to `onWritten` (the running perfwatch turns that into collection events).
 * Counting here, outside the receiver, keeps the receiver's hot path as it is.
 */
export class ReceivedWrites implements BatchWriter {
  private points = 0;
  private batches = 0;
  private errors = 0;
  private lastWrite: Date | undefined;
  private lastError: Date | undefined;

  constructor(
    private readonly store: {
      writeCollections(batch: readonly StoredResourceMetrics[]): Promise<WriteSummary>;
    },
    private readonly now: () => number,
    private readonly onWritten: () => void,
  ) {}

  get status(): ReceivedWritesStatus {
    return {
      pointsWritten: this.points,
      batchesWritten: this.batches,
      writeErrors: this.errors,
      lastWriteAt: this.lastWrite,
      lastErrorAt: this.lastError,
    };
  }

  async writeCollections(batch: readonly StoredResourceMetrics[]): Promise<WriteSummary> {
    let summary: WriteSummary;
    try {
      summary = await this.store.writeCollections(batch);
    } catch (error) {
      this.errors++;
      this.lastError = new Date(this.now());
      throw error;
    }
    this.points += summary.points;
    this.batches++;
    this.lastWrite = new Date(this.now());
    this.onWritten();
    return summary;
  }
}
