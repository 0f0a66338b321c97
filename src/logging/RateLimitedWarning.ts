import type { Logger } from './Logger.js';

/**
 * Logs a recurring failure at most once per `intervalMillis`, with how many were suppressed in
 * between, so an unreachable Collector cannot flood the log every few seconds.
 */
export class RateLimitedWarning {
  private lastLoggedAt: number | undefined;
  private suppressed = 0;

  constructor(
    private readonly logger: Logger,
    private readonly intervalMillis: number,
    private readonly now: () => number = Date.now,
  ) {}

  warn(context: object, message: string): void {
    const now = this.now();
    if (this.lastLoggedAt !== undefined && now - this.lastLoggedAt < this.intervalMillis) {
      this.suppressed++;
      return;
    }
    this.logger.warn({ ...context, suppressedSinceLast: this.suppressed }, message);
    this.lastLoggedAt = now;
    this.suppressed = 0;
  }
}
