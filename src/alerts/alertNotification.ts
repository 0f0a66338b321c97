import type { AlertNotification } from './AlertNotifier.js';
import type { AlertRule } from './AlertRule.js';
import type { SeriesState } from './alertState.js';

/**
 * An alert series as receivers see it: labels `alertname`, `severity`, the rule's labels and the
 * group's labels; annotations (the rule's description first) with templates filled in.
 */
export function alertNotification(
  rule: AlertRule,
  groupLabels: Readonly<Record<string, string>>,
  state: SeriesState,
  event: AlertNotification['event'],
  now: number,
): AlertNotification {
  const labels = { ...groupLabels, ...rule.labels, alertname: rule.name, severity: rule.severity };
  const annotations: Record<string, string> = {};
  const source = { ...(rule.description ? { description: rule.description } : {}), ...rule.annotations };
  for (const [key, text] of Object.entries(source)) annotations[key] = expand(text, state.value, labels);
  const firing = event === 'firing';
  return {
    status: firing ? 'firing' : 'resolved',
    event,
    labels,
    annotations,
    value: state.value,
    startsAt: state.firedAt ?? now,
    endsAt: firing ? undefined : now,
  };
}

/** Fills `{{ $value }}` and `{{ $labels.KEY }}` as Prometheus' alert templates do (a subset). */
function expand(text: string, value: number | null, labels: Readonly<Record<string, string>>): string {
  return text
    .replace(/\{\{\s*\$value\s*\}\}/g, value === null ? 'no data' : String(Number(value.toPrecision(4))))
    .replace(/\{\{\s*\$labels\.([\w.]+)\s*\}\}/g, (_, key: string) => labels[key] ?? '');
}
