import { type Attributes, type AttributeValue, type HrTime, ValueType } from '@opentelemetry/api';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  AggregationTemporality,
  type DataPoint,
  DataPointType,
  type ExponentialHistogram,
  type Histogram,
  type MetricData,
  type MetricDescriptor,
} from '@opentelemetry/sdk-metrics';
import type {
  StoredMetricData,
  StoredResourceMetrics,
  SummaryValue,
} from '../store/StoredResourceMetrics.js';
import type {
  Int64,
  OtlpAnyValue,
  OtlpBuckets,
  OtlpExponentialHistogramDataPoint,
  OtlpHistogramDataPoint,
  OtlpKeyValue,
  OtlpMetric,
  OtlpMetricsRequest,
  OtlpNumberDataPoint,
  OtlpSummaryDataPoint,
} from './decodeOtlpMetrics.js';

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
 * Converts a decoded OTLP request into the SDK's `ResourceMetrics` shape (plus summaries) for the
 * store writer, validating every point on the way. An invalid point is dropped and counted with
 * its reason; its metric's other points and every other metric are kept. A metric without a name,
 * or a sum or histogram without a valid temporality, rejects all its points.
 *
 * Points flagged "no recorded value" are skipped without being counted as rejected: they are
 * staleness markers, valid OTLP that carries nothing to store.
 */
export function toResourceMetrics(request: OtlpMetricsRequest): ConvertedRequest {
  const out = new Conversion();
  const resourceMetrics: StoredResourceMetrics[] = [];
  for (const rm of request.resourceMetrics) {
    const scopeMetrics = [];
    for (const sm of rm.scopeMetrics) {
      const metrics: StoredMetricData[] = [];
      for (const metric of sm.metrics) {
        const converted = out.metric(metric);
        if (converted !== undefined && converted.dataPoints.length > 0) metrics.push(converted);
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
  private readonly startTimes = new HrTimeCache();
  private readonly endTimes = new HrTimeCache();

  errorMessage(): string {
    if (this.rejected === 0) return '';
    const more = this.rejected > this.reasons.length ? '; …' : '';
    return `${this.rejected} data point(s) rejected: ${this.reasons.join('; ')}${more}`;
  }

  private reject(count: number, reason: string): void {
    this.rejected += count;
    if (this.reasons.length < MAX_REASONS) this.reasons.push(reason);
  }

  metric(metric: OtlpMetric): StoredMetricData | undefined {
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
    point: { timeUnixNano: Int64; flags: number },
    where: string,
    index: number,
  ): HrTime | undefined {
    if ((point.flags & NO_RECORDED_VALUE) !== 0) return undefined;
    const endTime = this.endTimes.of(point.timeUnixNano);
    if (endTime[0] === 0 && endTime[1] === 0) {
      this.reject(1, `${where} point ${index}: timeUnixNano must be set`);
      return undefined;
    }
    return endTime;
  }

  /** A gauge (`sum` undefined) or a sum. */
  private numberMetric(
    points: readonly OtlpNumberDataPoint[],
    sum: NonNullable<OtlpMetric['sum']> | undefined,
    metric: OtlpMetric,
    where: string,
  ): MetricData | undefined {
    const monotonic = sum?.isMonotonic === true;
    let temporality = AggregationTemporality.CUMULATIVE;
    if (sum !== undefined) {
      const t = this.temporality(sum.aggregationTemporality, points.length, where);
      if (t === undefined) return undefined;
      temporality = t;
    }
    const dataPoints: DataPoint<number>[] = [];
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
      dataPoints.push({
        startTime: this.startTimes.of(point.startTimeUnixNano),
        endTime,
        attributes: toAttributes(point.attributes),
        value,
      });
    }
    this.points += dataPoints.length;
    const descriptor = descriptorOf(metric, intValues && dataPoints.length > 0);
    return sum !== undefined
      ? {
          dataPointType: DataPointType.SUM,
          descriptor,
          aggregationTemporality: temporality,
          isMonotonic: monotonic,
          dataPoints,
        }
      : {
          dataPointType: DataPointType.GAUGE,
          descriptor,
          aggregationTemporality: temporality,
          dataPoints,
        };
  }

  private histogramMetric(
    metric: OtlpMetric,
    data: NonNullable<OtlpMetric['histogram']>,
    where: string,
  ): MetricData | undefined {
    const temporality = this.temporality(data.aggregationTemporality, data.dataPoints.length, where);
    if (temporality === undefined) return undefined;
    const dataPoints: DataPoint<Histogram>[] = [];
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
          boundaries: point.explicitBounds as number[],
          counts: point.bucketCounts.map(int64ToNumber),
        },
      };
      if (Object.hasOwn(point, 'sum')) value.sum = point.sum!;
      if (Object.hasOwn(point, 'min')) value.min = point.min!;
      if (Object.hasOwn(point, 'max')) value.max = point.max!;
      dataPoints.push({
        startTime: this.startTimes.of(point.startTimeUnixNano),
        endTime,
        attributes: toAttributes(point.attributes),
        value,
      });
    }
    this.points += dataPoints.length;
    return {
      dataPointType: DataPointType.HISTOGRAM,
      descriptor: descriptorOf(metric, false),
      aggregationTemporality: temporality,
      dataPoints,
    };
  }

  private exponentialHistogramMetric(
    metric: OtlpMetric,
    data: NonNullable<OtlpMetric['exponentialHistogram']>,
    where: string,
  ): MetricData | undefined {
    const temporality = this.temporality(data.aggregationTemporality, data.dataPoints.length, where);
    if (temporality === undefined) return undefined;
    const dataPoints: DataPoint<ExponentialHistogram>[] = [];
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
      dataPoints.push({
        startTime: this.startTimes.of(point.startTimeUnixNano),
        endTime,
        attributes: toAttributes(point.attributes),
        value,
      });
    }
    this.points += dataPoints.length;
    return {
      dataPointType: DataPointType.EXPONENTIAL_HISTOGRAM,
      descriptor: descriptorOf(metric, false),
      aggregationTemporality: temporality,
      dataPoints,
    };
  }

  private summaryMetric(
    metric: OtlpMetric,
    data: NonNullable<OtlpMetric['summary']>,
    where: string,
  ): StoredMetricData {
    const dataPoints: DataPoint<SummaryValue>[] = [];
    for (let i = 0; i < data.dataPoints.length; i++) {
      const point = data.dataPoints[i]!;
      const endTime = this.endTime(point, where, i);
      if (endTime === undefined) continue;
      const problem = summaryProblem(point);
      if (problem !== undefined) {
        this.reject(1, `${where} point ${i}: ${problem}`);
        continue;
      }
      dataPoints.push({
        startTime: this.startTimes.of(point.startTimeUnixNano),
        endTime,
        attributes: toAttributes(point.attributes),
        value: {
          count: int64ToNumber(point.count),
          sum: point.sum,
          quantiles: point.quantileValues.map((q) => q.quantile),
          values: point.quantileValues.map((q) => q.value),
        },
      });
    }
    this.points += dataPoints.length;
    return { dataPointType: 'summary', descriptor: descriptorOf(metric, false), dataPoints };
  }
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

