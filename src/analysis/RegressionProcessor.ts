import { createHash } from 'node:crypto';
import type { Logger } from '../logging/Logger.js';
import {
  listAnalysedMetrics,
  listServiceVersions,
  type MetricOverview,
} from '../store/listAnalysedMetrics.js';
import type { MetricStore } from '../store/MetricStore.js';
import { queryHistogramDistribution } from '../store/queryTimeSeries.js';
import {
  listRegressions,
  type RegressionRecord,
  type Severity,
  saveDeployVerdicts,
  saveRegressions,
} from '../store/regressionRecords.js';
import { type AnalysedSeries, analyseSeries, type Finding, latestLevel, returnsTo } from './analyseSeries.js';
import { ChangePointWorkers } from './ChangePointWorkers.js';
import { DeployComparison } from './DeployComparison.js';
import type { ChangePoint } from './detectChangePoints.js';
import { type MetricPolicy, policyFor, type RegressionRule } from './metricPolicy.js';
import { REQUEST_DURATION_METRICS, readErrorRates } from './readErrorRates.js';
import { readAllSeriesPages } from './readSeriesPages.js';
import { binnedMannWhitney } from './statistics.js';
import { statisticsOf } from './statisticsOf.js';

export interface RegressionProcessorOptions {
  readonly store: MetricStore;
  readonly logger: Logger;
  /** How far back each cycle looks. @default 24 h */
  readonly lookbackMillis?: number;
  /** Bucket width of the analysed series, in seconds (whole minutes read from rollups). @default 60 */
  readonly stepSeconds?: number;
  /** Metric globs mapped to direction, minimum effect and enabled. */
  readonly rules?: readonly RegressionRule[];
  /** Fewest points after a change. @default 5 */
  readonly minPoints?: number;
  /** Shortest time after a change. @default 5 min */
  readonly minDurationMillis?: number;
  /** @default Date.now */
  readonly now?: () => number;
  /**
   * Detect change points in a worker thread (ChangePointWorkers), beside the cycle's reads and
   * off the event loop; false detects them on the calling thread. @default true
   */
  readonly detectInWorker?: boolean;
}

export interface CycleSummary {
  readonly from: Date;
  readonly to: Date;
  readonly seriesAnalysed: number;
  readonly opened: number;
  readonly updated: number;
  readonly resolved: number;
  readonly deploys: number;
  readonly durationMillis: number;
}

/** Open regressions by (severity, service), for the `perfwatch.regressions.active` gauge. */
export interface ActiveCount {
  readonly severity: Severity;
  readonly service: string;
  readonly count: number;
}

/** Two changes of one series this close (or closer than 10 buckets) are the same change. */
const SAME_CHANGE_MILLIS = 10 * 60_000;
/** Series sent to the detection worker and not yet judged, at most (~23 KB each for a day at 30 s). */
const MAX_QUEUED_DETECTIONS = 256;
/** Histogram statistics, whose changes are also tested on the whole distribution. */
const HISTOGRAM_STATISTICS = new Set(['p50', 'p95', 'p99']);

/**
 * Finds performance regressions in the history: every cycle reads each series of the lookback
 * through the query layer (gauges as values, counters as rates, histograms as p50/p95/p99, and the
 * HTTP error rate), detects change points, judges them by the metric's direction and minimum effect,
 * and reconciles them with the stored records — a change seen again updates its record, a metric
 * back at its baseline resolves it. Deploys (service.version changes) get a verdict each.
 */
export class RegressionProcessor {
  private readonly lookbackMillis: number;
  private readonly stepSeconds: number;
  private readonly rules: readonly RegressionRule[];
  private readonly minPoints: number;
  private readonly minDurationMillis: number;
  private readonly now: () => number;
  private running: Promise<CycleSummary> | undefined;
  private active: ActiveCount[] = [];
  private closed = false;

  constructor(private readonly options: RegressionProcessorOptions) {
    this.lookbackMillis = options.lookbackMillis ?? 24 * 3_600_000;
    this.stepSeconds = options.stepSeconds ?? 60;
    this.rules = options.rules ?? [];
    this.minPoints = options.minPoints ?? 5;
    this.minDurationMillis = options.minDurationMillis ?? 5 * 60_000;
    this.now = options.now ?? Date.now;
  }

