import type { ServiceVersion } from '../store/listAnalysedMetrics.js';
import type { ChangeKind, Severity, WindowStats } from '../store/regressionRecords.js';
import { type Assessment, assessChange } from './assessChange.js';
import { type ChangePoint, detectChangePoints } from './detectChangePoints.js';
import { explainChange } from './explainChange.js';
import type { MetricPolicy } from './metricPolicy.js';
import { summarize } from './statistics.js';

/** One analysed series: a statistic of a metric for one service and label set, bucketed in time. */
export interface AnalysedSeries {
  readonly metric: string;
  readonly statistic: string;
  readonly unit: string;
  readonly service: string | null;
  readonly labels: Readonly<Record<string, string | null>>;
  /** Start of each bucket. */
  readonly times: readonly Date[];
  /** null (or NaN) for buckets without data. */
  readonly values: readonly (number | null)[] | Float64Array;
  /** End of the analysed range (exclusive). */
  readonly to: Date;
}

export interface SeriesAnalysisOptions {
  /** Fewest points after a change (and before it). @default 5 */
  readonly minPoints: number;
  /** Shortest time after a change before it is reported. @default 5 min */
  readonly minDurationMillis: number;
  /** Versions of each service, in the order they appeared. */
  readonly versions: ReadonlyMap<string, readonly ServiceVersion[]>;
  /** Bucket width, to tell whether a deploy came "right before" a change. */
  readonly stepMillis: number;
}

/** A change found in one cycle, before it is matched with the stored records. */
export interface Finding {
  readonly kind: ChangeKind;
  readonly severity: Severity;
  readonly direction: 'up' | 'down';
  readonly changeTime: Date;
  readonly baseline: WindowStats;
  readonly current: WindowStats;
  readonly point: ChangePoint;
  readonly assessment: Assessment;
  /** Whether the latest level is still changed (open) or back near the baseline (resolved). */
  readonly persists: boolean;
  readonly versionBefore: string | null;
  readonly versionAfter: string | null;
  readonly explanation: string;
}

/**
 * Change points of one series with what they mean: direction-aware kind and severity, baseline
 * and current windows, versions on each side, and whether the change persists to the end of the
 * range. Changes too small to matter (under half the minimum effect) and the return of an earlier
 * regression are not findings of their own.
 */
export function analyseSeries(
  series: AnalysedSeries,
  policy: MetricPolicy,
  options: SeriesAnalysisOptions,
  /** The series' change points when already detected (e.g. in a worker thread). */
  points: readonly ChangePoint[] = detectChangePoints(series.values, { minSegment: options.minPoints }),
): Finding[] {
  const tail = latestLevel(series.values, points);
  const findings: Finding[] = [];
  let previous: { point: ChangePoint; assessment: Assessment } | undefined;
  for (const point of points) {
    const assessment = assessChange(point, policy);
    const changeTime = series.times[point.index]!;
    const revertsPrevious =
      previous !== undefined &&
      previous.assessment.kind === 'regression' &&
      point.direction !== previous.point.direction &&
      returnsTo(point.after.median, previous.point.before.median, policy);
    const tooSmall = Math.abs(assessment.effect) < policy.minEffect / 2;
    const tooRecent = series.to.getTime() - changeTime.getTime() < options.minDurationMillis;
    previous = { point, assessment };
    if (revertsPrevious || tooSmall || tooRecent) continue;
    // The windows the point describes: its `n` values before and after the change.
    const startIndex = dataIndexBefore(series.values, point.index, point.before.n);
    const endIndex = dataIndexAfter(series.values, point.index, point.after.n);
    const baseline = windowStats(point.before, series.times[startIndex]!, changeTime);
    const current = windowStats(point.after, changeTime, bucketEnd(series, endIndex));
    const versionBefore = versionAt(options.versions, series.service, new Date(changeTime.getTime() - 1));
    const versionAfter = versionAt(options.versions, series.service, changeTime);
    const deploy = deployNear(options, series.service, changeTime);
    findings.push({
      kind: assessment.kind,
      severity: assessment.severity,
      direction: point.direction,
      changeTime,
      baseline,
      current,
      point,
      assessment,
      persists: !returnsTo(tail, point.before.median, policy) && movedTowards(tail, point),
      versionBefore: deploy?.from ?? versionBefore,
      versionAfter: deploy?.to ?? versionAfter,
      explanation: explainPoint(series, point, assessment, policy, changeTime, deploy),
    });
  }
  return findings;
}