/** Counts are integers far below 2^53 in practice; beyond it a count cannot be stored exactly. */
function countProblem(field: string, count: Int64): string | undefined {
  if (typeof count === 'number') return undefined;
  return count.high >>> 0 >= 0x200000
    ? `${field} must be below 2^53 to be stored exactly, got ${int64Text(count)}`
    : undefined;
}

function isNaNIfSet(point: object, field: 'sum' | 'min' | 'max', value: number | null | undefined): boolean {
  return Object.hasOwn(point, field) && Number.isNaN(value);
}

function statsProblem(point: OtlpHistogramDataPoint | OtlpExponentialHistogramDataPoint): string | undefined {
  for (const field of ['sum', 'min', 'max'] as const) {
    if (isNaNIfSet(point, field, point[field])) return `${field} must not be NaN`;
  }
  return countProblem('count', point.count);
}

function histogramProblem(point: OtlpHistogramDataPoint): string | undefined {
  const bounds = point.explicitBounds;
  const counts = point.bucketCounts;
  if (counts.length === 0 && bounds.length > 0) {
    return `bucketCounts is empty but explicitBounds has ${bounds.length} entries (want none)`;
  }
  if (counts.length > 0 && counts.length !== bounds.length + 1) {
    return `bucketCounts has ${counts.length} entries for ${bounds.length} explicitBounds (want explicitBounds + 1)`;
  }
  for (let i = 0; i < bounds.length; i++) {
    const bound = bounds[i]!;
    if (!Number.isFinite(bound)) return `explicitBounds[${i}] must be finite, got ${bound}`;
    if (i > 0 && !(bound > bounds[i - 1]!))
      return `explicitBounds must be strictly increasing (at index ${i})`;
  }
  const problem = statsProblem(point);
  if (problem !== undefined) return problem;
  if (counts.length > 0) {
    let total = 0;
    for (let i = 0; i < counts.length; i++) {
      const countError = countProblem(`bucketCounts[${i}]`, counts[i]!);
      if (countError !== undefined) return countError;
      total += int64ToNumber(counts[i]!);
    }
    const count = int64ToNumber(point.count);
    if (total !== count) return `count ${count} is not the sum of bucketCounts (${total})`;
  }
  return undefined;
}

