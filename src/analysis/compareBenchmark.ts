import { BenchmarkError } from '../errors.js';
import {
  type BenchmarkInfo,
  type BenchmarkSeries,
  requireBenchmark,
  type SeriesStatistics,
} from '../store/benchmarkRecords.js';
import { listServiceVersions } from '../store/listAnalysedMetrics.js';
import type { QueryRunner } from '../store/QueryRunner.js';
import { captureWindow } from './captureWindow.js';
import {
  BENCHMARK_VERDICTS,
  type BenchmarkVerdict,
  compareSamples,
  type SampleComparison,
} from './compareSamples.js';
import { describeEmpty } from './createBenchmark.js';
import { type MetricClass, policyFor, type RegressionRule, type WorseDirection } from './metricPolicy.js';

export interface CompareBenchmarkOptions {
  /**
   * The current side: the last `windowMillis` before now (the default, with the benchmark's own
   * duration), or with `version` the last `windowMillis` of that service.version's data.
   */
  readonly windowMillis?: number;
  /** The current side as an explicit range instead (both or neither). */
  readonly from?: Date;
  readonly to?: Date;
  /** Compare with this other benchmark instead of the history. */
  readonly with?: string;
  /** The current side holds only data of this service.version (e.g. the new release against a benchmark of the old one). */
  readonly version?: string;
  /** Relative change of the mean within which a series is stable. @default 0.05 */
  readonly stableBand?: number;
  /** Significance level of the rank test. @default 0.01 */
  readonly alpha?: number;
  /** Regression rules: the same direction rules as the regression processor. @default [] */
  readonly rules?: readonly RegressionRule[];
  /** Fewest bucket values on each side for a verdict. @default 5 */
  readonly minPoints?: number;
  /** @default Date.now */
  readonly now?: () => number;
}

/** One side of a compared series. */
export interface ComparedSide extends SeriesStatistics {
  readonly overall: number | null;
}

export interface SeriesComparison extends Omit<SampleComparison, 'relativeChange'> {
  readonly key: string;
  readonly metric: string;
  readonly statistic: string;
  readonly unit: string;
  readonly service: string | null;
  readonly labels: Readonly<Record<string, string | null>>;
  readonly metricClass: MetricClass;
  readonly worse: WorseDirection;
  /** null: the series has no data on that side. */
  readonly baseline: ComparedSide | null;
  readonly current: ComparedSide | null;
  /** Change of the mean in percent of the baseline mean. */
  readonly changePercent: number;
}

export interface BenchmarkComparison {
  readonly benchmark: BenchmarkInfo;
  /** What the benchmark was compared with. */
  readonly against: {
    readonly kind: 'window' | 'benchmark' | 'version';
    readonly name: string | null;
    readonly version: string | null;
    readonly from: Date;
    readonly to: Date;
  };
  readonly stableBand: number;
  readonly alpha: number;
  readonly summary: Readonly<Record<BenchmarkVerdict, number>>;
  /** Degraded first, then improved, stable and insufficient data; larger changes first within each. */
  readonly series: readonly SeriesComparison[];
}

/**
 * Compares the benchmark called `name` with a current window of the history, another benchmark,
 * or the data of one service.version: per series, both sides' statistics, the change of the mean,
 * the detector's rank test with the Hodges–Lehmann shift, Welch's t and a direction-aware verdict
 * (see compareSamples). The current side uses the benchmark's selection (services, metrics) and
 * step; series on one side only are `insufficient_data`. Only reads: works on a read-only history.
 */
