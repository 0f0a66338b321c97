import type { HrTime } from '@opentelemetry/api';
import { type MetricData, MetricReader, type ResourceMetrics } from '@opentelemetry/sdk-metrics';

/**
 * A MetricReader whose collections are stamped with a time the caller chooses.
 *
 * Regression detection needs minutes to hours of history (a change must hold 5 one-minute
 * points). To show it in seconds, the service example collects its real histogram once per batch
 * of real requests and stamps each collection as one minute later than the last, ending in the
 * recent past. Only the timestamps are chosen: counts, sums and buckets are what the SDK recorded.
 */
export class BackdatingReader extends MetricReader {
  /** Collects now; every point gets `startTime` and `endTime` instead of the SDK's clock. */
  async collectAt(startTime: Date, endTime: Date): Promise<ResourceMetrics> {
    const { resourceMetrics, errors } = await this.collect();
    if (errors.length > 0) throw errors[0];
    const start = toHrTime(startTime);
    const end = toHrTime(endTime);
    return {
      resource: resourceMetrics.resource,
      scopeMetrics: resourceMetrics.scopeMetrics.map((scope) => ({
        scope: scope.scope,
        metrics: scope.metrics.map(
          (metric) =>
            ({
              ...metric,
              dataPoints: metric.dataPoints.map((point) => ({ ...point, startTime: start, endTime: end })),
            }) as MetricData,
        ),
      })),
    };
  }

  protected override async onForceFlush(): Promise<void> {}
  protected override async onShutdown(): Promise<void> {}
}

function toHrTime(time: Date): HrTime {
  const millis = time.getTime();
  return [Math.floor(millis / 1000), (millis % 1000) * 1_000_000];
}
