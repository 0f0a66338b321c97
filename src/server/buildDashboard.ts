import type { PerfWatch } from '../startPerfWatch.js';
import type { QueryRunner } from '../store/QueryRunner.js';
import {
  matchSeries,
  observedIntervalSeconds,
  queryTimeSeries,
  type TimeSeriesQuery,
} from '../store/queryTimeSeries.js';
import { listDeployVerdicts, listRegressions } from '../store/regressionRecords.js';
import { DASHBOARD_PANELS, type DashboardPanel, type PanelQuery } from './dashboardPanels.js';
import { memoizeQueries } from './memoizeQueries.js';
import { alignWindow } from './requestParameters.js';

export interface DashboardRequest {
  readonly from: Date;
  readonly to: Date;
  /** Bucket width for the range; a panel whose series are collected less often uses a wider one. */
  readonly stepSeconds: number;
  readonly service: string | undefined;
  /** Include every panel's points (the page draws them); the summary alone otherwise. */
  readonly withSeries: boolean;
}

export interface PanelSeries {
  readonly label: string;
  /** Values bucket by bucket, aligned with the panel's `times`; null for an empty bucket. */
  readonly values: readonly (number | null)[];
}

export type Trend = 'rising' | 'falling' | 'stable';

/** Relative change between the first and last third of the window that counts as a trend. */
const TREND_THRESHOLD = 0.05;

/**
 * The dashboard in one answer: per panel its series over the window and a summary of the first
 * series (current, avg, min, max, trend), plus firing and pending alerts, open regressions and
 * deploy verdicts. Every number comes from queryTimeSeries, as `perfwatch query` computes it.
 */
export async function buildDashboard(
  perfwatch: PerfWatch,
  request: DashboardRequest,
  alerts = dashboardAlerts(perfwatch, request.service),
) {
  // Panels share most of their SQL (histogram increases, rollup state): each runs once per build.
  const db = memoizeQueries(perfwatch.store);
  const panels = [];
  for (const panel of DASHBOARD_PANELS) {
    const buckets = await panelBuckets(db, perfwatch, panel, request);
    const series = await panelSeries(db, panel, request.service, buckets);
    const values = series[0]?.values ?? [];
    panels.push({
      id: panel.id,
      title: panel.title,
      unit: panel.unit,
      metrics: [...new Set(panel.queries.map((query) => query.metric))],
      available: series.length > 0,
      ...(series.length === 0 ? { emptyHint: panel.emptyHint } : {}),
      summary: summarise(values),
      stepSeconds: buckets.stepSeconds,
      ...(request.withSeries ? { times: bucketTimes(buckets).map((time) => time / 1000), series } : {}),
    });
  }
  const [regressions, verdicts] = await Promise.all([
    listRegressions(perfwatch.store, {
      status: 'open',
      ...(request.service === undefined ? {} : { service: request.service }),
    }),
    listDeployVerdicts(perfwatch.store, request.service === undefined ? {} : { service: request.service }),
  ]);
  return {
    from: request.from.toISOString(),
    to: request.to.toISOString(),
    stepSeconds: request.stepSeconds,
    service: request.service ?? null,
    ...(request.withSeries ? { times: bucketTimes(request).map((time) => time / 1000) } : {}),
    panels,
    alerts,
    regressions: regressions.slice(0, 50).map((record) => ({
      id: record.id,
      metric: record.metric,
      statistic: record.statistic,
      service: record.service,
      labels: record.labels,
      kind: record.kind,
      severity: record.severity,
      changeTime: record.changeTime,
      relativeChange: Number.isFinite(record.relativeChange) ? record.relativeChange : null,
      explanation: record.explanation,
    })),
    openRegressions: regressions.length,
    deployVerdicts: verdicts.slice(0, 20),
  };
}

/** Firing and pending alerts of the service (all without one), from the alert processor's memory. */
export function dashboardAlerts(perfwatch: PerfWatch, service: string | undefined) {
  return (perfwatch.alerts?.statuses() ?? [])
    .filter((status) => status.state === 'firing' || status.state === 'pending')
    .filter((status) => matchesService(status.labels, service))
    .map((status) => ({
      rule: status.rule,
      severity: status.severity,
      state: status.state,
      labels: status.labels,
      value: status.value,
      activeAt: status.activeAt === undefined ? null : new Date(status.activeAt).toISOString(),
      firedAt: status.firedAt === undefined ? null : new Date(status.firedAt).toISOString(),
    }));
}

/** The buckets of one panel: its window, bucket width and the collection interval of its series. */
interface PanelBuckets {
  readonly from: Date;
  readonly to: Date;
  readonly stepSeconds: number;
  readonly collectionIntervalSeconds: number;
}

/**
 * Observed intervals up to this much over a bucket width still get that width: exports drift by
 * milliseconds (60.004 s apart keep 60 s buckets, whose rare empty bucket the page bridges).
 */
const INTERVAL_TOLERANCE = 1.1;

/**
 * A panel's buckets. The dashboard's bucket width suits the range and perfwatch's own collection
 * interval, but a received service may export less often (the OTel SDK's default is every 60 s):
 * 30 s buckets over points 60 s apart are empty every other bucket, and the page's lines would
 * break at each. So the width is the smallest multiple of the dashboard's that holds the series'
 * own interval — the median spacing of one matched series' points in the window, the largest
 * over the panel's queries (all of a panel's queries share its buckets: the error rate divides
 * bucket by bucket) — and the window is realigned to it.
 */
