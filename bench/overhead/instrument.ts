import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { OTLPMetricExporter } from '@opentelemetry/exporter-metrics-otlp-http';
import { PrometheusExporter } from '@opentelemetry/exporter-prometheus';
import { type IMetricReader, MeterProvider, PeriodicExportingMetricReader } from '@opentelemetry/sdk-metrics';
import { collectDefaultMetrics, Histogram, Registry } from 'prom-client';
import { startPerfWatch } from '../../src/index.js';

export const VARIANTS = [
  'bare',
  'prom-client',
  'otel-sdk',
  'otel-sdk-otlp',
  'perfwatch',
  'perfwatch-no-otlp',
] as const;
export type Variant = (typeof VARIANTS)[number];

/** What a variant adds to the server: a per-request record call and a scrape endpoint. */
export interface Instrumentation {
  /** Called once per request with its duration in seconds. */
  record(seconds: number, method: string, route: string, status: number): void;
  /** Scrape URL, or undefined for the bare server. */
  scrapeUrl: string | undefined;
  shutdown(): Promise<void>;
}

/** The semantic conventions' buckets for http.server.request.duration, for every variant alike. */
const BOUNDARIES = [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10];

export async function instrument(variant: Variant, otlpUrl: string): Promise<Instrumentation> {
  switch (variant) {
    case 'bare':
      return { record: () => {}, scrapeUrl: undefined, shutdown: async () => {} };
    case 'prom-client':
      return promClient();
    case 'otel-sdk':
      return otelSdk();
    case 'otel-sdk-otlp':
      return otelSdk(otlpUrl);
    case 'perfwatch':
      return perfwatch(otlpUrl);
    case 'perfwatch-no-otlp':
      return perfwatch(undefined);
  }
}

async function promClient(): Promise<Instrumentation> {
  // Its own registry, not the global default one.
  const register = new Registry();
  collectDefaultMetrics({ register });
  const histogram = new Histogram({
    name: 'http_server_request_duration_seconds',
    help: 'Duration of HTTP server requests.',
    labelNames: ['http_request_method', 'http_route', 'http_response_status_code'],
    buckets: BOUNDARIES,
    registers: [register],
  });
  const server = await listen(async (_req, res) => {
    res.setHeader('content-type', register.contentType);
    res.end(await register.metrics());
  });
  return {
    record: (seconds, method, route, status) =>
      histogram.observe(
        { http_request_method: method, http_route: route, http_response_status_code: status },
        seconds,
      ),
    scrapeUrl: url(server),
    shutdown: () => close(server),
  };
}

/**
 * What an OTel user already pays: the SDK, the Prometheus exporter, one histogram; with `otlpUrl`,
 * also the SDK's OTLP/HTTP exporter every 10 s, as perfwatch pushes to a Collector.
 */
async function otelSdk(otlpUrl?: string): Promise<Instrumentation> {
  const exporter = new PrometheusExporter({ preventServerStart: true });
  const readers: IMetricReader[] = [exporter];
  if (otlpUrl !== undefined) {
    readers.push(
      new PeriodicExportingMetricReader({
        exporter: new OTLPMetricExporter({ url: `${otlpUrl}/v1/metrics` }),
        exportIntervalMillis: 10_000,
      }),
    );
  }
  const provider = new MeterProvider({ readers });
  const histogram = provider.getMeter('bench').createHistogram('http.server.request.duration', {
    unit: 's',
    advice: { explicitBucketBoundaries: BOUNDARIES },
  });
  // The exporter's own server cannot listen on port 0; its handler behind ours can.
  const server = await listen((req, res) => exporter.getMetricsRequestHandler(req, res));
  return {
    record: (seconds, method, route, status) =>
      histogram.record(seconds, {
        'http.request.method': method,
        'http.route': route,
        'http.response.status_code': status,
      }),
    scrapeUrl: url(server),
    shutdown: async () => {
      await close(server);
      await provider.shutdown();
    },
  };
}

/**
 * Everything perfwatch runs by default, plus OTLP to a loopback sink unless `otlpUrl` is
 * undefined (the default when no endpoint is configured); DuckDB every 10 s.
 */
async function perfwatch(otlpUrl: string | undefined): Promise<Instrumentation> {
  const pw = await startPerfWatch({
    serviceName: 'overhead-bench',
    dbPath: join(tmpdir(), `perfwatch-overhead-${process.pid}.duckdb`),
    collectionIntervalMillis: 10_000,
    prometheusPort: 0,
    ...(otlpUrl === undefined ? {} : { otlpEndpoint: otlpUrl }),
    logLevel: 'warn',
  });
  const histogram = pw.meter.createHistogram('http.server.request.duration', { unit: 's' });
  return {
    record: (seconds, method, route, status) =>
      histogram.record(seconds, {
        'http.request.method': method,
        'http.route': route,
        'http.response.status_code': status,
      }),
    scrapeUrl: pw.prometheusUrl,
    shutdown: () => pw.shutdown(),
  };
}

async function listen(handler: Parameters<typeof createServer>[1]): Promise<Server> {
  const server = createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return server;
}

function url(server: Server): string {
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/metrics`;
}

function close(server: Server): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}
