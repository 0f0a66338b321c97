import type { Logger } from '../logging/Logger.js';
import { silentLogger } from '../logging/Logger.js';

export interface DeliveryQueueOptions {
  /** Names the receiver in logs and metrics. */
  name: string;
  /** Requests waiting beyond this drop the oldest (counted and logged). @default 1000 */
  maxQueued?: number;
  /** Attempts per request, the first included. @default 5 */
  maxAttempts?: number;
  /** Delay before the first retry, doubled for each later one. @default 1000 */
  initialBackoffMillis?: number;
  /** Longest delay between attempts. @default 30000 */
  maxBackoffMillis?: number;
  /** Time one attempt may take. @default 10000 */
  timeoutMillis?: number;
  /** How to wait between attempts; tests inject one that resolves at once. @default unref'd setTimeout */
  sleep?: (millis: number, signal: AbortSignal) => Promise<void>;
  /** How long shutdown waits for queued requests before giving them up. @default 5000 */
  shutdownTimeoutMillis?: number;
  /** Called when a request is given up (retries exhausted, or dropped from a full queue). */
  onFailure?: (reason: 'retries_exhausted' | 'queue_full' | 'shutdown') => void;
  logger?: Logger;
}

interface Request {
  readonly url: string;
  readonly body: unknown;
}

/**
 * JSON POSTs sent one at a time, in order, with exponential backoff between attempts. Network
 * errors, 5xx and 429 are retried; other 4xx are not (the receiver refused the payload). Enqueueing
 * never waits: a full queue drops its oldest request.
 */
export class DeliveryQueue {
  private readonly queue: Request[] = [];
  private worker: Promise<void> | undefined;
  private readonly abort = new AbortController();
  private stopped = false;
  private readonly maxQueued: number;
  private readonly maxAttempts: number;
  private readonly initialBackoffMillis: number;
  private readonly maxBackoffMillis: number;
  private readonly timeoutMillis: number;
  private readonly sleep: (millis: number, signal: AbortSignal) => Promise<void>;
  private readonly logger: Logger;

  constructor(private readonly options: DeliveryQueueOptions) {
    this.maxQueued = options.maxQueued ?? 1000;
    this.maxAttempts = options.maxAttempts ?? 5;
    this.initialBackoffMillis = options.initialBackoffMillis ?? 1000;
    this.maxBackoffMillis = options.maxBackoffMillis ?? 30_000;
    this.timeoutMillis = options.timeoutMillis ?? 10_000;
    this.sleep = options.sleep ?? abortableSleep;
    this.logger = options.logger ?? silentLogger;
  }

  /** Requests waiting or being sent. */
  get size(): number {
    return this.queue.length;
  }

  enqueue(url: string, body: unknown): void {
    if (this.stopped) {
      this.options.onFailure?.('shutdown');
      return;
    }
    this.queue.push({ url, body });
    if (this.queue.length > this.maxQueued) {
      // The head may be in flight; drop the oldest one still waiting.
      this.queue.splice(this.worker === undefined ? 0 : 1, 1);
      this.options.onFailure?.('queue_full');
      this.logger.warn(
        { receiver: this.options.name, maxQueued: this.maxQueued },
        'alert delivery queue full; dropped the oldest notification',
      );
    }
    this.worker ??= this.drain().finally(() => {
      this.worker = undefined;
    });
  }

  /** Resolves once the queue is empty (delivered or given up). */
  async forceFlush(): Promise<void> {
    while (this.worker !== undefined) await this.worker;
  }

  /** Stops accepting requests and delivers the queued ones within the shutdown timeout; the rest is given up. */
  async shutdown(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, this.options.shutdownTimeoutMillis ?? 5000);
      timer.unref();
    });
    await Promise.race([this.forceFlush(), timeout]);
    clearTimeout(timer);
    if (this.queue.length > 0) {
      this.logger.warn(
        { receiver: this.options.name, lost: this.queue.length },
        'shutting down with undelivered alert notifications',
      );
      for (const _ of this.queue) this.options.onFailure?.('shutdown');
      this.queue.length = 0;
    }
    this.abort.abort();
    await this.worker?.catch(() => undefined);
  }

  private async drain(): Promise<void> {
    while (this.queue.length > 0 && !this.abort.signal.aborted) {
      const request = this.queue[0]!;
      const delivered = await this.deliver(request);
      // Shutdown may have given it up (and counted it) while it was being sent.
      if (this.queue[0] !== request) continue;
      this.queue.shift();
      if (!delivered) this.options.onFailure?.('retries_exhausted');
    }
  }

  private async deliver(request: Request): Promise<boolean> {
    let lastError = '';
    for (let attempt = 1; attempt <= this.maxAttempts; attempt++) {
      if (attempt > 1) {
        const backoff = Math.min(this.maxBackoffMillis, this.initialBackoffMillis * 2 ** (attempt - 2));
        try {
          await this.sleep(backoff, this.abort.signal);
        } catch {
          return false;
        }
      }
      try {
        const response = await fetch(request.url, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(request.body),
          signal: AbortSignal.any([this.abort.signal, AbortSignal.timeout(this.timeoutMillis)]),
        });
        // Drain the body so the connection can be reused.
        const text = await response.text();
        if (response.ok) return true;
        lastError = `HTTP ${response.status}: ${text.slice(0, 200)}`;
        if (response.status < 500 && response.status !== 429) break;
      } catch (error) {
        lastError = error instanceof Error ? error.message : String(error);
      }
    }
    this.logger.warn(
      { receiver: this.options.name, url: request.url, error: lastError },
      'alert notification could not be delivered; gave up',
    );
    return false;
  }
}

function abortableSleep(millis: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) {
      reject(signal.reason);
      return;
    }
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, millis);
    timer.unref();
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
