import { type MeterProvider, metrics } from '@opentelemetry/api';
import { AggregationTemporality, MetricReader, type ResourceMetrics } from '@opentelemetry/sdk-metrics';
import { ConfigError, InvalidCollectionError, ShutdownError } from '../errors.js';
import type { Logger } from '../logging/Logger.js';
import { silentLogger } from '../logging/Logger.js';
import { RateLimitedWarning } from '../logging/RateLimitedWarning.js';
import { type ScheduledTask, type Scheduler, timerScheduler } from '../scheduling/Scheduler.js';
import { MetricStore } from '../store/MetricStore.js';
import { ReaderSelfMetrics } from './ReaderSelfMetrics.js';

/** What the reader has done since it started, for health reports (the same counts as its self-metrics). */
export interface ReaderStatus {
  /** When the last collection was written, or undefined before the first. */
  readonly lastCollectionAt: Date | undefined;
  readonly collectionsWritten: number;
  readonly pointsWritten: number;
  readonly writeErrors: number;
  readonly droppedCollections: number;
  /** Collections waiting to be written (non-zero only while writes fail). */
  readonly pendingCollections: number;
}

export interface DuckDbMetricReaderOptions {
  /** History file to open (and close on shutdown). Give either `path` or `store`. */
  path?: string;
  /** An already open store; the reader writes to it but leaves closing it to its owner. */
  store?: MetricStore;
  /**
   * Milliseconds between collections; 0 disables periodic collection (call `forceFlush()`).
   * @default OTEL_METRIC_EXPORT_INTERVAL, else 30000
   */
  collectionIntervalMillis?: number;
  /** Milliseconds the instruments' callbacks may take per collection. @default 10000 */
  collectionTimeoutMillis?: number;
  /** Collections kept while writes fail; beyond it the oldest is dropped and counted. @default 20 */
  writeBufferCollections?: number;
  /** Most series per metric for this reader (the SDK adds an overflow series beyond). @default 2000 */
  cardinalityLimit?: number;
  /** Where self-metrics (`perfwatch.*`) are recorded. @default the global MeterProvider */
  selfMetricsMeterProvider?: MeterProvider;
  /** @default real, unref'd timers */
  scheduler?: Scheduler;
  /** @default silentLogger */
  logger?: Logger;
  /** Wall clock for rate-limiting repeated warnings. @default Date.now */
  now?: () => number;
  /**
   * Runs after each collection is written (alert evaluation reads it). Awaited before the
   * collection counts as done, so the next one never overlaps it and `forceFlush()` includes it;
   * a rejection is logged, never fails the collection.
   */
  onCollectionWritten?: () => Promise<void>;
}

/**
 * A MetricReader that persists every collection into the DuckDB history.
 *
 * Temporality is cumulative for every instrument: a cumulative point carries everything since
 * its start time, so a collection dropped while the disk was full loses resolution but no counts,
 * rates are derived exactly as Prometheus derives them (resets show as a new start_time), and the
 * Prometheus reader on the same provider needs cumulative anyway.
 *
 * Collections never overlap: a flush requested while one runs is served by one follow-up
 * collection, shared by every caller that asked in the meantime.
 */
export class DuckDbMetricReader extends MetricReader {
  private readonly storeReady: Promise<MetricStore>;
  private readonly ownsStore: boolean;
  private readonly intervalMillis: number;
  private readonly timeoutMillis: number;
  private readonly bufferLimit: number;
  private readonly scheduler: Scheduler;
  private readonly logger: Logger;
  private readonly onCollectionWritten: (() => Promise<void>) | undefined;
  private readonly selfMetrics: ReaderSelfMetrics;
  private readonly collectErrorWarning: RateLimitedWarning;
  private readonly writeErrorWarning: RateLimitedWarning;
  /** Collections waiting to be written, oldest first. */
  private readonly pending: ResourceMetrics[] = [];
  private running: Promise<void> | undefined;
  private queued: Promise<void> | undefined;
  private task: ScheduledTask | undefined;
  private stopped = false;
  private readonly counts = {
    lastCollectionAt: undefined as Date | undefined,
    collectionsWritten: 0,
    pointsWritten: 0,
    writeErrors: 0,
    droppedCollections: 0,
  };
  private readonly now: () => number;
  /** Errors already logged and counted by writePending, so the scheduler does not log them twice. */
  private readonly loggedErrors = new WeakSet<object>();