  /** Runs one cycle now, or joins the one in progress. */
  runCycle(): Promise<CycleSummary> {
    if (this.closed) return Promise.reject(new Error('RegressionProcessor is shut down'));
    this.running ??= this.cycle().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  /** Open regressions by severity and service, as of the last cycle (or the stored records before it). */
  activeCounts(): readonly ActiveCount[] {
    return this.active;
  }

  /** Loads the counts of open regressions from the store, so the gauge is right before the first cycle. */
  async loadActiveCounts(): Promise<void> {
    this.active = countActive(
      await listRegressions(this.options.store, { status: 'open', kind: 'regression' }),
    );
  }

  async forceFlush(): Promise<void> {
    await this.running?.catch(() => undefined);
  }

  async shutdown(): Promise<void> {
    this.closed = true;
    await this.forceFlush();
  }

  private async cycle(): Promise<CycleSummary> {
    const started = performance.now();
    const stepMillis = this.stepSeconds * 1000;
    const to = new Date(Math.floor(this.now() / stepMillis) * stepMillis);
    const from = new Date(to.getTime() - Math.ceil(this.lookbackMillis / stepMillis) * stepMillis);
    const store = this.options.store;
    const [metrics, versions, known] = await Promise.all([
      listAnalysedMetrics(store, from),
      listServiceVersions(store),
      listRegressions(store, { since: new Date(from.getTime() - this.lookbackMillis) }),
    ]);
    const bySeries = new Map<string, RegressionRecord[]>();
    for (const record of known)
      bySeries.set(record.seriesKey, [...(bySeries.get(record.seriesKey) ?? []), record]);
    const deploys = new DeployComparison(versions, { from, to }, this.minPoints);
    const nowDate = new Date(this.now());
    const seen = new Set<string>();
    let seriesAnalysed = 0;
    const detector =
      this.options.detectInWorker === false ? undefined : new ChangePointWorkers(this.options.logger);
    // Each series' records in the order the series were read, whatever order detections finish in.
    const recordsBySeries: RegressionRecord[][] = [];
    const detecting = new Set<Promise<void>>();
    let detectionFailure: { error: unknown } | undefined;

    /** Analyses a series; returns a promise to wait for when too many detections are queued. */
    const analyse = (series: AnalysedSeries, policy: MetricPolicy): Promise<void> | undefined => {
      seriesAnalysed++;
      const seriesKey = keyOf(series);
      seen.add(seriesKey);
      deploys.add(series, policy);
      const slot = recordsBySeries.push([]) - 1;
      const judge = (points?: readonly ChangePoint[]) => {
        const findings = analyseSeries(
          series,
          policy,
          { minPoints: this.minPoints, minDurationMillis: this.minDurationMillis, versions, stepMillis },
          points,
        );
        const stored = bySeries.get(seriesKey) ?? [];
        recordsBySeries[slot] = reconcile(series, seriesKey, policy, findings, stored, nowDate, stepMillis);
      };
      if (detector === undefined) {
        judge();
        return undefined;
      }
      const job = detector
        .detect(series.values, { minSegment: this.minPoints })
        .then(judge)
        .catch((error: unknown) => {
          detectionFailure ??= { error };
        })
        .finally(() => detecting.delete(job));
      detecting.add(job);
      return detecting.size >= MAX_QUEUED_DETECTIONS ? Promise.race(detecting) : undefined;
    };

    // Our own output is not analysed: no feedback loops.
    const analysed = metrics.filter((metric) => !metric.metric.startsWith('perfwatch.'));
    // Every statistic of every metric in one pipelined read: the next page, of this metric or the
    // next, is queried while this one is analysed.
    const reads = analysed.flatMap((metric) =>
      statisticsOf(metric).map(({ statistic, aggregation }) => ({
        metric,
        statistic,
        query: {
          metric: metric.metric,
          aggregation,
          groupBy: ['service.name', ...metric.attributeKeys],
          from,
          to,
          stepSeconds: this.stepSeconds,
        },
      })),
    );
    try {
      await readAllSeriesPages(
        store,
        reads.map((read) => read.query),
        (s, index) => {
          const { metric, statistic } = reads[index]!;
          const labels = { ...s.labels };
          const service = labels['service.name'] ?? null;
          delete labels['service.name'];
          const policy = policyFor(metric.metric, metric.unit, statistic, labels, this.rules);
          if (!policy.enabled) return undefined;
          const series = { metric: metric.metric, statistic, unit: metric.unit, service, labels };
          return analyse({ ...series, times: s.times, values: s.samples ?? s.values, to }, policy);
        },
      );
      for (const metric of analysed) {
        if (metric.kind === 'histogram' && REQUEST_DURATION_METRICS.has(metric.metric)) {
          for (const series of await this.errorRates(metric, from, to)) {
            const policy = policyFor(metric.metric, '1', 'error_rate', {}, this.rules);
            if (policy.enabled) await analyse(series, policy);
          }
        }
      }
    } finally {
      // Never rejects (failures are kept in detectionFailure): wait for every queued series.
      await Promise.all(detecting);
      await detector?.close();
    }
    if (detectionFailure !== undefined) throw detectionFailure.error;
    const changed = recordsBySeries.flat();

    // Open records of series with no data in the lookback any more: the metric is gone.
    for (const [seriesKey, records] of bySeries) {
      if (seen.has(seriesKey)) continue;
      for (const record of records) {
        if (record.status === 'open') changed.push({ ...record, status: 'resolved', resolvedAt: nowDate });
      }
    }

    const verdicts = deploys.verdicts(nowDate);
    for (const [i, record] of changed.entries()) {
      if (HISTOGRAM_STATISTICS.has(record.statistic) && record.kind !== 'change')
        changed[i] = await this.withDistribution(record, metrics);
    }
    await saveRegressions(store, changed);
    await saveDeployVerdicts(store, verdicts);
    await this.loadActiveCounts();
    const summary: CycleSummary = {
      from,
      to,
      seriesAnalysed,
      opened: changed.filter((r) => r.firstSeen === nowDate && r.status === 'open').length,
      updated: changed.filter((r) => r.firstSeen !== nowDate && r.status === 'open').length,
      resolved: changed.filter((r) => r.resolvedAt === nowDate).length,
      deploys: verdicts.length,
      durationMillis: Math.round(performance.now() - started),
    };
    this.options.logger.debug({ ...summary }, 'regression cycle finished');
    return summary;
  }

  /**
   * A histogram statistic's change checked on the whole distribution: the observations of the
   * baseline window against those of the current window, bucket by bucket. The sentence says how
   * often an observation after the change exceeds one before it.
   */
  private async withDistribution(
    record: RegressionRecord,
    metrics: readonly MetricOverview[],
  ): Promise<RegressionRecord> {
    const metric = metrics.find((m) => m.metric === record.metric && m.kind === 'histogram');
    if (metric === undefined) return record;
    const groupBy = ['service.name', ...metric.attributeKeys];
    const wanted = JSON.stringify(
      groupBy.map((key) => (key === 'service.name' ? record.service : record.labels[key]) ?? null),
    );
    const distribution = async (from: Date, to: Date) => {
      const groups = await queryHistogramDistribution(this.options.store, {
        metric: record.metric,
        from,
        to,
        groupBy,
        ...(record.service === null ? {} : { where: { 'service.name': record.service } }),
      });
      return groups.find((g) => JSON.stringify(groupBy.map((key) => g.labels[key] ?? null)) === wanted);
    };
    const before = await distribution(record.baseline.from, record.baseline.to);
    const after = await distribution(record.current.from, record.current.to);
    if (
      before === undefined ||
      after === undefined ||
      JSON.stringify(before.bounds) !== JSON.stringify(after.bounds)
    )
      return record;
    const test = binnedMannWhitney(before.counts, after.counts);
    if (Number.isNaN(test.superiority)) return record;
    const share = record.direction === 'up' ? test.superiority : 1 - test.superiority;
    const comparison = record.direction === 'up' ? 'above' : 'below';
    return {
      ...record,
      distribution: { pValue: test.pValue, superiority: test.superiority },
      // Before the verdict: "… at 14:02 UTC; an observation after it is above … — a regression."
      explanation: record.explanation.replace(
        / — (a regression|an improvement|informational)\.$/,
        `; an observation after it is ${comparison} one before ${Math.round(share * 100)} % of the time (distribution p=${test.pValue.toExponential(1)}) — $1.`,
      ),
    };
  }

  /** The HTTP error rate per service (see readErrorRates), as series to analyse. */
  private async errorRates(metric: MetricOverview, from: Date, to: Date): Promise<AnalysedSeries[]> {
    const rates = await readErrorRates(this.options.store, {
      metric: metric.metric,
      from,
      to,
      stepSeconds: this.stepSeconds,
    });
    return rates.map(({ service, times, values }) => ({
      metric: metric.metric,
      statistic: 'error_rate',
      unit: '1',
      service,
      labels: {},
      times,
      values,
      to,
    }));
  }
}

/**
 * Matches this cycle's findings with the series' stored records: a finding near a known change
 * (same direction, within 10 minutes or 10 buckets) updates that record; others open new ones; a
 * stored open record not found again is resolved once the series is back near its baseline.
 */
function reconcile(
  series: AnalysedSeries,
  seriesKey: string,
  policy: MetricPolicy,
  findings: readonly Finding[],
  known: readonly RegressionRecord[],
  now: Date,
  stepMillis: number,
): RegressionRecord[] {
  const out: RegressionRecord[] = [];
  const matched = new Set<string>();
  const tolerance = Math.max(SAME_CHANGE_MILLIS, 10 * stepMillis);
  for (const finding of findings) {
    const previous = known.find(
      (record) =>
        !matched.has(record.id) &&
        record.direction === finding.direction &&
        Math.abs(record.changeTime.getTime() - finding.changeTime.getTime()) <= tolerance,
    );
    if (previous !== undefined) matched.add(previous.id);
    const status = finding.persists ? 'open' : 'resolved';
    if (previous !== undefined && previous.status === 'resolved' && status === 'resolved') continue;
    out.push({
      id: previous?.id ?? idOf(seriesKey, finding.changeTime),
      seriesKey,
      metric: series.metric,
      statistic: series.statistic,
      unit: series.unit,
      service: series.service,
      labels: series.labels,
      metricClass: policy.metricClass,
      kind: finding.kind,
      severity: finding.severity,
      status,
      direction: finding.direction,
      changeTime: finding.changeTime,
      versionBefore: finding.versionBefore,
      versionAfter: finding.versionAfter,
      baseline: finding.baseline,
      current: finding.current,
      absoluteChange: finding.point.shift,
      relativeChange: finding.point.relativeChange,
      effectLow: finding.assessment.effectLow,
      effectHigh: finding.assessment.effectHigh,
      effectKind: policy.effect,
      minEffect: policy.minEffect,
      pValue: finding.point.pValue,
      test: finding.point.test,
      explanation: finding.explanation,
      distribution: null,
      firstSeen: previous?.firstSeen ?? now,
      lastSeen: now,
      resolvedAt: status === 'resolved' ? (previous?.resolvedAt ?? now) : null,
    });
  }
  const level = latestLevel(series.values, []);
  for (const record of known) {
    if (matched.has(record.id) || record.status !== 'open') continue;
    if (returnsTo(level, record.baseline.median, policy) || !Number.isFinite(level))
      out.push({ ...record, status: 'resolved', resolvedAt: now });
  }
  return out;
}

/** Identity of an analysed series across cycles. */
function keyOf(series: AnalysedSeries): string {
  const labels = Object.entries(series.labels).sort(([a], [b]) => a.localeCompare(b));
  return JSON.stringify([series.metric, series.statistic, series.service, labels]);
}

/** A short stable id: the series and the time its change was first seen. */
function idOf(seriesKey: string, changeTime: Date): string {
  return createHash('sha256').update(`${seriesKey}@${changeTime.toISOString()}`).digest('hex').slice(0, 12);
}

function countActive(records: readonly RegressionRecord[]): ActiveCount[] {
  const counts = new Map<string, ActiveCount>();
  for (const record of records) {
    if (record.severity === 'info') continue;
    const service = record.service ?? '';
    const key = `${record.severity}\u0000${service}`;
    const count = counts.get(key)?.count ?? 0;
    counts.set(key, { severity: record.severity, service, count: count + 1 });
  }
  return [...counts.values()];
}
