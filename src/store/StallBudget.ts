import { setImmediate as yieldToEventLoop } from 'node:timers/promises';

/**
 * How long a write holds the event loop before it yields: the application's requests wait at
 * most about this long for a collection. Yielding after every chunk instead let a busy
 * receiver's request decoding into every gap, and DuckDB's writer thread waited for it.
 */
const MAX_STALL_MILLIS = 4;

/** Tells a write when it has held the event loop for MAX_STALL_MILLIS since it last had to wait. */
export class StallBudget {
  private since: number;

  constructor(private readonly now: () => number = () => performance.now()) {
    this.since = now();
  }

  /** Yields to the event loop if the budget is spent, and starts a new one after. */
  async pause(): Promise<void> {
    if (this.now() - this.since < MAX_STALL_MILLIS) return;
    await yieldToEventLoop();
    this.since = this.now();
  }
}
