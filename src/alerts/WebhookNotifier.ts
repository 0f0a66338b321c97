import type { AlertNotification, AlertNotifier, NotificationBatch } from './AlertNotifier.js';
import { DeliveryQueue, type DeliveryQueueOptions } from './DeliveryQueue.js';

export interface WebhookNotifierOptions extends Omit<DeliveryQueueOptions, 'name'> {
  url: string;
}

/**
 * POSTs every evaluation that started or stopped an alert to a URL, as JSON shaped like
 * Alertmanager's webhook payload (`version`, `status`, `alerts[]` with labels, annotations,
 * startsAt, endsAt) plus perfwatch's `event` and `value`, so receivers written for Alertmanager
 * read it too.
 */
export class WebhookNotifier implements AlertNotifier {
  readonly name: string;
  private readonly queue: DeliveryQueue;

  constructor(private readonly options: WebhookNotifierOptions) {
    this.name = `webhook ${redact(options.url)}`;
    this.queue = new DeliveryQueue({ ...options, name: this.name });
  }

  send(batch: NotificationBatch): void {
    if (batch.changed.length === 0) return;
    this.queue.enqueue(this.options.url, {
      version: '4',
      receiver: 'perfwatch',
      status: batch.changed.some((alert) => alert.status === 'firing') ? 'firing' : 'resolved',
      time: new Date(batch.now).toISOString(),
      alerts: batch.changed.map(webhookAlert),
    });
  }

  forceFlush(): Promise<void> {
    return this.queue.forceFlush();
  }

  shutdown(): Promise<void> {
    return this.queue.shutdown();
  }
}

function webhookAlert(alert: AlertNotification) {
  return {
    status: alert.status,
    event: alert.event,
    labels: alert.labels,
    annotations: alert.annotations,
    value: alert.value,
    startsAt: new Date(alert.startsAt).toISOString(),
    endsAt: alert.endsAt === undefined ? null : new Date(alert.endsAt).toISOString(),
  };
}

/** URLs may carry tokens (Slack-style webhooks): logs show the origin only. */
export function redact(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return 'invalid URL';
  }
}
