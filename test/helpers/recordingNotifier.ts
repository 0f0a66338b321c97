import type { AlertNotifier, NotificationBatch } from '../../src/alerts/AlertNotifier.js';

/** An alert receiver that remembers every batch it is handed. */
export function recordingNotifier(): AlertNotifier & { batches: NotificationBatch[] } {
  const batches: NotificationBatch[] = [];
  return {
    name: 'recording',
    batches,
    send: (batch) => batches.push(batch),
    forceFlush: async () => undefined,
    shutdown: async () => undefined,
  };
}
