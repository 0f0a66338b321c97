import type { Attributes, HrTime } from '@opentelemetry/api';
import { AggregationTemporality, DataPointType, type ExponentialHistogram } from '@opentelemetry/sdk-metrics';
import {
  type ResourceIdentity,
  resourceIdentity,
  type SeriesCatalog,
  type SeriesEntry,
  type SeriesKind,
} from './SeriesCatalog.js';
import type { StoredMetricData, StoredResourceMetrics } from './StoredResourceMetrics.js';

/** Column-wise rows of one collection, ready for the Appender. Times are µs since the epoch. */
export interface CollectionRows {
  readonly numbers: NumberRows;
  readonly histograms: HistogramRows;
  readonly expHistograms: ExpHistogramRows;
  readonly summaries: SummaryRows;
  /** Every series seen in this collection with its newest point time (µs). */
  readonly seen: Map<SeriesEntry, bigint>;
  pointCount: number;
}

interface PointColumns {
  refs: number[];
  startTimes: (bigint | null)[];
  times: bigint[];
}

interface NumberRows extends PointColumns {
  values: number[];
}

interface HistogramRows extends PointColumns {
  counts: number[];
  sums: (number | null)[];
  mins: (number | null)[];
  maxes: (number | null)[];
  bounds: number[][];
  bucketCounts: number[][];
}

interface ExpHistogramRows extends PointColumns {
  counts: number[];
  sums: (number | null)[];
  mins: (number | null)[];
  maxes: (number | null)[];
  scales: number[];
  zeroCounts: number[];
  zeroThresholds: (number | null)[];
  positiveOffsets: number[];
  positiveCounts: number[][];
  negativeOffsets: number[];
  negativeCounts: number[][];
}

interface SummaryRows extends PointColumns {
  counts: number[];
  sums: number[];
  quantiles: (readonly number[])[];
  values: (readonly number[])[];
}

/** A resource's identity is computed once per Resource object, not once per collection. */
const resourceIdentities = new WeakMap<object, ResourceIdentity>();

function hrTimeToMicros(time: HrTime): bigint {
  return BigInt(time[0]) * 1_000_000n + BigInt(Math.trunc(time[1] / 1000));
}

/** Remembers the last conversion: every point of a collection shares its end time. */
class MicrosCache {
  private lastSeconds = Number.NaN;
  private lastNanos = Number.NaN;
  private lastMicros = 0n;

  of(time: HrTime): bigint {
    if (time[0] !== this.lastSeconds || time[1] !== this.lastNanos) {
      this.lastSeconds = time[0];
      this.lastNanos = time[1];
      this.lastMicros = hrTimeToMicros(time);
    }
    return this.lastMicros;
  }
}

function kindOf(metric: StoredMetricData): SeriesKind {
  switch (metric.dataPointType) {
    case DataPointType.GAUGE:
      return 'gauge';
    case DataPointType.SUM:
      return 'sum';
    case DataPointType.HISTOGRAM:
      return 'histogram';
    case DataPointType.EXPONENTIAL_HISTOGRAM:
      return 'exponential_histogram';
    case 'summary':
      return 'summary';
  }
}

/** OTLP carries an exponential histogram's zero threshold; the SDK's type does not. */
function zeroThresholdOf(histogram: ExponentialHistogram): number | null {
  return 'zeroThreshold' in histogram && typeof histogram.zeroThreshold === 'number'
    ? histogram.zeroThreshold
    : null;
}

function emptyColumns(): PointColumns {
  return { refs: [], startTimes: [], times: [] };
}

/**
 * Flattens collections (one per resource; an SDK collection is one, an OTLP request one per
 * resource it carries) into column arrays, resolving (and registering) each point's series.
 * Every point is kept, NaN and ±Infinity included (DOUBLE stores them; queries filter with
 * `isfinite(value)` where an aggregate must not be poisoned).
 */
