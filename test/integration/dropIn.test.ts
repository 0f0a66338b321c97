import { PrometheusExporter } from '@opentelemetry/exporter-prometheus';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import { afterEach, describe, expect, it } from 'vitest';
import { DuckDbMetricReader } from '../../src/reader/DuckDbMetricReader.js';
import { PrometheusEndpoint } from '../../src/telemetry/PrometheusEndpoint.js';
import { tempDir } from '../helpers/tempDir.js';

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

describe('drop-in: one more reader in an existing OTel setup', () => {
  it('the DuckDB reader and a Prometheus reader on one MeterProvider see the same metrics', async () => {
    const dir = await tempDir();
    cleanups.push(dir.cleanup);
    const duckDb = new DuckDbMetricReader({ path: dir.file('h.duckdb'), collectionIntervalMillis: 0 });
    const prometheus = new PrometheusEndpoint({ cardinalityLimit: 2000 });
    const provider = new MeterProvider({
      resource: resourceFromAttributes({ 'service.name': 'payments' }),
      readers: [prometheus.exporter, duckDb],
    });
    cleanups.push(() => provider.shutdown());
    const { url } = await prometheus.listen('127.0.0.1', 0);
    cleanups.push(() => prometheus.close());

    const requests = provider
      .getMeter('payments')
      .createCounter('payments.requests', { description: 'requests served' });
    requests.add(7, { method: 'POST' });
    await duckDb.forceFlush();

    const scraped = await (await fetch(url)).text();
    expect(scraped).toMatch(/^payments_requests_total\{method="POST",.*\} 7$/m);
    expect(scraped).toMatch(/target_info\{service_name="payments"/);
    const stored = await (await duckDb.ready()).query(
      `SELECT Value AS value, Attributes AS attrs, ServiceName AS service FROM otel_metrics_sum WHERE MetricName = 'payments.requests'`,
    );
    expect(stored).toEqual([{ value: 7, attrs: { method: 'POST' }, service: 'payments' }]);
  });

  it('the stock PrometheusExporter still works next to the DuckDB reader', async () => {
    const dir = await tempDir();
    cleanups.push(dir.cleanup);
    const exporter = new PrometheusExporter({ host: '127.0.0.1', port: 0, preventServerStart: true });
    const duckDb = new DuckDbMetricReader({ path: dir.file('h.duckdb'), collectionIntervalMillis: 0 });
    const provider = new MeterProvider({ readers: [exporter, duckDb] });
    cleanups.push(() => provider.shutdown());
    provider.getMeter('m').createGauge('queue.length').record(4);
    const collected = await exporter.collect();
    await duckDb.forceFlush();
    const gaugeNames = collected.resourceMetrics.scopeMetrics.flatMap((s) =>
      s.metrics.map((m) => m.descriptor.name),
    );
    expect(gaugeNames).toContain('queue.length');
    const stored = await (await duckDb.ready()).query(
      `SELECT Value AS value FROM otel_metrics_gauge WHERE MetricName = 'queue.length'`,
    );
    expect(stored).toEqual([{ value: 4 }]);
  });
});