  constructor(options: DuckDbMetricReaderOptions) {
    const cardinalityLimit = checkedInteger(
      'cardinalityLimit',
      options.cardinalityLimit ?? 2000,
      1,
      1_000_000,
    );
    super({
      aggregationTemporalitySelector: () => AggregationTemporality.CUMULATIVE,
      cardinalitySelector: () => cardinalityLimit,
    });
    // Validate everything before opening the file: a constructor that throws after the open
    // would leave the file locked with no one to close it.
    if ((options.path === undefined) === (options.store === undefined)) {
      throw new TypeError('DuckDbMetricReader needs exactly one of `path` or `store`');
    }
    this.intervalMillis = checkedInteger(
      'collectionIntervalMillis',
      options.collectionIntervalMillis ?? envInterval() ?? 30_000,
      0,
    );
    this.timeoutMillis = checkedInteger(
      'collectionTimeoutMillis',
      options.collectionTimeoutMillis ?? 10_000,
      1,
    );
    this.bufferLimit = checkedInteger(
      'writeBufferCollections',
      options.writeBufferCollections ?? 20,
      0,
      100_000,
    );
    this.scheduler = options.scheduler ?? timerScheduler;
    this.logger = options.logger ?? silentLogger;
    this.onCollectionWritten = options.onCollectionWritten;
    const selfMetricsProvider = options.selfMetricsMeterProvider;
    this.selfMetrics = new ReaderSelfMetrics(() => selfMetricsProvider ?? metrics.getMeterProvider());
    const now = options.now ?? Date.now;
    this.now = now;
    this.collectErrorWarning = new RateLimitedWarning(this.logger, 60_000, now);
    this.writeErrorWarning = new RateLimitedWarning(this.logger, 60_000, now);

    this.ownsStore = options.store === undefined;
    this.storeReady =
      options.store !== undefined
        ? Promise.resolve(options.store)
        : MetricStore.open(options.path as string, { logger: this.logger });
    // Opening errors surface through ready(), forceFlush() and the log; never as unhandled.
    this.storeReady.catch((error: unknown) =>
      this.logger.error({ err: error }, 'cannot open the history file'),
    );
  }

  /** Resolves with the store once the history file is open; rejects with why it could not be. */
  ready(): Promise<MetricStore> {
    return this.storeReady;
  }

  /** Collections collected but not yet written (non-zero only while writes fail). */
  get pendingCollections(): number {
    return this.pending.length;
  }

  /** Counts since the reader started (a copy; it does not change afterwards). */
  get status(): ReaderStatus {
    return { ...this.counts, pendingCollections: this.pending.length };
  }

  protected override onInitialized(): void {
    if (this.intervalMillis > 0) {
      this.task = this.scheduler.every(this.intervalMillis, () => {
        this.collectOnce().catch((error: unknown) => {
          // Write failures are logged and counted where they happen; anything else is logged here.
          const alreadyLogged =
            typeof error === 'object' && error !== null && this.loggedErrors.delete(error);
          if (!alreadyLogged) {
            this.collectErrorWarning.warn({ err: error }, 'a scheduled collection failed');
          }
        });
      });
    }
  }

  protected override async onForceFlush(): Promise<void> {
    await this.collectOnce();
  }

  protected override async onShutdown(): Promise<void> {
    this.task?.cancel();
    try {
      await this.collectOnce();
    } catch (error) {
      if (this.pending.length > 0) {
        this.logger.error(
          { err: error, lostCollections: this.pending.length },
          'shutting down with collections that could not be written; they are lost',
        );
      }
      throw error;
    } finally {
      this.stopped = true;
      if (this.ownsStore) {
        const store = await this.storeReady.catch(() => undefined);
        await store?.close();
      }
    }
  }

