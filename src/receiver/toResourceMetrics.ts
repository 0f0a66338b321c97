import { ValueType } from '@opentelemetry/api';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  AggregationTemporality,
  DataPointType,
  type ExponentialHistogram,
  type Histogram,
  type MetricDescriptor,
} from '@opentelemetry/sdk-metrics';
import type {
  ColumnarMetricData,
  PointColumns,
  StoredMetricData,
  StoredResourceMetrics,
  SummaryValue,
} from '../store/StoredResourceMetrics.js';
import { attributesProblem } from './attributeLimits.js';
import { attributesKeyOf } from './attributesKeyOf.js';
import type {
  Int64,
  OtlpBuckets,
  OtlpKeyValue,
  OtlpMetric,
  OtlpMetricsRequest,
  OtlpNumberDataPoint,
} from './decodeOtlpMetrics.js';
import { int64ToNumber } from './int64.js';
import { MicrosCache } from './MicrosCache.js';
import {
  exponentialHistogramProblem,
  histogramProblem,
  summaryProblem,
  timesProblem,
} from './pointProblems.js';
import { toAttributes } from './toAttributes.js';

/** What one request converts to: the valid points, ready for the store, and what was rejected. */
export interface ConvertedRequest {
  readonly resourceMetrics: StoredResourceMetrics[];
  /** Points kept. */
  readonly points: number;
  /** Points rejected as invalid (OTLP's `partial_success.rejected_data_points`). */
  readonly rejected: number;
  /** Why points were rejected: the first few reasons, or '' when none were. */
  readonly errorMessage: string;
}

/** Reasons quoted in `error_message`; the rest are only counted. */
const MAX_REASONS = 5;
/** DataPointFlags.FLAG_NO_RECORDED_VALUE: the point marks a gap (staleness), it has no value. */
const NO_RECORDED_VALUE = 1;
/** OTLP's AggregationTemporality values (1 = delta, 2 = cumulative; 0 is invalid). */
const OTLP_DELTA = 1;
const OTLP_CUMULATIVE = 2;

/**
 * Converts a decoded OTLP request into the store writer's `ResourceMetrics` shape, each metric's
 * points column-wise (PointColumns: no object per point), validating every point on the way. An invalid point is dropped and counted with
 * its reason; its metric's other points and every other metric are kept. A metric without a name,
 * or a sum or histogram without a valid temporality, rejects all its points; a resource whose
 * attributes break ATTRIBUTE_LIMITS rejects all its points.
 *
 * Points flagged "no recorded value" are skipped without being counted as rejected: they are
 * staleness markers, valid OTLP that carries nothing to store.
 */
export function toResourceMetrics(request: OtlpMetricsRequest): ConvertedRequest {
  const out = new Conversion();
  const resourceMetrics: StoredResourceMetrics[] = [];
  for (let r = 0; r < request.resourceMetrics.length; r++) {
    const rm = request.resourceMetrics[r]!;
    const resourceProblem = attributesProblem(rm.resource?.attributes ?? []);
    if (resourceProblem !== undefined) {
      out.rejectResource(rm, `resourceMetrics[${r}].resource ${resourceProblem}`);
      continue;
    }
    const scopeMetrics = [];
    for (const sm of rm.scopeMetrics) {
      const metrics: StoredMetricData[] = [];
      for (const metric of sm.metrics) {
        const converted = out.metric(metric);
        if (converted !== undefined && converted.columns.values.length > 0) metrics.push(converted);
      }
      if (metrics.length === 0) continue;
      const scope = sm.scope;
      scopeMetrics.push({
        scope: {
          name: scope?.name ?? '',
          ...(scope?.version ? { version: scope.version } : {}),
          ...(sm.schemaUrl ? { schemaUrl: sm.schemaUrl } : {}),
        },
        metrics,
      });
    }
    if (scopeMetrics.length === 0) continue;
    resourceMetrics.push({
      resource: resourceFromAttributes(toAttributes(rm.resource?.attributes ?? [])),
      scopeMetrics,
    });
  }
  return {
    resourceMetrics,
    points: out.points,
    rejected: out.rejected,
    errorMessage: out.errorMessage(),
  };
}

