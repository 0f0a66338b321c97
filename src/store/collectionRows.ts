import type { Attributes, HrTime } from '@opentelemetry/api';
import {
  AggregationTemporality,
  type DataPoint,
  DataPointType,
  type ExponentialHistogram,
} from '@opentelemetry/sdk-metrics';
import {
  type MetricSeries,
  type ResourceIdentity,
  resourceIdentity,
  type SeriesCatalog,
  type SeriesEntry,
  type SeriesKind,
} from './SeriesCatalog.js';
import type {
  PointColumns as ColumnsOf,
  StoredMetricData,
  StoredResourceMetrics,
} from './StoredResourceMetrics.js';

/** Column-wise rows of one collection, ready for the Appender. Times are µs since the epoch. */
export interface CollectionRows {
  readonly numbers: NumberRows;
  readonly histograms: HistogramRows;
  readonly expHistograms: ExpHistogramRows;
  readonly summaries: SummaryRows;
  /** Every series seen in this collection, once each. */
  readonly seen: SeriesEntry[];
  /** The newest point time of the collection (µs); 0n when it has no point. */
  newestMicros: bigint;
  pointCount: number;
  /** Points not stored because their series was new and a series limit was reached. */
  refusedPoints: number;
  /** refusedPoints per collection of the batch, in batch order. */
  readonly refusedByCollection: number[];
  /** Why the last point was refused; undefined when none was. */
  refusal: string | undefined;
}

export interface PointColumns {
  refs: number[];
  startTimes: (bigint | null)[];
  times: bigint[];
  /**
   * Rows that may repeat a point (same series, start time, time and value) stored before or
   * earlier in the write: the ones not later than every point of their series so far.
   * dropRepeatedPoints checks them; every other row is new.
   */
  mayRepeat: number[];
  /** The rows of mayRepeat that may repeat a stored point, not only one earlier in the write. */
  mayBeStored: number[];
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

/** Tells one collectionRows call's series apart from the last's (see SeriesEntry.seenInWrite). */
let writeStamp = 0;

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
  return { refs: [], startTimes: [], times: [], mayRepeat: [], mayBeStored: [] };
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
    seen: [],
    newestMicros: 0n,
    pointCount: 0,
    refusedPoints: 0,
    refusedByCollection: batch.map(() => 0),
    refusal: undefined,
  };
  const points = new PointAdder(rows, catalog);
  for (let i = 0; i < batch.length; i++) {
    points.collection = i;
    addResourceRows(rows, batch[i]!, catalog, points);
  }
  return rows;
}

/** Adds every point of a metric, given as SDK data points or as PointColumns, then its value. */
function eachPoint<T>(
  metric: { readonly dataPoints: readonly DataPoint<T>[] } | { readonly columns: ColumnsOf<T> },
  points: PointAdder,
  columns: PointColumns,
  series: MetricSeries,
  addValue: (value: T) => void,
): void {
  if ('columns' in metric) {
    const c = metric.columns;
    for (let i = 0; i < c.values.length; i++) {
      if (points.addKeyed(columns, series, c.attributeKeys[i]!, c.startMicros[i]!, c.timeMicros[i]!)) {
        addValue(c.values[i]!);
      }
    }
  } else {
    for (const point of metric.dataPoints) {
      if (points.add(columns, series, point)) addValue(point.value);
    }
  }
}

/** What every point adds, whatever its kind: its series, times and the series' sighting. */
class PointAdder {
  private readonly startTimes = new MicrosCache();
  private readonly endTimes = new MicrosCache();
  private readonly stamp = ++writeStamp;
  /** The index in the batch of the collection being added, for refusedByCollection. */
  collection = 0;

  constructor(
    private readonly rows: CollectionRows,
    private readonly catalog: SeriesCatalog,
  ) {}

  /** Adds a point's series and times; false when its series was refused (a series limit). */
  add(
    columns: PointColumns,
    series: MetricSeries,
    point: { startTime: HrTime; endTime: HrTime; attributes: Attributes },
  ): boolean {
    const time = this.endTimes.of(point.endTime);
    const entry = this.catalog.resolve(series, point.attributes, time);
    if (entry === undefined) return this.refuse();
    this.addEntry(columns, entry, this.startTimes.of(point.startTime), time);
    return true;
  }