async function panelBuckets(
  db: QueryRunner,
  perfwatch: PerfWatch,
  panel: DashboardPanel,
  request: DashboardRequest,
): Promise<PanelBuckets> {
  const fromUs = BigInt(request.from.getTime()) * 1000n;
  const toUs = BigInt(request.to.getTime()) * 1000n;
  let interval: number | undefined;
  for (const query of panel.queries) {
    const [series] = await matchSeries(db, seriesQuery(query, request.service, request));
    if (series === undefined) continue;
    const observed = await observedIntervalSeconds(db, series.ref, series.kind, fromUs, toUs);
    if (observed !== undefined && (interval === undefined || observed > interval)) interval = observed;
  }
  const collectionIntervalSeconds = interval ?? perfwatch.config.collectionIntervalMillis / 1000;
  if (interval === undefined || interval <= request.stepSeconds * INTERVAL_TOLERANCE)
    return {
      from: request.from,
      to: request.to,
      stepSeconds: request.stepSeconds,
      collectionIntervalSeconds,
    };
  const stepSeconds = request.stepSeconds * Math.ceil(interval / INTERVAL_TOLERANCE / request.stepSeconds);
  return { ...alignWindow(request.from, request.to, stepSeconds), stepSeconds, collectionIntervalSeconds };
}

async function panelSeries(
  db: QueryRunner,
  panel: DashboardPanel,
  service: string | undefined,
  buckets: PanelBuckets,
): Promise<PanelSeries[]> {
  const results = [];
  for (const query of panel.queries) results.push(await runQuery(db, query, service, buckets));
  if (panel.combine === 'busy') {
    return (results[0] ?? []).map((series) => ({
      label: series.label,
      values: series.values.map((value) => (value === null ? null : Math.max(0, 1 - value))),
    }));
  }
  if (panel.combine === 'ratio') {
    const total = results[1]?.[0];
    if (total === undefined) return [];
    const errors = results[0]?.[0]?.values ?? new Array<null>(total.values.length).fill(null);
    return [
      {
        label: 'error rate',
        values: total.values.map((requests, i) =>
          requests === null || requests <= 0 ? null : (errors[i] ?? 0) / requests,
        ),
      },
    ];
  }
  return results.flat();
}

/** The queryTimeSeries question of a panel query over a window in buckets of `stepSeconds`. */
function seriesQuery(
  query: PanelQuery,
  service: string | undefined,
  buckets: { readonly from: Date; readonly to: Date; readonly stepSeconds: number },
): TimeSeriesQuery {
  const where = service === undefined ? query.where : { ...query.where, 'service.name': service };
  return {
    metric: query.metric,
    from: buckets.from,
    to: buckets.to,
    stepSeconds: buckets.stepSeconds,
    aggregation: query.aggregation,
    ifMissing: 'empty',
    ...(where ? { where } : {}),
    ...(query.matchers ? { matchers: query.matchers } : {}),
    ...(query.groupBy ? { groupBy: query.groupBy } : {}),
  };
}

async function runQuery(
  db: QueryRunner,
  query: PanelQuery,
  service: string | undefined,
  buckets: PanelBuckets,
): Promise<PanelSeries[]> {
  const result = await queryTimeSeries(db, {
    ...seriesQuery(query, service, buckets),
    collectionIntervalSeconds: buckets.collectionIntervalSeconds,
  });
  return result.series
    .filter((series) => series.values.some((value) => value !== null))
    .map((series) => ({
      label: seriesLabel(query, series.metric, series.labels),
      values: series.values,
    }));
}

function seriesLabel(
  query: PanelQuery,
  metric: string,
  labels: Readonly<Record<string, string | null>>,
): string {
  const values = Object.values(labels).filter((value): value is string => value !== null);
  if (query.metric.includes('*')) return metric.slice(metric.lastIndexOf('.') + 1);
  return values.length > 0 ? values.join(' ') : query.label;
}

/** Bucket start times in epoch ms, as queryTimeSeries lays them out. */
function bucketTimes(buckets: {
  readonly from: Date;
  readonly to: Date;
  readonly stepSeconds: number;
}): number[] {
  const step = buckets.stepSeconds * 1000;
  const times: number[] = [];
  for (let time = buckets.from.getTime(); time < buckets.to.getTime(); time += step) times.push(time);
  return times;
}

export function summarise(values: readonly (number | null)[]) {
  const present = values.filter((value): value is number => value !== null && Number.isFinite(value));
  if (present.length === 0) return { current: null, avg: null, min: null, max: null, trend: null };
  const third = Math.max(1, Math.floor(present.length / 3));
  const mean = (list: readonly number[]) => list.reduce((sum, value) => sum + value, 0) / list.length;
  const first = mean(present.slice(0, third));
  const last = mean(present.slice(-third));
  const change = first === 0 ? (last === 0 ? 0 : Math.sign(last)) : (last - first) / Math.abs(first);
  const trend: Trend =
    present.length < 3
      ? 'stable'
      : change > TREND_THRESHOLD
        ? 'rising'
        : change < -TREND_THRESHOLD
          ? 'falling'
          : 'stable';
  return {
    current: present[present.length - 1] as number,
    avg: mean(present),
    min: Math.min(...present),
    max: Math.max(...present),
    trend,
  };
}

function matchesService(labels: Readonly<Record<string, string>>, service: string | undefined): boolean {
  if (service === undefined) return true;
  const own = labels['service.name'] ?? labels.service;
  return own === undefined || own === service;
}
