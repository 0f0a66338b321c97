import type { QueryRunner } from '../store/QueryRunner.js';
import type { Group, TimeSeriesQuery } from '../store/queryTimeSeries.js';
import { queryWindowValues, type WindowValues } from '../store/queryWindows.js';
import type { RecentPoints } from '../store/RecentPoints.js';
import type { SeriesMatchCache } from '../store/SeriesMatchCache.js';
import type { AlertRule, MetricSelector } from './AlertRule.js';

/**
 * A rule's value per group now, as arrays over the groups of its query (the same arrays from one
 * evaluation to the next while the matched series stay the same): a group's alert series key
 * (labelsKey of its labels) and labels, whether it is in the answer (it had data in the window),
 * and its value (NaN: in the answer without a value, e.g. a ratio over a zero denominator).
 */
export interface RuleAnswer {
  readonly keys: readonly string[];
  readonly labels: readonly Readonly<Record<string, string>>[];
  readonly present: Uint8Array;
  readonly values: Float64Array;
}

/**
 * Every rule's value per group over its window ending at `now` (at least one collection
 * interval), or the error its query raised. The rules' queries are answered together by
 * queryWindows (one statement per family of aggregations rather than one per rule), each exactly
 * as queryTimeSeries answers it: one bucket spanning the window. Rules that differ only in
 * threshold or severity (warning and critical pairs) or ratios over one metric share one query.
 * A ratio divides the summed numerator by the denominator per group: a group without numerator
 * data counts as 0 (no errors), one with a zero or missing denominator has no value (nothing to
 * divide by).
 */
export async function evaluateRules(
  db: QueryRunner,
  rules: readonly AlertRule[],
  now: number,
  collectionIntervalSeconds?: number,
  /** Keeps each selector's matched series between evaluations. @default none (matched every time) */
  matches?: SeriesMatchCache,
  /** Answers the windows it holds without reading DuckDB. @default none (every window read) */
  recent?: RecentPoints,
): Promise<(RuleAnswer | Error)[]> {
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
  const answers = await queryWindowValues(db, [...queries.values()], matches, recent);
  const answerOf = new Map(keys.map((key, i) => [key, answers[i]!]));
  return rules.map((rule, i) => {
    const own = wanted[i]!.map((key) => answerOf.get(key)!);
    const failed = own.find((answer) => answer instanceof Error);
    if (failed !== undefined) return failed as Error;
    const [first, ...numerators] = own.map((answer) => ruleAnswerOf(rule, answer as WindowValues));
    if (rule.query.kind === 'selector') return first!;
    // A group without numerator data counts 0 errors; a zero or missing denominator is no value.
    const errorsByKey = new Map<string, number>();
    for (const numerator of numerators) {
      for (let g = 0; g < numerator.keys.length; g++) {
        if (!numerator.present[g] || Number.isNaN(numerator.values[g]!)) continue;
        const key = numerator.keys[g]!;
        errorsByKey.set(key, (errorsByKey.get(key) ?? 0) + numerator.values[g]!);
      }
    }
    const values = new Float64Array(first!.keys.length);
    for (let g = 0; g < values.length; g++) {
      const total = first!.values[g]!;
      values[g] = total === 0 ? Number.NaN : (errorsByKey.get(first!.keys[g]!) ?? 0) / total;
    }
    return { ...first!, values };
  });
}

/** Windows up to this long are read from raw points (rollups serve long ranges). */
export const RAW_WINDOW_MILLIS = 6 * 3_600_000;

/**
 * How far back the recent points held for `rules` must reach: their longest raw window (each at
 * least one collection interval), plus two intervals so that a window starting between two
 * collections still finds the point before it.
 */
export function recentHorizonMillis(rules: readonly AlertRule[], collectionIntervalSeconds = 60): number {
  const interval = collectionIntervalSeconds * 1000;
  let longest = interval;
  for (const rule of rules) {
    const window = Math.max(rule.windowMillis, interval);
    if (window <= RAW_WINDOW_MILLIS && window > longest) longest = window;
  }
  return longest + 2 * interval;
}

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

/** A rule's answer from its query's: each group's key and labels, worked out once per groups array. */
function ruleAnswerOf(rule: AlertRule, answer: WindowValues): RuleAnswer {
  let named = namedGroups.get(answer.groups);
  if (named === undefined) {
    const labelled = answer.groups.map((group) => groupLabels(rule.groupBy, group));
    named = { keys: labelled.map((own) => own.key), labels: labelled.map((own) => own.labels) };
    namedGroups.set(answer.groups, named);
  }
  return { ...named, present: answer.present, values: answer.values };
}

const namedGroups = new WeakMap<
  readonly Group[],
  { keys: readonly string[]; labels: readonly Readonly<Record<string, string>>[] }
>();

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
