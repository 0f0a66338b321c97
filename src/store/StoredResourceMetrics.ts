import type { InstrumentationScope } from '@opentelemetry/core';
import type { Resource } from '@opentelemetry/resources';
import type {
  AggregationTemporality,
  DataPoint,
  DataPointType,
  ExponentialHistogram,
  Histogram,
  MetricData,
  MetricDescriptor,
} from '@opentelemetry/sdk-metrics';

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

/**
 * A metric's points column-wise, index i of every array being point i: what the OTLP receiver
 * builds instead of an SDK DataPoint (and an attributes object) per point, so a received point
 * costs a few array slots rather than three objects that live until its transaction commits.
 */
export interface PointColumns<T> {
  /** The point's attribute set as its lookup key (SeriesCatalog's attributesKey). */
  readonly attributeKeys: readonly string[];
  /** Start time in µs since the epoch; null when the point has none. */
  readonly startMicros: readonly (bigint | null)[];
  /** Time in µs since the epoch. */
  readonly timeMicros: readonly bigint[];
  readonly values: readonly T[];
}

interface ColumnarBase {
  readonly descriptor: MetricDescriptor;
  readonly aggregationTemporality: AggregationTemporality;
}

/** One received metric with PointColumns instead of dataPoints (the type tells the value type). */
export type ColumnarMetricData =
  | (ColumnarBase & { readonly dataPointType: DataPointType.GAUGE; readonly columns: PointColumns<number> })
  | (ColumnarBase & {
      readonly dataPointType: DataPointType.SUM;
      readonly isMonotonic: boolean;
      readonly columns: PointColumns<number>;
    })
  | (ColumnarBase & {
      readonly dataPointType: DataPointType.HISTOGRAM;
      readonly columns: PointColumns<Histogram>;
    })
  | (ColumnarBase & {
      readonly dataPointType: DataPointType.EXPONENTIAL_HISTOGRAM;
      readonly columns: PointColumns<ExponentialHistogram>;
    })
  | {
      readonly dataPointType: 'summary';
      readonly descriptor: MetricDescriptor;
      readonly columns: PointColumns<SummaryValue>;
    };

export type StoredMetricData = MetricData | SummaryMetricData | ColumnarMetricData;

/**
 * What the store writes: the SDK's `ResourceMetrics` (every SDK collection is one), widened by
 * summary metrics and column-wise metrics for data received over OTLP.
 */
export interface StoredResourceMetrics {
  readonly resource: Resource;
  readonly scopeMetrics: readonly {
    readonly scope: InstrumentationScope;
    readonly metrics: readonly StoredMetricData[];
  }[];
}
