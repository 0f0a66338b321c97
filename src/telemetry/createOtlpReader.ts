import { ExportResultCode } from '@opentelemetry/core';
import {
  PeriodicExportingMetricReader,
  type PushMetricExporter,
  type ResourceMetrics,
} from '@opentelemetry/sdk-metrics';
import type { Logger } from '../logging/Logger.js';
import { RateLimitedWarning } from '../logging/RateLimitedWarning.js';
import { WorkerThreadOtlpExporter } from './WorkerThreadOtlpExporter.js';

/**
 * A periodic OTLP/HTTP reader whose failures (Collector down, 5xx, timeouts) become one
 * rate-limited warning instead of an error per interval. Export runs on its own timer and over
 * HTTP asynchronously, so a dead endpoint never delays the DuckDB reader or the scrape endpoint;
 * the HTTP requests are made from a worker thread (WorkerThreadOtlpExporter says why).
 */
export function createOtlpReader(options: {
  url: string;
  headers: Readonly<Record<string, string>>;
  exportIntervalMillis: number;
  cardinalityLimit: number;
  logger: Logger;
}): PeriodicExportingMetricReader {
  // One bound for the whole export, retries included; the exporter's own default (10 s) would
  // otherwise keep a shutdown waiting on a dead Collector.
  const timeoutMillis = Math.min(options.exportIntervalMillis, 10_000);
  const exporter = new WorkerThreadOtlpExporter(
    {
      url: options.url,
      timeoutMillis,
      ...(Object.keys(options.headers).length > 0 ? { headers: { ...options.headers } } : {}),
    },
    options.logger,
  );
  return new PeriodicExportingMetricReader({
    exporter: new WarnOnFailureExporter(
      exporter,
      new RateLimitedWarning(options.logger, 60_000),
      options.url,
    ),
    exportIntervalMillis: options.exportIntervalMillis,
    exportTimeoutMillis: timeoutMillis,
    cardinalityLimits: { default: options.cardinalityLimit },
  });
}

class WarnOnFailureExporter implements PushMetricExporter {
  constructor(
    private readonly inner: WorkerThreadOtlpExporter,
    private readonly warning: RateLimitedWarning,
    private readonly url: string,
  ) {}

  export(metrics: ResourceMetrics, resultCallback: Parameters<PushMetricExporter['export']>[1]): void {
    this.inner.export(metrics, (result) => {
      if (result.code !== ExportResultCode.SUCCESS) {
        this.warning.warn(
          { url: this.url, err: result.error },
          'OTLP metric export failed; will retry on the next interval',
        );
      }
      resultCallback(result);
    });
  }

  forceFlush(): Promise<void> {
    return this.inner.forceFlush();
  }

  shutdown(): Promise<void> {
    return this.inner.shutdown();
  }

  selectAggregationTemporality: PushMetricExporter['selectAggregationTemporality'] = (instrumentType) =>
    this.inner.selectAggregationTemporality(instrumentType);

  selectAggregation: PushMetricExporter['selectAggregation'] = (instrumentType) =>
    this.inner.selectAggregation(instrumentType);
}