  /** Coalesces concurrent requests: at most one collection runs and at most one waits. */
  private collectOnce(): Promise<void> {
    if (this.stopped) return Promise.reject(new ShutdownError('DuckDbMetricReader'));
    if (this.queued !== undefined) return this.queued;
    if (this.running === undefined) return this.startRun();
    const queued = this.running
      .catch(() => undefined)
      .then(() => {
        this.queued = undefined;
        return this.startRun();
      });
    this.queued = queued;
    return queued;
  }

  private startRun(): Promise<void> {
    const run = this.collectAndWrite().finally(() => {
      this.running = undefined;
    });
    this.running = run;
    return run;
  }

  private async collectAndWrite(): Promise<void> {
    const store = await this.storeReady;
    const started = performance.now();
    const { resourceMetrics, errors } = await this.collect({ timeoutMillis: this.timeoutMillis });
    if (errors.length > 0) {
      this.collectErrorWarning.warn(
        { errors: errors.map(String).slice(0, 5), count: errors.length },
        'some metric callbacks failed during collection; the other metrics were collected',
      );
    }
    this.pending.push(resourceMetrics);
    const outcome = await this.writePending(store);
    this.selfMetrics.collectionFinished(
      (performance.now() - started) / 1000,
      outcome.error ? 'buffered' : 'written',
    );
    // Awaited (one stat call) so the next collection reports the size this one left behind.
    this.selfMetrics.storeSize(await store.sizeBytes());
    if (outcome.error) throw outcome.error;
    await this.onCollectionWritten?.().catch((error: unknown) =>
      this.logger.error({ err: error }, 'processing after a collection failed'),
    );
  }

  /** Writes buffered collections oldest first; stops at the first failure and keeps the rest. */
  private async writePending(store: MetricStore): Promise<{ error?: unknown }> {
    while (this.pending.length > 0) {
      try {
        const summary = await store.writeCollection(this.pending[0]!);
        this.pending.shift();
        this.selfMetrics.pointsWritten(summary.points);
        this.counts.pointsWritten += summary.points;
        this.counts.collectionsWritten++;
        this.counts.lastCollectionAt = new Date(this.now());
      } catch (error) {
        if (error instanceof InvalidCollectionError) {
          // Retrying cannot help malformed data, and would block every later collection.
          this.pending.shift();
          this.selfMetrics.collectionsDropped(1);
          this.counts.droppedCollections++;
          this.logger.error({ err: error }, 'dropped a collection that cannot be stored');
          continue;
        }
        this.selfMetrics.writeFailed();
        this.counts.writeErrors++;
        const dropped = Math.max(0, this.pending.length - this.bufferLimit);
        if (dropped > 0) {
          this.pending.splice(0, dropped);
          this.selfMetrics.collectionsDropped(dropped);
          this.counts.droppedCollections += dropped;
        }
        this.writeErrorWarning.warn(
          { err: error, buffered: this.pending.length, dropped },
          'writing to the history failed; the collection is buffered and retried on the next interval',
        );
        if (typeof error === 'object' && error !== null) this.loggedErrors.add(error);
        return { error };
      }
    }
    return {};
  }
}

/** OTEL_METRIC_EXPORT_INTERVAL, validated: a typo there is an error, not a silent default. */
function envInterval(): number | undefined {
  const text = process.env.OTEL_METRIC_EXPORT_INTERVAL?.trim();
  if (!text) return undefined;
  if (!/^\d+$/.test(text) || Number(text) < 1 || Number(text) > MAX_TIMER_MILLIS) {
    throw new ConfigError(
      'collectionIntervalMillis (OTEL_METRIC_EXPORT_INTERVAL)',
      `must be a whole number of milliseconds between 1 and ${MAX_TIMER_MILLIS}, got ${JSON.stringify(text)}`,
    );
  }
  return Number(text);
}

/** Node's timers take at most 2^31 - 1 ms; beyond it they fire after 1 ms. */
const MAX_TIMER_MILLIS = 2_147_483_647;

function checkedInteger(option: string, value: number, min: number, max = MAX_TIMER_MILLIS): number {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new ConfigError(option, `must be an integer between ${min} and ${max}, got ${String(value)}`);
  }
  return value;
}
