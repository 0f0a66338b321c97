import type { Logger } from '../logging/Logger.js';
import { PeriodicTask } from '../scheduling/PeriodicTask.js';
import type { Scheduler } from '../scheduling/Scheduler.js';
import type { RegressionProcessor } from './RegressionProcessor.js';

/**
 * Runs the processor's cycles every `intervalMinutes` (0: never), for `perfwatch start` and
 * `perfwatch serve` alike; `shutdown` stops the schedule and waits for a cycle in progress.
 */
export function scheduleRegressionCycles(
  processor: RegressionProcessor,
  intervalMinutes: number,
  options: { scheduler: Scheduler; logger: Logger },
): { shutdown(): Promise<void> } {
  if (intervalMinutes <= 0) return { shutdown: async () => undefined };
  const task = new PeriodicTask({
    name: 'regression cycle',
    intervalMillis: intervalMinutes * 60_000,
    run: () => processor.runCycle(),
    ...options,
  });
  task.start();
  return { shutdown: () => task.shutdown() };
}