class Conversion {
  points = 0;
  rejected = 0;
  private readonly reasons: string[] = [];
  // Two caches: start and end times alternate, and each mostly repeats across a request's points.
  private readonly startTimes = new MicrosCache();
  private readonly endTimes = new MicrosCache();

  /** The last distinct explicitBounds seen: a metric's points nearly always share theirs. */
  private lastBounds: number[] = [];

  /**
   * `bounds`, or an equal array returned before: the store converts each distinct bounds array
   * once (by identity), so sharing saves a list value per histogram point.
   */
  sharedBounds(bounds: readonly number[]): number[] {
    const last = this.lastBounds;
    if (bounds.length === last.length && bounds.every((bound, i) => Object.is(bound, last[i]))) return last;
    this.lastBounds = bounds as number[];
    return this.lastBounds;
  }

  errorMessage(): string {
    if (this.rejected === 0) return '';
    const more = this.rejected > this.reasons.length ? '; …' : '';
    return `${this.rejected} data point(s) rejected: ${this.reasons.join('; ')}${more}`;
  }

  /** Every point of a resource whose attributes cannot be stored, with one reason. */
  rejectResource(rm: OtlpMetricsRequest['resourceMetrics'][number], reason: string): void {
    let points = 0;
    for (const sm of rm.scopeMetrics) for (const metric of sm.metrics) points += pointCountOf(metric);
    if (points > 0) this.reject(points, reason);
  }

  private reject(count: number, reason: string): void {
    this.rejected += count;
    if (this.reasons.length < MAX_REASONS) this.reasons.push(reason);
  }

  metric(metric: OtlpMetric): ColumnarMetricData | undefined {
    const points = pointCountOf(metric);
    if (!metric.name) {
      if (points > 0) this.reject(points, 'metric.name: must not be empty');
      return undefined;
    }
    const where = `metric ${JSON.stringify(metric.name)}`;
    if (metric.gauge) return this.numberMetric(metric.gauge.dataPoints, undefined, metric, where);
    if (metric.sum) return this.numberMetric(metric.sum.dataPoints, metric.sum, metric, where);
    if (metric.histogram) return this.histogramMetric(metric, metric.histogram, where);
    if (metric.exponentialHistogram) {
      return this.exponentialHistogramMetric(metric, metric.exponentialHistogram, where);
    }
    if (metric.summary) return this.summaryMetric(metric, metric.summary, where);
    // No data member set: a metric without points, nothing to store or reject.
    return undefined;
  }

  private temporality(value: number, points: number, where: string): AggregationTemporality | undefined {
    if (value === OTLP_DELTA) return AggregationTemporality.DELTA;
    if (value === OTLP_CUMULATIVE) return AggregationTemporality.CUMULATIVE;
    if (points > 0)
      this.reject(
        points,
        `${where}: aggregationTemporality must be 1 (delta) or 2 (cumulative), got ${value}`,
      );
    return undefined;
  }

  /**
   * The end time of a point to keep; undefined when the point is skipped (no recorded value) or
   * rejected (no time). Locations are only formatted for rejections: this runs once per point.
   */
  private endTime(
    point: {
      timeUnixNano: Int64;
      startTimeUnixNano: Int64;
      flags: number;
      attributes: readonly OtlpKeyValue[];
    },
    where: string,
    index: number,
  ): bigint | undefined {
    if ((point.flags & NO_RECORDED_VALUE) !== 0) return undefined;
    const problem = timesProblem(point) ?? attributesProblem(point.attributes);
    if (problem !== undefined) {
      this.reject(1, `${where} point ${index}: ${problem}`);
      return undefined;
    }
    return this.endTimes.of(point.timeUnixNano);
  }

