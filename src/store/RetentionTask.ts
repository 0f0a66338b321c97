import type { Logger } from '../logging/Logger.js';
import type { ScheduledTask, Scheduler } from '../reader/Scheduler.js';
import type { MetricStore, RetentionSummary } from './MetricStore.js';

const DAY_MILLIS = 86_400_000;

/**
 * Applies the retention period on a schedule (hourly by default, first run one interval after
 * start). Runs never overlap; a failed run is logged and retried at the next interval.
 */
export class RetentionTask {
  private task: ScheduledTask | undefined;
  private running: Promise<RetentionSummary | undefined> | undefined;

  constructor(
    private readonly store: MetricStore,
    private readonly options: {
      retentionDays: number;
      scheduler: Scheduler;
      logger: Logger;
      now?: () => number;
      intervalMillis?: number;
    },
  ) {}

  start(): void {
    this.task ??= this.options.scheduler.every(this.options.intervalMillis ?? 3_600_000, () => {
      void this.runNow();
    });
  }

  /** Deletes what is older than the retention period now; resolves with what was removed. */
  runNow(): Promise<RetentionSummary | undefined> {
    this.running ??= this.apply().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  private async apply(): Promise<RetentionSummary | undefined> {
    const now = (this.options.now ?? Date.now)();
    try {
      return await this.store.deleteBefore(new Date(now - this.options.retentionDays * DAY_MILLIS));
    } catch (error) {
      this.options.logger.error({ err: error }, 'retention run failed; retrying at the next interval');
      return undefined;
    }
  }

  /** Stops the schedule and waits for a run in progress. */
  async shutdown(): Promise<void> {
    this.task?.cancel();
    this.task = undefined;
    await this.running;
  }
}
