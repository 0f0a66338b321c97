import type { AlertNotification, AlertNotifier, NotificationBatch } from './AlertNotifier.js';
import { DeliveryQueue, type DeliveryQueueOptions } from './DeliveryQueue.js';
import { redact } from './WebhookNotifier.js';

export interface AlertmanagerNotifierOptions extends Omit<DeliveryQueueOptions, 'name'> {
  /** Alertmanager's base URL, e.g. `http://alertmanager:9093`; `/api/v2/alerts` is appended. */
  url: string;
  /** Link back to the alert's source (`generatorURL`); `{rule}` is replaced by the rule name. */
  generatorUrl?: string;
  /**
   * Firing alerts are sent again this often, as Prometheus does (its default: 1 m), and carry an
   * `endsAt` of 4 intervals ahead, so Alertmanager resolves them itself if perfwatch stops.
   * @default 60000
   */
  resendIntervalMillis?: number;
}

/**
 * Delivers alerts to Prometheus Alertmanager through its v2 API (`POST /api/v2/alerts`), with
 * Prometheus' protocol: firing alerts are re-posted every resend interval with an `endsAt` in the
 * future; a resolved alert is posted once with `endsAt` set to when it resolved. Label names are
 * sanitised to Prometheus' `[a-zA-Z_][a-zA-Z0-9_]*` (`service.name` → `service_name`), which
 * every Alertmanager version accepts.
 */
export class AlertmanagerNotifier implements AlertNotifier {
  readonly name: string;
  private readonly queue: DeliveryQueue;
  private readonly endpoint: string;
  private readonly resendIntervalMillis: number;
  private lastResend = Number.NEGATIVE_INFINITY;

  constructor(private readonly options: AlertmanagerNotifierOptions) {
    this.endpoint = `${options.url.replace(/\/+$/, '')}/api/v2/alerts`;
    this.name = `alertmanager ${redact(options.url)}`;
    this.resendIntervalMillis = options.resendIntervalMillis ?? 60_000;
    this.queue = new DeliveryQueue({ ...options, name: this.name });
  }

  send(batch: NotificationBatch): void {
    const resend = batch.now - this.lastResend >= this.resendIntervalMillis;
    const alerts = resend
      ? [...batch.firing, ...batch.changed.filter((alert) => alert.status === 'resolved')]
      : batch.changed;
    if (resend) this.lastResend = batch.now;
    if (alerts.length === 0) return;
    this.queue.enqueue(
      this.endpoint,
      alerts.map((alert) => this.toPostableAlert(alert, batch.now)),
    );
  }

  forceFlush(): Promise<void> {
    return this.queue.forceFlush();
  }

  shutdown(): Promise<void> {
    return this.queue.shutdown();
  }

  private toPostableAlert(alert: AlertNotification, now: number) {
    const endsAt = alert.endsAt ?? now + 4 * this.resendIntervalMillis;
    const rule = alert.labels.alertname ?? '';
    return {
      labels: sanitiseLabels(alert.labels),
      annotations: alert.annotations,
      startsAt: new Date(alert.startsAt).toISOString(),
      endsAt: new Date(endsAt).toISOString(),
      generatorURL: (this.options.generatorUrl ?? 'perfwatch://alerts/{rule}').replace(
        '{rule}',
        encodeURIComponent(rule),
      ),
    };
  }
}

function sanitiseLabels(labels: Readonly<Record<string, string>>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(labels)) {
    const name = key.replace(/[^a-zA-Z0-9_]/g, '_').replace(/^(?=\d)/, '_');
    // Alertmanager drops labels with empty values anyway; keep the payload honest.
    if (value !== '') out[name] = value;
  }
  return out;
}