/** The sentence for one judged change of a series (see explainChange). */
export function explainPoint(
  series: Pick<AnalysedSeries, 'metric' | 'statistic' | 'unit' | 'service' | 'labels'>,
  point: ChangePoint,
  assessment: Assessment,
  policy: MetricPolicy,
  changeTime: Date,
  deploy: { readonly from: string; readonly to: string } | null,
): string {
  return explainChange({
    metric: series.metric,
    statistic: series.statistic,
    unit: series.unit,
    service: series.service,
    labels: series.labels,
    kind: assessment.kind,
    direction: point.direction,
    changeTime,
    before: point.before.median,
    after: point.after.median,
    effect: assessment.effect,
    effectLow: assessment.effectLow,
    effectHigh: assessment.effectHigh,
    effectKind: policy.effect,
    deploy,
  });
}

/** True when `level` is within half the minimum effect of `baseline`. */
export function returnsTo(level: number, baseline: number, policy: MetricPolicy): boolean {
  if (!Number.isFinite(level)) return false;
  const difference = Math.abs(level - baseline);
  if (policy.effect === 'absolute') return difference < policy.minEffect / 2;
  if (baseline === 0) return level === 0;
  return difference / Math.abs(baseline) < policy.minEffect / 2;
}

/** The latest level is still on the changed side of the baseline. */
function movedTowards(tail: number, point: ChangePoint): boolean {
  return point.direction === 'up' ? tail > point.before.median : tail < point.before.median;
}

/** Median of the last segment: after the last change, else the last 30 points. */
export function latestLevel(values: ArrayLike<number | null>, points: readonly ChangePoint[]): number {
  const last = points.at(-1);
  if (last !== undefined) return last.after.median;
  const recent: number[] = [];
  for (let i = values.length - 1; i >= 0 && recent.length < 30; i--) {
    const value = values[i];
    if (value !== null && value !== undefined && Number.isFinite(value)) recent.push(value);
  }
  return recent.length === 0 ? Number.NaN : summarize(recent).median;
}

const hasData = (value: number | null | undefined) =>
  value !== null && value !== undefined && Number.isFinite(value);

/** Index of the `count`-th value with data before `index` (gaps skipped), at least 0. */
function dataIndexBefore(values: ArrayLike<number | null>, index: number, count: number): number {
  let seen = 0;
  for (let i = index - 1; i >= 0; i--) {
    if (hasData(values[i]) && ++seen === count) return i;
  }
  return 0;
}

/** Index just past the `count`-th value with data from `index` on (gaps skipped), at most the length. */
function dataIndexAfter(values: ArrayLike<number | null>, index: number, count: number): number {
  let seen = 0;
  for (let i = index; i < values.length; i++) {
    if (hasData(values[i]) && ++seen === count) return i + 1;
  }
  return values.length;
}

function bucketEnd(series: AnalysedSeries, endIndex: number): Date {
  return endIndex >= series.times.length ? series.to : series.times[endIndex]!;
}

function windowStats(
  summary: { n: number; mean: number; median: number; stddev: number; p95: number },
  from: Date,
  to: Date,
): WindowStats {
  return {
    from,
    to,
    n: summary.n,
    mean: summary.mean,
    median: summary.median,
    stddev: summary.stddev,
    p95: summary.p95,
  };
}

/** The version of `service` running at `time`: the last one first seen at or before it. */
export function versionAt(
  versions: ReadonlyMap<string, readonly ServiceVersion[]>,
  service: string | null,
  time: Date,
): string | null {
  if (service === null) return null;
  let current: string | null = null;
  for (const version of versions.get(service) ?? []) {
    if (version.firstSeen.getTime() <= time.getTime()) current = version.version;
  }
  return current;
}

/** A deploy of `service` from three buckets before the change to one bucket after it. */
function deployNear(
  options: SeriesAnalysisOptions,
  service: string | null,
  changeTime: Date,
): { from: string; to: string } | null {
  if (service === null) return null;
  const versions = options.versions.get(service) ?? [];
  for (let i = 1; i < versions.length; i++) {
    const offset = versions[i]!.firstSeen.getTime() - changeTime.getTime();
    if (offset >= -3 * options.stepMillis && offset <= options.stepMillis)
      return { from: versions[i - 1]!.version, to: versions[i]!.version };
  }
  return null;
}