  /** Appends a kept point's series key and times to `columns`; its value is the caller's. */
  private keep<T>(
    columns: Columns<T>,
    point: { attributes: readonly OtlpKeyValue[]; startTimeUnixNano: Int64 },
    time: bigint,
    value: T,
  ): void {
    columns.attributeKeys.push(attributesKeyOf(point.attributes));
    const start = point.startTimeUnixNano;
    // 0 is OTLP's "unset" (gauges usually have no start): stored as NULL, not as 1970.
    const unset = typeof start === 'number' ? start === 0 : start.low === 0 && start.high === 0;
    columns.startMicros.push(unset ? null : this.startTimes.of(start));
    columns.timeMicros.push(time);
    columns.values.push(value);
  }

  /** A gauge (`sum` undefined) or a sum. */
  private numberMetric(
    points: readonly OtlpNumberDataPoint[],
    sum: NonNullable<OtlpMetric['sum']> | undefined,
    metric: OtlpMetric,
    where: string,
  ): ColumnarMetricData | undefined {
    const monotonic = sum?.isMonotonic === true;
    let temporality = AggregationTemporality.CUMULATIVE;
    if (sum !== undefined) {
      const t = this.temporality(sum.aggregationTemporality, points.length, where);
      if (t === undefined) return undefined;
      temporality = t;
    }
    const columns = emptyColumns<number>();
    let intValues = true;
    for (let i = 0; i < points.length; i++) {
      const point = points[i]!;
      const endTime = this.endTime(point, where, i);
      if (endTime === undefined) continue;
      let value: number;
      if (Object.hasOwn(point, 'asDouble')) {
        value = point.asDouble!;
        intValues = false;
      } else if (Object.hasOwn(point, 'asInt')) value = int64ToNumber(point.asInt!);
      else {
        this.reject(1, `${where} point ${i}: has neither asDouble nor asInt`);
        continue;
      }
      if (monotonic && !(value >= 0 && value !== Number.POSITIVE_INFINITY)) {
        this.reject(1, `${where} point ${i}: a monotonic sum must be finite and ≥ 0, got ${value}`);
        continue;
      }
      this.keep(columns, point, endTime, value);
    }
    this.points += columns.values.length;
    const descriptor = descriptorOf(metric, intValues && columns.values.length > 0);
    return sum !== undefined
      ? {
          dataPointType: DataPointType.SUM,
          descriptor,
          aggregationTemporality: temporality,
          isMonotonic: monotonic,
          columns,
        }
      : {
          dataPointType: DataPointType.GAUGE,
          descriptor,
          aggregationTemporality: temporality,
          columns,
        };
  }

  private histogramMetric(
    metric: OtlpMetric,
    data: NonNullable<OtlpMetric['histogram']>,
    where: string,
  ): ColumnarMetricData | undefined {
    const temporality = this.temporality(data.aggregationTemporality, data.dataPoints.length, where);
    if (temporality === undefined) return undefined;
    const columns = emptyColumns<Histogram>();
    for (let i = 0; i < data.dataPoints.length; i++) {
      const point = data.dataPoints[i]!;
      const endTime = this.endTime(point, where, i);
      if (endTime === undefined) continue;
      const problem = histogramProblem(point);
      if (problem !== undefined) {
        this.reject(1, `${where} point ${i}: ${problem}`);
        continue;
      }
      const value: Histogram = {
        count: int64ToNumber(point.count),
        buckets: {
          boundaries: this.sharedBounds(point.explicitBounds),
          counts: point.bucketCounts.map(int64ToNumber),
        },
      };
      if (Object.hasOwn(point, 'sum')) value.sum = point.sum!;
      if (Object.hasOwn(point, 'min')) value.min = point.min!;
      if (Object.hasOwn(point, 'max')) value.max = point.max!;
      this.keep(columns, point, endTime, value);
    }
    this.points += columns.values.length;
    return {
      dataPointType: DataPointType.HISTOGRAM,
      descriptor: descriptorOf(metric, false),
      aggregationTemporality: temporality,
      columns,
    };
  }

