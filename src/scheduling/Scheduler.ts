/** A handle to cancel a periodic task. */
export interface ScheduledTask {
  cancel(): void;
}

/** Where periodic work gets its timer from; tests inject a manual scheduler instead of sleeping. */
export interface Scheduler {
  every(intervalMillis: number, task: () => void): ScheduledTask;
}

/** Real timers, `unref()`ed so a monitor never keeps its host process alive on its own. */
export const timerScheduler: Scheduler = Object.freeze({
  every(intervalMillis: number, task: () => void): ScheduledTask {
    const timer = setInterval(task, intervalMillis);
    timer.unref();
    return { cancel: () => clearInterval(timer) };
  },
});
