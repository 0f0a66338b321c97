import type { StoredResourceMetrics } from '../store/StoredResourceMetrics.js';

/** The part of MetricStore the receiver writes through (tests inject a slow one). */
export interface BatchWriter {
  writeCollections(batch: readonly StoredResourceMetrics[]): Promise<unknown>;
}

interface Entry {
  readonly batch: readonly StoredResourceMetrics[];
  readonly points: number;
  readonly resolve: () => void;
  readonly reject: (error: unknown) => void;
}

/**
 * Received points waiting for the store, bounded by a point count so a slow disk turns into
 * back-pressure (the receiver answers 429) instead of unbounded memory. Requests that arrive
 * while a transaction runs are written together in the next one (group commit): under many
 * concurrent clients the transaction count stays low and throughput high.
 */
export class WriteQueue {
  private readonly entries: Entry[] = [];
  private queuedPoints = 0;
  private writing: Promise<void> | undefined;

  constructor(
    private readonly writer: BatchWriter,
    /** Most points queued or being written at once. */
    private readonly maxPendingPoints: number,
    /** Most points per transaction; a single larger request still goes in one. */
    private readonly maxBatchPoints: number,
  ) {}

  /** Points queued or being written. */
  get pendingPoints(): number {
    return this.queuedPoints;
  }

  get isFull(): boolean {
    return this.queuedPoints >= this.maxPendingPoints;
  }

  /**
   * Queues a request's points; resolves once they are committed, rejects with the store's error.
   * Returns undefined when they do not fit: the caller answers 429. A request larger than the
   * whole queue is still taken when the queue is empty, or it could never be stored.
   */
  offer(batch: readonly StoredResourceMetrics[], points: number): Promise<void> | undefined {
    if (this.queuedPoints > 0 && this.queuedPoints + points > this.maxPendingPoints) return undefined;
    this.queuedPoints += points;
    const done = new Promise<void>((resolve, reject) => {
      this.entries.push({ batch, points, resolve, reject });
    });
    this.writing ??= this.drain();
    return done;
  }

  /** Resolves when everything queued so far is written (or has failed). */
  async flush(): Promise<void> {
    while (this.writing !== undefined) await this.writing;
  }

  /**
   * One transaction for every taken request. When it fails, each request is written on its own,
   * so one that cannot be stored fails alone instead of failing (and, retried by its client,
   * blocking) every request that happened to share its transaction.
   */
  private async writeTogether(taken: readonly Entry[]): Promise<void> {
    try {
      await this.writer.writeCollections(taken.flatMap((entry) => entry.batch));
      for (const entry of taken) this.settle(entry, undefined);
      return;
    } catch (error) {
      if (taken.length === 1) {
        this.settle(taken[0]!, { error });
        return;
      }
    }
    for (const entry of taken) {
      try {
        await this.writer.writeCollections(entry.batch);
        this.settle(entry, undefined);
      } catch (error) {
        this.settle(entry, { error });
      }
    }
  }

  /** Frees the entry's room before its sender hears back, so it may send again at once. */
  private settle(entry: Entry, failure: { error: unknown } | undefined): void {
    this.queuedPoints -= entry.points;
    if (failure === undefined) entry.resolve();
    else entry.reject(failure.error);
  }

  private async drain(): Promise<void> {
    try {
      while (this.entries.length > 0) {
        const taken: Entry[] = [];
        let points = 0;
        while (
          this.entries.length > 0 &&
          (taken.length === 0 || points + this.entries[0]!.points <= this.maxBatchPoints)
        ) {
          const entry = this.entries.shift()!;
          taken.push(entry);
          points += entry.points;
        }
        await this.writeTogether(taken);
      }
    } finally {
      this.writing = undefined;
    }
  }
}
