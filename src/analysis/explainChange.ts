import type { ChangeKind } from '../store/regressionRecords.js';

/** What the explanation sentence needs about one change. */
export interface ChangeFacts {
  readonly metric: string;
  readonly statistic: string;
  readonly unit: string;
  readonly service: string | null;
  readonly labels: Readonly<Record<string, string | null>>;
  readonly kind: ChangeKind;
  readonly direction: 'up' | 'down';
  readonly changeTime: Date;
  readonly before: number;
  readonly after: number;
  readonly effect: number;
  readonly effectLow: number;
  readonly effectHigh: number;
  readonly effectKind: 'relative' | 'absolute';
  readonly deploy: { readonly from: string; readonly to: string } | null;
}

const STATISTIC_NAMES: Record<string, string> = {
  value: '',
  rate: 'rate of ',
  p50: 'p50 of ',
  p90: 'p90 of ',
  p95: 'p95 of ',
  p99: 'p99 of ',
  error_rate: 'error rate of ',
};

/**
 * One sentence a person can act on, e.g. "p95 of http.server.request.duration for checkout rose
 * 38 % (95 % CI 31–45 %) from 120 ms to 166 ms at 14:02 UTC, right after service.version 1.4.0 →
 * 1.5.0 — a regression."
 */
export function explainChange(facts: ChangeFacts): string {
  const labels = Object.entries(facts.labels)
    .filter(([key, value]) => value !== null && key !== 'service.name')
    .map(([key, value]) => `${key}=${value}`);
  const subject = `${STATISTIC_NAMES[facts.statistic] ?? `${facts.statistic} of `}${facts.metric}${
    labels.length > 0 ? ` {${labels.join(', ')}}` : ''
  }${facts.service === null ? '' : ` for ${facts.service}`}`;
  const verb = facts.direction === 'up' ? 'rose' : 'fell';
  const unit = facts.statistic === 'error_rate' ? 'ratio' : facts.unit;
  const when = `${facts.changeTime.toISOString().slice(11, 16)} UTC`;
  const deploy =
    facts.deploy === null ? '' : `, right after service.version ${facts.deploy.from} → ${facts.deploy.to}`;
  const verdict =
    facts.kind === 'regression'
      ? 'a regression'
      : facts.kind === 'improvement'
        ? 'an improvement'
        : 'informational';
  return `${subject} ${verb} ${amount(facts)} from ${formatValue(facts.before, unit)} to ${formatValue(
    facts.after,
    unit,
  )} at ${when}${deploy} — ${verdict}.`;
}

function amount(facts: ChangeFacts): string {
  const size = Math.abs(facts.effect);
  if (facts.effectKind === 'absolute') {
    const points = facts.statistic === 'error_rate';
    const text = points ? `${round(size * 100)} percentage points` : formatValue(size, facts.unit);
    return text + interval(facts, (x) => (points ? `${round(x * 100)}` : formatValue(x, facts.unit)));
  }
  if (!Number.isFinite(size)) return 'from zero';
  return `${round(size * 100)} %${interval(facts, (x) => `${round(x * 100)}`, ' %')}`;
}

/** The 95 % interval of the effect's size, when there is one. */
function interval(facts: ChangeFacts, format: (x: number) => string, suffix = ''): string {
  if (!Number.isFinite(facts.effectLow) || !Number.isFinite(facts.effectHigh)) return '';
  const [low, high] = [Math.abs(facts.effectLow), Math.abs(facts.effectHigh)].sort((a, b) => a - b);
  return ` (95 % CI ${format(low!)}–${format(high!)}${suffix})`;
}

/** A value in its unit, scaled to a readable size (seconds to ms, bytes to MiB, ratios to %). */
export function formatValue(value: number, unit: string): string {
  if (!Number.isFinite(value)) return String(value);
  const magnitude = Math.abs(value);
  if (unit === 's') {
    if (magnitude < 1e-3) return `${round(value * 1e6)} µs`;
    if (magnitude < 1) return `${round(value * 1e3)} ms`;
    return `${round(value)} s`;
  }
  if (unit === 'ms') return magnitude < 1000 ? `${round(value)} ms` : `${round(value / 1000)} s`;
  if (unit === 'By') {
    const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
    let scaled = value;
    let i = 0;
    while (Math.abs(scaled) >= 1024 && i < units.length - 1) {
      scaled /= 1024;
      i++;
    }
    return `${round(scaled)} ${units[i]}`;
  }
  if (unit === '1' || unit === 'ratio') return `${round(value * 100)} %`;
  const braces = unit.startsWith('{') || unit === '';
  return braces ? `${round(value)}` : `${round(value)} ${unit}`;
}

/** Three significant digits, no exponent for everyday sizes. */
function round(value: number): string {
  if (value === 0) return '0';
  const digits = Math.max(0, 2 - Math.floor(Math.log10(Math.abs(value))));
  return Number(value.toFixed(Math.min(digits, 6))).toString();
}