export async function compareBenchmark(
  db: QueryRunner,
  name: string,
  options: CompareBenchmarkOptions = {},
): Promise<BenchmarkComparison> {
  const { stableBand, alpha } = checkOptions(options);
  const baseline = await requireBenchmark(db, name);
  let against: BenchmarkComparison['against'];
  let current: readonly BenchmarkSeries[];
  if (options.with !== undefined) {
    const other = await requireBenchmark(db, options.with, 'with');
    // Means of longer buckets vary less: a rank test across bucket widths would find differences
    // that are only the width's.
    if (other.stepSeconds !== baseline.stepSeconds)
      throw new BenchmarkError(
        'invalid',
        'with',
        `"${other.name}" has ${other.stepSeconds} s buckets and "${baseline.name}" ${baseline.stepSeconds} s; benchmarks compare only with the same step (create one again with --step)`,
      );
    against = { kind: 'benchmark', name: other.name, version: other.version, from: other.from, to: other.to };
    current = other.series;
  } else {
    const range = await currentRange(db, baseline, options);
    if (!(range.from.getTime() < range.to.getTime()))
      throw new BenchmarkError(
        'invalid',
        'from',
        `must be before to (${range.from.toISOString()} is not before ${range.to.toISOString()})`,
      );
    const selection = {
      ...range,
      stepSeconds: baseline.stepSeconds,
      services: baseline.services,
      metrics: baseline.metrics,
      ...(options.version === undefined ? {} : { version: options.version }),
    };
    current = (await captureWindow(db, selection)).series;
    if (current.length === 0) throw new BenchmarkError('no_data', 'window', describeEmpty(selection, []));
    against = {
      kind: options.version === undefined ? 'window' : 'version',
      name: null,
      version: options.version ?? null,
      ...range,
    };
  }

  const currentByKey = new Map(current.map((s) => [s.key, s]));
  const keys = [...new Set([...baseline.series.map((s) => s.key), ...currentByKey.keys()])];
  const baselineByKey = new Map(baseline.series.map((s) => [s.key, s]));
  const verdictOptions = { stableBand, alpha, minPoints: options.minPoints ?? 5 };
  const series: SeriesComparison[] = [];
  for (const key of keys) {
    const before = baselineByKey.get(key);
    const after = currentByKey.get(key);
    const any = (before ?? after)!;
    const policy = policyFor(any.metric, any.unit, any.statistic, any.labels, options.rules ?? []);
    if (!policy.enabled) continue;
    const { relativeChange, ...comparison } = compareSamples(
      present(before),
      present(after),
      policy,
      verdictOptions,
    );
    const missing =
      before === undefined
        ? 'not in the benchmark'
        : after === undefined
          ? 'no data on the compared side'
          : null;
    series.push({
      key,
      metric: any.metric,
      statistic: any.statistic,
      unit: any.unit,
      service: any.service,
      labels: any.labels,
      metricClass: policy.metricClass,
      worse: policy.worse,
      baseline: sideOf(before),
      current: sideOf(after),
      changePercent: relativeChange * 100,
      ...comparison,
      ...(missing === null ? {} : { reason: missing }),
    });
  }
  const rank = (s: SeriesComparison) => BENCHMARK_VERDICTS.indexOf(s.verdict);
  const size = (s: SeriesComparison) => (Number.isNaN(s.changePercent) ? -1 : Math.abs(s.changePercent));
  series.sort((a, b) => rank(a) - rank(b) || size(b) - size(a) || (a.key < b.key ? -1 : 1));
  const summary = Object.fromEntries(BENCHMARK_VERDICTS.map((v) => [v, 0])) as Record<
    BenchmarkVerdict,
    number
  >;
  for (const s of series) summary[s.verdict]++;
  const { series: _omitted, ...info } = baseline;
  return { benchmark: info, against, stableBand, alpha, summary, series };
}

/** Validates the options that do not need the history; BenchmarkErrors name the option. */
function checkOptions(options: CompareBenchmarkOptions): { stableBand: number; alpha: number } {
  const stableBand = options.stableBand ?? 0.05;
  if (!(stableBand >= 0 && stableBand < 10))
    throw new BenchmarkError(
      'invalid',
      'stableBand',
      `must be a fraction between 0 and 10, got ${stableBand}`,
    );
  const alpha = options.alpha ?? 0.01;
  if (!(alpha > 0 && alpha < 1))
    throw new BenchmarkError('invalid', 'alpha', `must be between 0 and 1, got ${alpha}`);
  if (
    options.with !== undefined &&
    (options.version !== undefined || options.windowMillis !== undefined || options.from !== undefined)
  )
    throw new BenchmarkError(
      'invalid',
      'with',
      'compares two benchmarks: it takes no window, range or version',
    );
  if ((options.from === undefined) !== (options.to === undefined))
    throw new BenchmarkError(
      'invalid',
      options.from === undefined ? 'from' : 'to',
      'the current range needs both from and to',
    );
  if (options.from !== undefined && options.windowMillis !== undefined)
    throw new BenchmarkError('invalid', 'window', 'give either a window or a from/to range, not both');
  if (options.windowMillis !== undefined && !(options.windowMillis > 0))
    throw new BenchmarkError(
      'invalid',
      'window',
      `must be a positive duration, got ${options.windowMillis} ms`,
    );
  return { stableBand, alpha };
}

/** The current range: explicit, the last window before now, or the last window of a version's data. */
async function currentRange(
  db: QueryRunner,
  baseline: BenchmarkInfo,
  options: CompareBenchmarkOptions,
): Promise<{ from: Date; to: Date }> {
  if (options.from !== undefined && options.to !== undefined) return { from: options.from, to: options.to };
  const length = options.windowMillis ?? baseline.to.getTime() - baseline.from.getTime();
  const now = (options.now ?? Date.now)();
  if (options.version === undefined) return { from: new Date(now - length), to: new Date(now) };
  const versions = await listServiceVersions(db);
  const spans = [...versions]
    .filter(([service]) => baseline.services.length === 0 || baseline.services.includes(service))
    .flatMap(([, list]) => list.filter((v) => v.version === options.version));
  if (spans.length === 0)
    throw new BenchmarkError(
      'no_data',
      'version',
      `service.version ${JSON.stringify(options.version)} was never seen${baseline.services.length > 0 ? ` for service.name ${baseline.services.join(', ')}` : ''}`,
    );
  // last_seen is refreshed every few minutes: the version's data may run up to then past it.
  const lastSeen = Math.max(...spans.map((v) => v.lastSeen.getTime())) + LAST_SEEN_SLACK_MILLIS;
  const firstSeen = Math.min(...spans.map((v) => v.firstSeen.getTime()));
  const to = Math.min(now, lastSeen);
  return { from: new Date(Math.max(firstSeen, to - length)), to: new Date(to) };
}

const LAST_SEEN_SLACK_MILLIS = 5 * 60_000;

function present(series: BenchmarkSeries | undefined): number[] {
  if (series === undefined) return [];
  return series.values.filter((v): v is number => v !== null && Number.isFinite(v));
}

function sideOf(series: BenchmarkSeries | undefined): ComparedSide | null {
  return series === undefined ? null : { ...series.stats, overall: series.overall };
}