  /** add() for a point given column-wise (PointColumns), its attributes by their lookup key. */
  addKeyed(
    columns: PointColumns,
    series: MetricSeries,
    attributesKey: string,
    startMicros: bigint | null,
    time: bigint,
  ): boolean {
    const entry = this.catalog.resolveKey(series, attributesKey, time);
    if (entry === undefined) return this.refuse();
    this.addEntry(columns, entry, startMicros, time);
    return true;
  }

  private refuse(): false {
    this.rows.refusedPoints++;
    this.rows.refusedByCollection[this.collection]!++;
    this.rows.refusal = this.catalog.lastRefusal;
    return false;
  }

  private addEntry(
    columns: PointColumns,
    entry: SeriesEntry,
    startMicros: bigint | null,
    time: bigint,
  ): void {
    const rows = this.rows;
    if (entry.seenInWrite !== this.stamp) {
      entry.seenInWrite = this.stamp;
      rows.seen.push(entry);
      entry.writeNewestMicros = entry.newestMicros;
    }
    // Points come in time order per series: a point later than all before it is new (one BigInt
    // comparison); the others are checked by dropRepeatedPoints.
    if (time > entry.writeNewestMicros) entry.writeNewestMicros = time;
    else {
      const row = columns.refs.length;
      columns.mayRepeat.push(row);
      if (time <= entry.newestMicros) columns.mayBeStored.push(row);
    }
    columns.refs.push(entry.ref);
    columns.startTimes.push(startMicros);
    columns.times.push(time);
    if (time > rows.newestMicros) rows.newestMicros = time;
    rows.pointCount++;
  }
}

function addResourceRows(
  rows: CollectionRows,
  resourceMetrics: StoredResourceMetrics,
  catalog: SeriesCatalog,
  points: PointAdder,
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

      switch (metric.dataPointType) {
        case DataPointType.GAUGE:
        case DataPointType.SUM: {
          const n = rows.numbers;
          if ('columns' in metric) {
            // The receiver's hot path: no callback per point.
            const c = metric.columns;
            for (let i = 0; i < c.values.length; i++) {
              if (
                points.addKeyed(n, metricSeries, c.attributeKeys[i]!, c.startMicros[i]!, c.timeMicros[i]!)
              ) {
                n.values.push(c.values[i]!);
              }
            }
          } else {
            for (const point of metric.dataPoints) {
              if (points.add(n, metricSeries, point)) n.values.push(point.value);
            }
          }
          break;
        }
        case DataPointType.HISTOGRAM: {
          const h = rows.histograms;
          eachPoint(metric, points, h, metricSeries, (value) => {
            h.counts.push(value.count);
            h.sums.push(value.sum ?? null);
            h.mins.push(value.min ?? null);
            h.maxes.push(value.max ?? null);
            h.bounds.push(value.buckets.boundaries);
            h.bucketCounts.push(value.buckets.counts);
          });
          break;
        }
        case DataPointType.EXPONENTIAL_HISTOGRAM: {
          const e = rows.expHistograms;
          eachPoint(metric, points, e, metricSeries, (value) => {
            e.counts.push(value.count);
            e.sums.push(value.sum ?? null);
            e.mins.push(value.min ?? null);
            e.maxes.push(value.max ?? null);
            e.scales.push(value.scale);
            e.zeroCounts.push(value.zeroCount);
            e.zeroThresholds.push(zeroThresholdOf(value));
            e.positiveOffsets.push(value.positive.offset);
            e.positiveCounts.push(value.positive.bucketCounts);
            e.negativeOffsets.push(value.negative.offset);
            e.negativeCounts.push(value.negative.bucketCounts);
          });
          break;
        }
        case 'summary': {
          const s = rows.summaries;
          eachPoint(metric, points, s, metricSeries, (value) => {
            s.counts.push(value.count);
            s.sums.push(value.sum);
            s.quantiles.push(value.quantiles);
            s.values.push(value.values);
          });
          break;
        }
      }
    }
  }
}
