import type { QueryRunner } from '../store/QueryRunner.js';
import { queryTimeSeries } from '../store/queryTimeSeries.js';
import type { AlertRule, MetricSelector } from './AlertRule.js';

/** One alert series of a rule: the group's labels and its value (null: no data in the window). */
export interface RuleSample {
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number | null;
}

/**
 * The rule's value per group over the window ending at `now` (at least one collection interval),
 * read through queryTimeSeries as one bucket spanning the window. A ratio divides the summed numerator by the denominator per group:
 * a group without numerator data counts as 0 (no errors), one with a zero or missing
 * denominator as no data (nothing to divide by).
 */
export async function evaluateRule(
  db: QueryRunner,
  rule: AlertRule,
  now: number,
  collectionIntervalSeconds?: number,
  /**
   * Answers shared by the rules of one evaluation: rules that differ only in threshold or
   * severity (warning and critical pairs) or ratios over one metric read it once.
   */
  shared: Map<string, Promise<Map<string, RuleSample>>> = new Map(),
): Promise<Map<string, RuleSample>> {
  const read = (selector: MetricSelector) => {
    const key = JSON.stringify([selector, rule.aggregation, rule.windowMillis, rule.groupBy]);
    let answer = shared.get(key);
    if (answer === undefined) {
      answer = readSelector(db, rule, selector, now, collectionIntervalSeconds);
      shared.set(key, answer);
    }
    return answer;
  };
  if (rule.query.kind === 'selector') return read(rule.query.selector);
  // One after another: the queries share the store's read connection.
  const denominator = await read(rule.query.denominator);
  const numerators: Map<string, RuleSample>[] = [];
  for (const selector of rule.query.numerator) numerators.push(await read(selector));
  const out = new Map<string, RuleSample>();
  for (const [key, sample] of denominator) {
    let errors = 0;
    for (const numerator of numerators) errors += numerator.get(key)?.value ?? 0;
    const total = sample.value;
    out.set(key, { labels: sample.labels, value: total === null || total === 0 ? null : errors / total });
  }
  return out;
}

/** Windows up to this long are read from raw points (rollups serve long ranges). */
const RAW_WINDOW_MILLIS = 6 * 3_600_000;

async function readSelector(
  db: QueryRunner,
  rule: AlertRule,
  selector: MetricSelector,
  now: number,
  collectionIntervalSeconds: number | undefined,
): Promise<Map<string, RuleSample>> {
  // `to` is exclusive: one more millisecond includes a point stamped exactly at `now`.
  const to = now + 1;
  // A window shorter than the collection interval would mostly be empty: widen it to one interval.
  const windowMillis = Math.max(rule.windowMillis, (collectionIntervalSeconds ?? 0) * 1000);
  const result = await queryTimeSeries(db, {
    metric: selector.metric,
    from: new Date(to - windowMillis),
    to: new Date(to),
    stepSeconds: windowMillis / 1000,
    aggregation: rule.aggregation,
    where: selector.where,
    matchers: selector.matchers,
    groupBy: rule.groupBy,
    ifMissing: 'empty',
    // Alert windows are minutes long: raw points answer them, without asking about rollups.
    ...(windowMillis <= RAW_WINDOW_MILLIS ? { source: 'raw' as const } : {}),
    ...(collectionIntervalSeconds === undefined ? {} : { collectionIntervalSeconds }),
  });
  const out = new Map<string, RuleSample>();
  for (const series of result.series) {
    const labels: Record<string, string> = {};
    for (const key of rule.groupBy) {
      const value = series.labels[key];
      if (value !== null && value !== undefined) labels[key] = value;
    }
    out.set(labelsKey(labels), { labels, value: series.points[0]?.value ?? null });
  }
  return out;
}

/** A stable key for a label set (sorted keys), used to match series across evaluations and sides. */
export function labelsKey(labels: Readonly<Record<string, string>>): string {
  return JSON.stringify(Object.entries(labels).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}
