import type { ScheduledTask, Scheduler } from '../../src/scheduling/Scheduler.js';

/** A Scheduler the test drives: `tick()` runs every registered task once, no timers involved. */
export function manualScheduler(): Scheduler & { tick: () => void; tasks: number } {
  const tasks = new Set<() => void>();
  return {
    every(_intervalMillis: number, task: () => void): ScheduledTask {
      tasks.add(task);
      return { cancel: () => tasks.delete(task) };
    },
    tick: () => {
      for (const task of [...tasks]) task();
    },
    get tasks() {
      return tasks.size;
    },
  };
}