export function collectionRows(
  batch: readonly StoredResourceMetrics[],
  catalog: SeriesCatalog,
): CollectionRows {
  const rows: CollectionRows = {
    numbers: { ...emptyColumns(), values: [] },
    histograms: {
      ...emptyColumns(),
      counts: [],
      sums: [],
      mins: [],
      maxes: [],
      bounds: [],
      bucketCounts: [],
    },
    expHistograms: {
      ...emptyColumns(),
      counts: [],
      sums: [],
      mins: [],
      maxes: [],
      scales: [],
      zeroCounts: [],
      zeroThresholds: [],
      positiveOffsets: [],
      positiveCounts: [],
      negativeOffsets: [],
      negativeCounts: [],
    },
    summaries: { ...emptyColumns(), counts: [], sums: [], quantiles: [], values: [] },
    seen: new Map(),
    pointCount: 0,
  };
  const startTimes = new MicrosCache();
  const endTimes = new MicrosCache();
  for (const resourceMetrics of batch) addResourceRows(rows, resourceMetrics, catalog, startTimes, endTimes);
  return rows;
}

function addResourceRows(
  rows: CollectionRows,
  resourceMetrics: StoredResourceMetrics,
  catalog: SeriesCatalog,
  startTimes: MicrosCache,
  endTimes: MicrosCache,
): void {
  let resource = resourceIdentities.get(resourceMetrics.resource);
  if (resource === undefined) {
    resource = resourceIdentity(resourceMetrics.resource.attributes);
    resourceIdentities.set(resourceMetrics.resource, resource);
  }
  for (const scopeMetrics of resourceMetrics.scopeMetrics) {
    for (const metric of scopeMetrics.metrics) {
      const kind = kindOf(metric);
      const metricSeries = catalog.seriesOf({
        metricName: metric.descriptor.name,
        kind,
        unit: metric.descriptor.unit,
        description: metric.descriptor.description,
        temporality:
          metric.dataPointType === DataPointType.GAUGE || metric.dataPointType === 'summary'
            ? null
            : metric.aggregationTemporality === AggregationTemporality.DELTA
              ? 'delta'
              : 'cumulative',
        monotonic: metric.dataPointType === DataPointType.SUM ? metric.isMonotonic : null,
        resource,
        scopeName: scopeMetrics.scope.name,
        scopeVersion: scopeMetrics.scope.version ?? null,
      });

      const addPoint = (
        columns: PointColumns,
        point: { startTime: HrTime; endTime: HrTime; attributes: Attributes },
      ) => {
        const time = endTimes.of(point.endTime);
        const entry = catalog.resolve(metricSeries, point.attributes, time);
        columns.refs.push(entry.ref);
        columns.startTimes.push(startTimes.of(point.startTime));
        columns.times.push(time);
        const previous = rows.seen.get(entry);
        if (previous === undefined || previous < time) rows.seen.set(entry, time);
        rows.pointCount++;
      };

      switch (metric.dataPointType) {
        case DataPointType.GAUGE:
        case DataPointType.SUM:
          for (const point of metric.dataPoints) {
            addPoint(rows.numbers, point);
            rows.numbers.values.push(point.value);
          }
          break;
        case DataPointType.HISTOGRAM:
          for (const point of metric.dataPoints) {
            const h = point.value;
            addPoint(rows.histograms, point);
            rows.histograms.counts.push(h.count);
            rows.histograms.sums.push(h.sum ?? null);
            rows.histograms.mins.push(h.min ?? null);
            rows.histograms.maxes.push(h.max ?? null);
            rows.histograms.bounds.push(h.buckets.boundaries);
            rows.histograms.bucketCounts.push(h.buckets.counts);
          }
          break;
        case DataPointType.EXPONENTIAL_HISTOGRAM:
          for (const point of metric.dataPoints) {
            const h = point.value;
            const e = rows.expHistograms;
            addPoint(e, point);
            e.counts.push(h.count);
            e.sums.push(h.sum ?? null);
            e.mins.push(h.min ?? null);
            e.maxes.push(h.max ?? null);
            e.scales.push(h.scale);
            e.zeroCounts.push(h.zeroCount);
            e.zeroThresholds.push(zeroThresholdOf(h));
            e.positiveOffsets.push(h.positive.offset);
            e.positiveCounts.push(h.positive.bucketCounts);
            e.negativeOffsets.push(h.negative.offset);
            e.negativeCounts.push(h.negative.bucketCounts);
          }
          break;
        case 'summary':
          for (const point of metric.dataPoints) {
            const s = rows.summaries;
            addPoint(s, point);
            s.counts.push(point.value.count);
            s.sums.push(point.value.sum);
            s.quantiles.push(point.value.quantiles);
            s.values.push(point.value.values);
          }
          break;
      }
    }
  }
}