function exponentialHistogramProblem(point: OtlpExponentialHistogramDataPoint): string | undefined {
  if (point.scale < -10 || point.scale > 20) return `scale must be between -10 and 20, got ${point.scale}`;
  if (!(point.zeroThreshold >= 0)) return `zeroThreshold must be ≥ 0, got ${point.zeroThreshold}`;
  const problem = statsProblem(point) ?? countProblem('zeroCount', point.zeroCount);
  if (problem !== undefined) return problem;
  let total = int64ToNumber(point.zeroCount);
  for (const [name, buckets] of [
    ['positive', point.positive],
    ['negative', point.negative],
  ] as const) {
    const counts = buckets?.bucketCounts ?? [];
    for (let i = 0; i < counts.length; i++) {
      const countError = countProblem(`${name}.bucketCounts[${i}]`, counts[i]!);
      if (countError !== undefined) return countError;
      total += int64ToNumber(counts[i]!);
    }
  }
  const count = int64ToNumber(point.count);
  if (total !== count) {
    return `count ${count} is not zeroCount plus the positive and negative bucket counts (${total})`;
  }
  return undefined;
}

function summaryProblem(point: OtlpSummaryDataPoint): string | undefined {
  const countError = countProblem('count', point.count);
  if (countError !== undefined) return countError;
  for (let i = 0; i < point.quantileValues.length; i++) {
    const q = point.quantileValues[i]!.quantile;
    if (!(q >= 0 && q <= 1)) return `quantileValues[${i}].quantile must be between 0 and 1, got ${q}`;
  }
  return undefined;
}

function bucketsOf(buckets: OtlpBuckets | null | undefined): ExponentialHistogram['positive'] {
  if (buckets === null || buckets === undefined) return { offset: 0, bucketCounts: [] };
  return { offset: buckets.offset, bucketCounts: buckets.bucketCounts.map(int64ToNumber) };
}

/** A non-negative count or a signed value; exact below 2^53 (checked where it matters). */
function int64ToNumber(value: Int64): number {
  if (typeof value === 'number') return value;
  const high = value.unsigned ? value.high >>> 0 : value.high;
  return high * 0x100000000 + (value.low >>> 0);
}

function int64Text(value: Int64): string {
  if (typeof value === 'number') return String(value);
  const bits = (BigInt(value.high >>> 0) << 32n) | BigInt(value.low >>> 0);
  return (value.unsigned ? bits : BigInt.asIntN(64, bits)).toString();
}

/**
 * Nanosecond timestamps to HrTime, exactly (a double cannot hold today's time in ns). The points
 * of one request share a handful of timestamps, so the last conversion is remembered.
 */
class HrTimeCache {
  private lastLow = 0;
  private lastHigh = 0;
  private last: HrTime = [0, 0];

  of(nanos: Int64): HrTime {
    if (typeof nanos === 'number') {
      return [Math.floor(nanos / 1e9), Math.round(nanos % 1e9)];
    }
    if (nanos.low === this.lastLow && nanos.high === this.lastHigh) return this.last;
    const total = (BigInt(nanos.high >>> 0) << 32n) | BigInt(nanos.low >>> 0);
    this.lastLow = nanos.low;
    this.lastHigh = nanos.high;
    this.last = [Number(total / 1_000_000_000n), Number(total % 1_000_000_000n)];
    return this.last;
  }
}

function toAttributes(keyValues: readonly OtlpKeyValue[]): Attributes {
  const attributes: Attributes = {};
  for (const { key, value } of keyValues) {
    const converted = anyValueOf(value);
    if (converted !== undefined) attributes[key] = converted;
  }
  return attributes;
}

/**
 * OTLP's AnyValue as an SDK attribute value: scalars as themselves, 64-bit integers beyond 2^53
 * as their decimal text, homogeneous scalar arrays as arrays, and what the SDK's attributes
 * cannot hold (maps, nested arrays, bytes) as JSON or base64 text, so nothing is lost.
 */
function anyValueOf(value: OtlpAnyValue | null | undefined): AttributeValue | undefined {
  if (value === null || value === undefined) return undefined;
  if (Object.hasOwn(value, 'stringValue')) return value.stringValue!;
  if (Object.hasOwn(value, 'boolValue')) return value.boolValue!;
  if (Object.hasOwn(value, 'intValue')) return intAttribute(value.intValue!);
  if (Object.hasOwn(value, 'doubleValue')) return value.doubleValue!;
  if (value.arrayValue) {
    const items = value.arrayValue.values.map(anyValueOf);
    const scalar = items.every((item) => item === undefined || typeof item !== 'object');
    // The store writes arrays as JSON whatever their element types.
    return scalar ? (items.map((item) => item ?? null) as AttributeValue) : JSON.stringify(items);
  }
  if (value.kvlistValue) {
    return JSON.stringify(
      Object.fromEntries(value.kvlistValue.values.map(({ key, value: v }) => [key, anyValueOf(v) ?? null])),
    );
  }
  if (Object.hasOwn(value, 'bytesValue')) return Buffer.from(value.bytesValue!).toString('base64');
  return undefined;
}

function intAttribute(value: Int64): number | string {
  if (typeof value === 'number') return value;
  const number = int64ToNumber(value);
  return Number.isSafeInteger(number) ? number : int64Text(value);
}
