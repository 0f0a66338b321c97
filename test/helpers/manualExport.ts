import type { ExportResultCode } from '@opentelemetry/core';
import { MetricReader, type PushMetricExporter, type ResourceMetrics } from '@opentelemetry/sdk-metrics';

/** A reader a test collects from by hand, so the exact SDK output can be compared with the file. */
export class ManualReader extends MetricReader {
  protected override async onShutdown(): Promise<void> {}
  protected override async onForceFlush(): Promise<void> {}
}

/** One export through `exporter`, resolved with its result. */
export function exportWith(
  exporter: PushMetricExporter,
  metrics: ResourceMetrics,
): Promise<{ code: ExportResultCode; error?: Error }> {
  return new Promise((resolve) => exporter.export(metrics, resolve));
}
