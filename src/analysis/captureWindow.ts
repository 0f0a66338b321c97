import type { BenchmarkResource, BenchmarkSeries } from '../store/benchmarkRecords.js';
import { listAnalysedMetrics, type MetricOverview } from '../store/listAnalysedMetrics.js';
import { listWindowResources } from '../store/listWindowResources.js';
import type { QueryRunner } from '../store/QueryRunner.js';
import type { LabelMatcher } from '../store/queryTimeSeries.js';
import { globMatches } from './metricPolicy.js';
import { REQUEST_DURATION_METRICS, readErrorRates } from './readErrorRates.js';
import { readSeriesPages } from './readSeriesPages.js';
import { describeDistribution } from './statistics.js';
import { statisticsOf } from './statisticsOf.js';

/** Which data of the history a benchmark (or the side of a comparison) covers. */
export interface WindowSelection {
  /** Start, inclusive. */
  readonly from: Date;
  /** End, exclusive. */
  readonly to: Date;
  /** Bucket width of the captured values, in seconds. */
  readonly stepSeconds: number;
  /** Only these service.name values; empty or absent: every service. */
  readonly services?: readonly string[];
  /** Only metrics matching one of these globs; empty or absent: every metric except perfwatch.*. */
  readonly metrics?: readonly string[];
  /** Only points whose resource has this service.version. */
  readonly version?: string;
}

export interface CapturedWindow {
  readonly series: BenchmarkSeries[];
  readonly resources: BenchmarkResource[];
}

/**
 * `series.last_seen` is refreshed at most every 5 minutes, so a series active at the start of a
 * short window may look older than it: metrics are listed from this much earlier.
 */
const LAST_SEEN_SLACK_MILLIS = 10 * 60_000;

/**
 * Reads every series of a window through the query layer, as the regression processor does
 * (grouped by service.name and every point attribute, so restarts and deploys continue a series;
 * gauges as values, counters as rates, histograms as p50/p95/p99, and the HTTP error rate per
 * service from the request-duration histogram), and describes each: statistics
 * over its bucket values, the statistic over the whole window as one bucket, and the values.
 * Series without any value in the window are left out.
 */
export async function captureWindow(db: QueryRunner, selection: WindowSelection): Promise<CapturedWindow> {
  const { from, to, stepSeconds } = selection;
  const globs = selection.metrics ?? [];
  const services = selection.services ?? [];
  const metrics = (await listAnalysedMetrics(db, new Date(from.getTime() - LAST_SEEN_SLACK_MILLIS))).filter(
    (m) =>
      globs.length === 0 ? !m.metric.startsWith('perfwatch.') : globs.some((g) => globMatches(g, m.metric)),
  );
  const matchers: LabelMatcher[] =
    services.length === 0
      ? []
      : [{ key: 'service.name', op: '=~', value: services.map(escapeRegex).join('|') }];
  const filter = {
    ...(matchers.length === 0 ? {} : { matchers }),
    ...(selection.version === undefined ? {} : { where: { 'service.version': selection.version } }),
  };
  const series: BenchmarkSeries[] = [];
  for (const metric of metrics) {
    for (const { statistic, aggregation } of statisticsOf(metric)) {
      const groupBy = ['service.name', ...metric.attributeKeys];
      const query = { metric: metric.metric, aggregation, groupBy, from, to, ...filter };
      const captured = new Map<string, BenchmarkSeries>();
      await readSeriesPages(db, { ...query, stepSeconds }, (s) => {
        const present = s.values.filter((v): v is number => v !== null && Number.isFinite(v));
        if (present.length === 0) return;
        const described = describe(metric, statistic, s.labels);
        captured.set(described.key, {
          ...described,
          stats: statsOf(present),
          overall: null,
          values: s.values,
        });
      });
      if (captured.size === 0) continue;
      // The same statistic with the whole window as one bucket: a histogram's quantile of the
      // merged distribution, a counter's mean rate, a gauge's mean over every sample.
      const wholeSeconds = (to.getTime() - from.getTime()) / 1000;
      await readSeriesPages(db, { ...query, stepSeconds: wholeSeconds }, (s) => {
        const key = describe(metric, statistic, s.labels).key;
        const known = captured.get(key);
        if (known !== undefined) captured.set(key, { ...known, overall: s.values[0] ?? null });
      });
      series.push(...captured.values());
    }
    if (metric.kind === 'histogram' && REQUEST_DURATION_METRICS.has(metric.metric))
      series.push(...(await captureErrorRates(db, metric, { from, to, stepSeconds, ...filter })));
  }
  // In key order, as the stored benchmark is read back.
  series.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  const seen = new Set(series.map((s) => s.service));
  const resources = (
    await listWindowResources(db, from, to, LAST_SEEN_SLACK_MILLIS, selection.version)
  ).filter((r) => seen.has(r.service));
  return { series, resources };
}

/**
 * The HTTP error rate per service, derived as the regression processor derives it (see
 * readErrorRates): its bucket values, and over the whole window as one bucket.
 */
async function captureErrorRates(
  db: QueryRunner,
  metric: MetricOverview,
  query: Omit<Parameters<typeof readErrorRates>[1], 'metric'>,
): Promise<BenchmarkSeries[]> {
  const wholeSeconds = (query.to.getTime() - query.from.getTime()) / 1000;
  const overall = new Map(
    (await readErrorRates(db, { ...query, metric: metric.metric, stepSeconds: wholeSeconds })).map((s) => [
      s.service,
      s.values[0] ?? null,
    ]),
  );
  const out: BenchmarkSeries[] = [];
  for (const { service, values } of await readErrorRates(db, { ...query, metric: metric.metric })) {
    const present = values.filter((v): v is number => v !== null && Number.isFinite(v));
    if (present.length === 0) continue;
    out.push({
      ...describe({ ...metric, unit: '1' }, 'error_rate', { 'service.name': service }),
      stats: statsOf(present),
      overall: overall.get(service) ?? null,
      values,
    });
  }
  return out;
}

/** Identity and description of a series from the query layer's labels (service.name split off). */
function describe(
  metric: MetricOverview,
  statistic: string,
  groupLabels: Readonly<Record<string, string | null>>,
): Omit<BenchmarkSeries, 'stats' | 'overall' | 'values'> {
  const labels = { ...groupLabels };
  const service = labels['service.name'] ?? null;
  delete labels['service.name'];
  return {
    key: seriesKeyOf(metric.metric, statistic, service, labels),
    metric: metric.metric,
    kind: metric.kind,
    statistic,
    unit: metric.unit,
    service,
    labels,
  };
}

/** Identity of a series across windows: metric, statistic, service and labels, in key order. */
function seriesKeyOf(
  metric: string,
  statistic: string,
  service: string | null,
  labels: Readonly<Record<string, string | null>>,
): string {
  const sorted = Object.entries(labels).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return JSON.stringify([metric, statistic, service, sorted]);
}

function statsOf(values: readonly number[]): BenchmarkSeries['stats'] {
  const d = describeDistribution(values);
  return {
    n: d.n,
    mean: d.mean,
    median: d.median,
    stddev: d.stddev,
    min: d.min,
    max: d.max,
    p50: d.p50,
    p90: d.p90,
    p95: d.p95,
    p99: d.p99,
  };
}

/** A literal for the query layer's whole-value regular expressions. */
function escapeRegex(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
