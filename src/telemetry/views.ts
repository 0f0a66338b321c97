import { AggregationType, type ViewOptions } from '@opentelemetry/sdk-metrics';

/** Bucket boundaries (seconds) the HTTP semantic conventions recommend for request durations. */
const HTTP_DURATION_BUCKETS: readonly number[] = [
  0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10,
];

/**
 * Views applied to every reader. Cardinality is limited per reader (each has a selector), so
 * one runaway attribute lands in the SDK's `otel.metric.overflow` series instead of memory.
 */
export function defaultViews(cardinalityLimit: number): ViewOptions[] {
  return ['http.server.request.duration', 'http.client.request.duration'].map((instrumentName) => ({
    instrumentName,
    aggregation: {
      type: AggregationType.EXPLICIT_BUCKET_HISTOGRAM,
      options: { boundaries: [...HTTP_DURATION_BUCKETS] },
    },
    aggregationCardinalityLimit: cardinalityLimit,
  }));
}
