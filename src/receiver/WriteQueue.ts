import type { StoredResourceMetrics } from '../store/StoredResourceMetrics.js';

/** What the store refused of a write: points of new series past a series limit (see WriteSummary). */
export interface Refusals {
  readonly refusedByCollection?: readonly number[];
  readonly refusal?: string;
}

/** The part of MetricStore the receiver writes through (tests inject a slow one). */
export interface BatchWriter {
  /** Resolves with Refusals (MetricStore's WriteSummary is one) or anything else when none. */
  writeCollections(batch: readonly StoredResourceMetrics[]): Promise<unknown>;
}

/** What one request's points came to once written: how many the store refused, and why. */
export interface Written {
  readonly refused: number;
  readonly refusal: string | undefined;
}

interface Entry {
  readonly batch: readonly StoredResourceMetrics[];
  readonly points: number;
  readonly resolve: (written: Written) => void;
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
  offer(batch: readonly StoredResourceMetrics[], points: number): Promise<Written> | undefined {
    if (this.queuedPoints > 0 && this.queuedPoints + points > this.maxPendingPoints) return undefined;
    this.queuedPoints += points;
    const done = new Promise<Written>((resolve, reject) => {
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
      const refusals = await this.writer.writeCollections(taken.flatMap((entry) => entry.batch));
      let offset = 0;
      for (const entry of taken) {
        this.settle(entry, writtenOf(refusals, offset, entry.batch.length));
        offset += entry.batch.length;
      }
      return;
    } catch (error) {
      if (taken.length === 1) {
        this.settle(taken[0]!, { error });
        return;
      }
    }
    for (const entry of taken) {
      try {
        const refusals = await this.writer.writeCollections(entry.batch);
        this.settle(entry, writtenOf(refusals, 0, entry.batch.length));
      } catch (error) {
        this.settle(entry, { error });
      }
    }
  }

  /** Frees the entry's room before its sender hears back, so it may send again at once. */
  private settle(entry: Entry, outcome: Written | { error: unknown }): void {
    this.queuedPoints -= entry.points;
    if ('error' in outcome) entry.reject(outcome.error);
    else entry.resolve(outcome);
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

/** The refusals of one request's collections, at `offset` in the batch written together. */
function writtenOf(result: unknown, offset: number, length: number): Written {
  const refusals = (typeof result === 'object' && result !== null ? result : {}) as Refusals;
  let refused = 0;
  const counts = refusals.refusedByCollection;
  if (counts !== undefined) for (let i = offset; i < offset + length; i++) refused += counts[i] ?? 0;
  return { refused, refusal: refused > 0 ? refusals.refusal : undefined };
}
