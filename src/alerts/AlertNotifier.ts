import type { AlertEventState } from './alertState.js';

/** An alert as receivers see it: Alertmanager's fields plus perfwatch's state and value. */
export interface AlertNotification {
  /** `firing`, or `resolved` once it stopped firing (condition cleared or data gone). */
  readonly status: 'firing' | 'resolved';
  /** The transition's event (`firing`, `resolved`, `nodata`) or `firing` for a periodic resend. */
  readonly event: AlertEventState;
  /** alertname, severity, the rule's labels and the group's labels. */
  readonly labels: Readonly<Record<string, string>>;
  /** summary, description, runbook_url with `{{ $value }}` and `{{ $labels.KEY }}` filled in. */
  readonly annotations: Readonly<Record<string, string>>;
  readonly value: number | null;
  /** When it started firing, epoch ms. */
  readonly startsAt: number;
  /** When it stopped firing, epoch ms; undefined while firing. */
  readonly endsAt: number | undefined;
}

/** One evaluation's outcome for receivers. */
export interface NotificationBatch {
  /** Evaluation time, epoch ms. */
  readonly now: number;
  /** Alerts that started or stopped firing in this evaluation. */
  readonly changed: readonly AlertNotification[];
  /** Every alert firing after this evaluation (for receivers that resend, as Alertmanager needs). */
  readonly firing: readonly AlertNotification[];
}

/** A receiver of alert notifications. `send` must return at once: delivery never blocks evaluation. */
export interface AlertNotifier {
  readonly name: string;
  send(batch: NotificationBatch): void;
  /** Resolves once everything queued has been delivered or given up on. */
  forceFlush(): Promise<void>;
  /** Delivers what is queued (within a timeout), then refuses new notifications. Idempotent. */
  shutdown(): Promise<void>;
}
