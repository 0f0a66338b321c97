import type { PerfWatchConfig } from '../config/PerfWatchOptions.js';
import type { Logger } from '../logging/Logger.js';
import { PeriodicTask } from '../scheduling/PeriodicTask.js';
import type { Scheduler } from '../scheduling/Scheduler.js';
import type { MetricStore } from './MetricStore.js';

const DAY_MILLIS = 86_400_000;

export type MaintenanceSettings = Pick<
  PerfWatchConfig,
  'retentionDays' | 'rollupRetentionDays' | 'snapshotPath' | 'snapshotIntervalMinutes'
>;

/**
 * The history's periodic upkeep for a process that writes it: 1-minute rollups every minute,
 * retention hourly and, when a snapshot path is set, snapshots. `shutdown` stops the schedule and
 * waits for a run in progress.
 */
export function startMaintenance(
  store: MetricStore,
  settings: MaintenanceSettings,
  options: { scheduler: Scheduler; logger: Logger; now: () => number },
): { shutdown(): Promise<void> } {
  const { scheduler, logger, now } = options;
  const tasks: PeriodicTask<unknown>[] = [
    new PeriodicTask({
      name: 'retention',
      intervalMillis: 3_600_000,
      run: () => {
        const at = now();
        return store.deleteBefore(new Date(at - settings.retentionDays * DAY_MILLIS), {
          rollupCutoff: new Date(at - settings.rollupRetentionDays * DAY_MILLIS),
          nowMillis: at,
        });
      },
      scheduler,
      logger,
    }),
    new PeriodicTask({
      name: 'rollup',
      intervalMillis: 60_000,
      run: () => store.rollUp(now()),
      scheduler,
      logger,
    }),
  ];
  const snapshotPath = settings.snapshotPath;
  if (snapshotPath !== undefined) {
    tasks.push(
      new PeriodicTask({
        name: 'snapshot',
        intervalMillis: settings.snapshotIntervalMinutes * 60_000,
        run: () => store.snapshot(snapshotPath),
        scheduler,
        logger,
      }),
    );
  }
  for (const task of tasks) task.start();
  return {
    shutdown: async () => {
      await Promise.all(tasks.map((task) => task.shutdown()));
    },
  };
}