  private exponentialHistogramMetric(
    metric: OtlpMetric,
    data: NonNullable<OtlpMetric['exponentialHistogram']>,
    where: string,
  ): ColumnarMetricData | undefined {
    const temporality = this.temporality(data.aggregationTemporality, data.dataPoints.length, where);
    if (temporality === undefined) return undefined;
    const columns = emptyColumns<ExponentialHistogram>();
    for (let i = 0; i < data.dataPoints.length; i++) {
      const point = data.dataPoints[i]!;
      const endTime = this.endTime(point, where, i);
      if (endTime === undefined) continue;
      const problem = exponentialHistogramProblem(point);
      if (problem !== undefined) {
        this.reject(1, `${where} point ${i}: ${problem}`);
        continue;
      }
      // zeroThreshold travels beside the SDK's fields; the store keeps it (see collectionRows).
      const value: ExponentialHistogram & { zeroThreshold: number } = {
        count: int64ToNumber(point.count),
        scale: point.scale,
        zeroCount: int64ToNumber(point.zeroCount),
        zeroThreshold: point.zeroThreshold,
        positive: bucketsOf(point.positive),
        negative: bucketsOf(point.negative),
      };
      if (Object.hasOwn(point, 'sum')) value.sum = point.sum!;
      if (Object.hasOwn(point, 'min')) value.min = point.min!;
      if (Object.hasOwn(point, 'max')) value.max = point.max!;
      this.keep(columns, point, endTime, value);
    }
    this.points += columns.values.length;
    return {
      dataPointType: DataPointType.EXPONENTIAL_HISTOGRAM,
      descriptor: descriptorOf(metric, false),
      aggregationTemporality: temporality,
      columns,
    };
  }

  private summaryMetric(
    metric: OtlpMetric,
    data: NonNullable<OtlpMetric['summary']>,
    where: string,
  ): ColumnarMetricData {
    const columns = emptyColumns<SummaryValue>();
    for (let i = 0; i < data.dataPoints.length; i++) {
      const point = data.dataPoints[i]!;
      const endTime = this.endTime(point, where, i);
      if (endTime === undefined) continue;
      const problem = summaryProblem(point);
      if (problem !== undefined) {
        this.reject(1, `${where} point ${i}: ${problem}`);
        continue;
      }
      this.keep(columns, point, endTime, {
        count: int64ToNumber(point.count),
        sum: point.sum,
        quantiles: point.quantileValues.map((q) => q.quantile),
        values: point.quantileValues.map((q) => q.value),
      });
    }
    this.points += columns.values.length;
    return { dataPointType: 'summary', descriptor: descriptorOf(metric, false), columns };
  }
}

/** PointColumns being filled. */
interface Columns<T> extends PointColumns<T> {
  readonly attributeKeys: string[];
  readonly startMicros: (bigint | null)[];
  readonly timeMicros: bigint[];
  readonly values: T[];
}

function emptyColumns<T>(): Columns<T> {
  return { attributeKeys: [], startMicros: [], timeMicros: [], values: [] };
}

function pointCountOf(metric: OtlpMetric): number {
  const data =
    metric.gauge ?? metric.sum ?? metric.histogram ?? metric.exponentialHistogram ?? metric.summary;
  return data?.dataPoints.length ?? 0;
}

function descriptorOf(metric: OtlpMetric, intValues: boolean): MetricDescriptor {
  return {
    name: metric.name,
    description: metric.description,
    unit: metric.unit,
    valueType: intValues ? ValueType.INT : ValueType.DOUBLE,
  };
}

function bucketsOf(buckets: OtlpBuckets | null | undefined): ExponentialHistogram['positive'] {
  if (buckets === null || buckets === undefined) return { offset: 0, bucketCounts: [] };
  return { offset: buckets.offset, bucketCounts: buckets.bucketCounts.map(int64ToNumber) };
}
