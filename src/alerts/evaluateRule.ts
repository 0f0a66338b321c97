import type { QueryRunner } from '../store/QueryRunner.js';
import type { Group, TimeSeriesQuery } from '../store/queryTimeSeries.js';
import { queryWindowValues, type WindowValues } from '../store/queryWindows.js';
import type { SeriesMatchCache } from '../store/SeriesMatchCache.js';
import type { AlertRule, MetricSelector } from './AlertRule.js';

/** One alert series of a rule: the group's labels and its value (null: no data in the window). */
export interface RuleSample {
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number | null;
}

/**
 * Every rule's value per group over its window ending at `now` (at least one collection
 * interval), or the error its query raised. The rules' queries are answered together by
 * queryWindows (one statement per family of aggregations rather than one per rule), each exactly
 * as queryTimeSeries answers it: one bucket spanning the window. Rules that differ only in
 * threshold or severity (warning and critical pairs) or ratios over one metric share one query.
 * A ratio divides the summed numerator by the denominator per group: a group without numerator
 * data counts as 0 (no errors), one with a zero or missing denominator as no data (nothing to
 * divide by).
 */
export async function evaluateRules(
  db: QueryRunner,
  rules: readonly AlertRule[],
  now: number,
  collectionIntervalSeconds?: number,
  /** Keeps each selector's matched series between evaluations. @default none (matched every time) */
  matches?: SeriesMatchCache,
): Promise<(Map<string, RuleSample> | Error)[]> {
  const queries = new Map<string, TimeSeriesQuery>();
  const keyOf = (rule: AlertRule, selector: MetricSelector) => {
    const key = JSON.stringify([selector, rule.aggregation, rule.windowMillis, rule.groupBy]);
    if (!queries.has(key)) queries.set(key, selectorQuery(rule, selector, now, collectionIntervalSeconds));
    return key;
  };
  const wanted = rules.map((rule) =>
    rule.query.kind === 'selector'
      ? [keyOf(rule, rule.query.selector)]
      : [keyOf(rule, rule.query.denominator), ...rule.query.numerator.map((s) => keyOf(rule, s))],
  );
  const keys = [...queries.keys()];
  const answers = await queryWindowValues(db, [...queries.values()], matches);
  const answerOf = new Map(keys.map((key, i) => [key, answers[i]!]));
  return rules.map((rule, i) => {
    const own = wanted[i]!.map((key) => answerOf.get(key)!);
    const failed = own.find((answer) => answer instanceof Error);
    if (failed !== undefined) return failed as Error;
    const [first, ...numerators] = own.map((answer) => samplesOf(rule, answer as WindowValues));
    if (rule.query.kind === 'selector') return first!;
    const out = new Map<string, RuleSample>();
    for (const [key, sample] of first!) {
      let errors = 0;
      for (const numerator of numerators) errors += numerator.get(key)?.value ?? 0;
      const total = sample.value;
      out.set(key, { labels: sample.labels, value: total === null || total === 0 ? null : errors / total });
    }
    return out;
  });
}

/** Windows up to this long are read from raw points (rollups serve long ranges). */
const RAW_WINDOW_MILLIS = 6 * 3_600_000;

/** The queryTimeSeries query of one selector of a rule at `now`: one bucket spanning the window. */
function selectorQuery(
  rule: AlertRule,
  selector: MetricSelector,
  now: number,
  collectionIntervalSeconds: number | undefined,
): TimeSeriesQuery {
  // `to` is exclusive: one more millisecond includes a point stamped exactly at `now`.
  const to = now + 1;
  // A window shorter than the collection interval would mostly be empty: widen it to one interval.
  const windowMillis = Math.max(rule.windowMillis, (collectionIntervalSeconds ?? 0) * 1000);
  return {
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
  };
}

/** The rule's samples from one answer, keyed by their group-by labels. */
function samplesOf(rule: AlertRule, answer: WindowValues): Map<string, RuleSample> {
  const out = new Map<string, RuleSample>();
  for (const [g, group] of answer.groups.entries()) {
    if (!answer.present[g]) continue;
    const { labels, key } = groupLabels(rule.groupBy, group);
    const value = answer.values[g]!;
    out.set(key, { labels, value: Number.isNaN(value) ? null : value });
  }
  return out;
}

/**
 * Each group's labels (its non-null group-by values) and their key, worked out once per group:
 * groups stay the same objects while the series catalog is unchanged.
 */
const labelsOfGroup = new WeakMap<Group, { labels: Record<string, string>; key: string }>();

function groupLabels(groupBy: readonly string[], group: Group) {
  let known = labelsOfGroup.get(group);
  if (known === undefined) {
    const labels: Record<string, string> = {};
    for (const [i, key] of groupBy.entries()) {
      const value = group.labels[i];
      if (value !== null && value !== undefined) labels[key] = value;
    }
    known = { labels, key: labelsKey(labels) };
    labelsOfGroup.set(group, known);
  }
  return known;
}

/** A stable key for a label set (sorted keys), used to match series across evaluations and sides. */
export function labelsKey(labels: Readonly<Record<string, string>>): string {
  return JSON.stringify(Object.entries(labels).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}
