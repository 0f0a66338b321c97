import type { Logger } from '../logging/Logger.js';
import type { ScheduledTask, Scheduler } from './Scheduler.js';

/**
 * Runs `run` every `intervalMillis` (first run one interval after `start`), never two at once.
 * A failed run is logged and the next interval tries again; `runNow` joins a run in progress.
 */
export class PeriodicTask<T> {
  private task: ScheduledTask | undefined;
  private running: Promise<T | undefined> | undefined;

  constructor(
    private readonly options: {
      name: string;
      intervalMillis: number;
      run: () => Promise<T>;
      scheduler: Scheduler;
      logger: Logger;
    },
  ) {}

  start(): void {
    this.task ??= this.options.scheduler.every(this.options.intervalMillis, () => {
      void this.runNow();
    });
  }

  /** Runs now (or joins the run in progress); resolves with its result, undefined when it failed. */
  runNow(): Promise<T | undefined> {
    this.running ??= this.options
      .run()
      .catch((error: unknown) => {
        this.options.logger.error(
          { err: error, task: this.options.name },
          `${this.options.name} failed; retrying at the next interval`,
        );
        return undefined;
      })
      .finally(() => {
        this.running = undefined;
      });
    return this.running;
  }

  /** Stops the schedule and waits for a run in progress. */
  async shutdown(): Promise<void> {
    this.task?.cancel();
    this.task = undefined;
    await this.running;
  }
}
