import type { InstrumentationScope } from '@opentelemetry/core';
import type { Resource } from '@opentelemetry/resources';
import type { DataPoint, MetricData, MetricDescriptor } from '@opentelemetry/sdk-metrics';

/**
 * One summary point (count, sum and quantiles, as other SDKs and Prometheus produce them). The
 * JS SDK has no summary aggregation, so only OTLP received by `perfwatch serve` carries these.
 */
export interface SummaryValue {
  readonly count: number;
  readonly sum: number;
  /** Quantiles in [0, 1], parallel to `values`. */
  readonly quantiles: readonly number[];
  readonly values: readonly number[];
}

/** A summary metric: the one OTLP data type the SDK's `MetricData` union does not have. */
export interface SummaryMetricData {
  readonly dataPointType: 'summary';
  readonly descriptor: MetricDescriptor;
  readonly dataPoints: DataPoint<SummaryValue>[];
}

export type StoredMetricData = MetricData | SummaryMetricData;

/**
 * What the store writes: the SDK's `ResourceMetrics` (every SDK collection is one), widened by
 * summary metrics for data received over OTLP.
 */
export interface StoredResourceMetrics {
  readonly resource: Resource;
  readonly scopeMetrics: readonly {
    readonly scope: InstrumentationScope;
    readonly metrics: readonly StoredMetricData[];
  }[];
}
