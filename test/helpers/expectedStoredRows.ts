import type { Attributes, HrTime } from '@opentelemetry/api';
import {
  AggregationTemporality,
  DataPointType,
  type ExponentialHistogram,
  type Histogram,
  type ResourceMetrics,
} from '@opentelemetry/sdk-metrics';

/**
 * What the history must hold for an SDK collection, worked out from the OTel data model alone
 * (not from perfwatch's code), so a conformance test compares the file with what was sent.
 * Attribute values are stored as text: strings as they are, everything else as JSON; times in
 * microseconds, truncated from the wire's nanoseconds.
 */
export interface ExpectedRows {
  readonly numbers: Record<string, unknown>[];
  readonly histograms: Record<string, unknown>[];
  readonly exponential: Record<string, unknown>[];
}

/** How the wire changes a value: OTLP/JSON writes -0 as 0 (JSON.stringify), protobuf keeps its sign. */
export type WireEncoding = 'json' | 'protobuf';

export function micros(time: HrTime): bigint {
  return BigInt(time[0]) * 1_000_000n + BigInt(Math.trunc(time[1] / 1000));
}

export function storedAttributes(attributes: Attributes): Record<string, string> {
  const out: Record<string, string> = {};
  for (const key of Object.keys(attributes).sort()) {
    const value = attributes[key];
    if (value === undefined || value === null) continue;
    out[key] = typeof value === 'string' ? value : JSON.stringify(value);
  }
  return out;
}

function onTheWire(value: number, encoding: WireEncoding): number {
  return encoding === 'json' && Object.is(value, -0) ? 0 : value;
}

function statistic(value: number | undefined, encoding: WireEncoding): number | null {
  return value === undefined ? null : onTheWire(value, encoding);
}

export function expectedRows(collections: readonly ResourceMetrics[], encoding: WireEncoding): ExpectedRows {
  const rows: ExpectedRows = { numbers: [], histograms: [], exponential: [] };
  for (const { resource, scopeMetrics } of collections) {
    const resourceAttrs = storedAttributes(resource.attributes);
    for (const { scope, metrics } of scopeMetrics) {
      for (const metric of metrics) {
        const series = {
          metric_name: metric.descriptor.name,
          unit: metric.descriptor.unit,
          description: metric.descriptor.description,
          service_name: resource.attributes['service.name'],
          resource_attrs: resourceAttrs,
          scope_name: scope.name,
          scope_version: scope.version ?? null,
        };
        const temporality =
          metric.aggregationTemporality === AggregationTemporality.DELTA ? 'delta' : 'cumulative';
        for (const point of metric.dataPoints) {
          const common = {
            ...series,
            attrs: storedAttributes(point.attributes),
            start_us: micros(point.startTime),
            time_us: micros(point.endTime),
          };
          switch (metric.dataPointType) {
            case DataPointType.GAUGE:
              rows.numbers.push({
                ...common,
                kind: 'gauge',
                temporality: null,
                monotonic: null,
                value: onTheWire(point.value as number, encoding),
              });
              break;
            case DataPointType.SUM:
              rows.numbers.push({
                ...common,
                kind: 'sum',
                temporality,
                monotonic: metric.isMonotonic,
                value: onTheWire(point.value as number, encoding),
              });
              break;
            case DataPointType.HISTOGRAM: {
              const value = point.value as Histogram;
              rows.histograms.push({
                ...common,
                temporality,
                count: BigInt(value.count),
                sum: statistic(value.sum, encoding),
                min: statistic(value.min, encoding),
                max: statistic(value.max, encoding),
                bounds: value.buckets.boundaries,
                counts: value.buckets.counts.map(BigInt),
              });
              break;
            }
            case DataPointType.EXPONENTIAL_HISTOGRAM: {
              const value = point.value as ExponentialHistogram;
              rows.exponential.push({
                ...common,
                temporality,
                count: BigInt(value.count),
                sum: statistic(value.sum, encoding),
                min: statistic(value.min, encoding),
                max: statistic(value.max, encoding),
                scale: value.scale,
                zero_count: BigInt(value.zeroCount),
                // The SDK has no zero threshold: the exporters leave the field out, so it reads 0.
                zero_threshold: 0,
                positive_offset: value.positive.offset,
                positive_counts: value.positive.bucketCounts.map(BigInt),
                negative_offset: value.negative.offset,
                negative_counts: value.negative.bucketCounts.map(BigInt),
              });
              break;
            }
          }
        }
      }
    }
  }
  return rows;
}
