/**
 * Hands out event-loop turns one at a time, in order: each `next()` resolves in a turn of its
 * own (a setImmediate each), so between two holders the loop polls for I/O again.
 *
 * The receiver decodes each request in its own turn. Decoding a request as soon as its body is
 * in let a burst of requests (every client answered by one commit sends again at once) hold the
 * loop for tens of milliseconds, while the completion of the store's next BEGIN or COMMIT waited
 * behind them and DuckDB's writer thread had nothing to do.
 */
export class TurnQueue {
  private readonly waiting: (() => void)[] = [];
  private scheduled = false;

  /** Resolves in a turn of its own, after every earlier caller's. */
  next(): Promise<void> {
    return new Promise((resolve) => {
      this.waiting.push(resolve);
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(this.grant);
      }
    });
  }

  private readonly grant = (): void => {
    // The holder's continuation runs in this turn, as a microtask right after this callback.
    this.waiting.shift()?.();
    if (this.waiting.length > 0) setImmediate(this.grant);
    else this.scheduled = false;
  };
}
