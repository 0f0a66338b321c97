/**
 * Drop-in: perfwatch as one more MetricReader of an existing `@opentelemetry/sdk-node` setup.
 * `@opentelemetry/instrumentation-http` records `http.server.request.duration`; the DuckDB reader
 * persists it next to whatever readers the service already has; then plain SQL answers "how slow
 * was each route?" from the history file.
 *
 *   npx tsx examples/drop-in-node-sdk.ts
 *   PERFWATCH_DB_PATH=/tmp/demo.duckdb EXAMPLE_REQUESTS=50 npx tsx examples/drop-in-node-sdk.ts
 */
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http';
import { NodeSDK } from '@opentelemetry/sdk-node';
// In your project: `from 'perfwatch'`.
import { DuckDbMetricReader, MetricStore } from '../src/index.js';

const dbPath = process.env.PERFWATCH_DB_PATH ?? './data/drop-in-example.duckdb';
const requests = Number(process.env.EXAMPLE_REQUESTS ?? 30);

// The reader could open the file itself (`{ path }`); handing it an open store lets this program
// query the history while the SDK runs (no other process may open the file meanwhile).
const store = await MetricStore.open(dbPath);
const duckDb = new DuckDbMetricReader({ store, collectionIntervalMillis: 10_000 });
const sdk = new NodeSDK({
  serviceName: 'drop-in-example',
  // Your existing readers (a PrometheusExporter, a PeriodicExportingMetricReader…) go here too.
  metricReaders: [duckDb],
  instrumentations: [new HttpInstrumentation()],
  // Metrics only: no tracer or logger provider, so nothing is exported anywhere else.
  spanProcessors: [],
  logRecordProcessors: [],
});
sdk.start();

// The instrumentation patches `http` when it is first required after sdk.start(): an ESM
// `import` at the top of this file would run before it. In a service, start the SDK in a file
// loaded first with `node --import ./telemetry.js`.
const http = createRequire(import.meta.url)('node:http') as typeof import('node:http');

const server = http.createServer((req, res) => {
  // Two routes with different costs, so the query below has something to tell apart.
  const slow = req.url === '/slow';
  setTimeout(() => res.end(slow ? 'slow\n' : 'fast\n'), slow ? 20 : 1);
});
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
const { port } = server.address() as AddressInfo;

for (let i = 0; i < requests; i++) {
  const response = await fetch(`http://127.0.0.1:${port}/${i % 3 === 0 ? 'slow' : 'fast'}`);
  await response.text();
}
await new Promise<void>((resolve) => server.close(() => resolve()));

// Collect now instead of waiting for the 10 s schedule: the points are committed when this resolves.
await duckDb.forceFlush();

// `otel_metrics_histogram` is shaped like the Collector's ClickHouse exporter table. The SDK's
// points are cumulative, so the latest point per series holds every request so far.
const rows = await store.query(
  `SELECT Attributes['http.request.method'] AS method,
          Attributes['http.response.status_code'] AS status,
          CAST(arg_max(Count, TimeUnix) AS INTEGER) AS requests,
          round(arg_max(Sum, TimeUnix) / arg_max(Count, TimeUnix) * 1000, 2) AS avg_ms,
          round(arg_max(Max, TimeUnix) * 1000, 2) AS max_ms
   FROM otel_metrics_histogram
   WHERE MetricName = 'http.server.request.duration' AND ServiceName = $service
   GROUP BY ALL ORDER BY method, status`,
  { service: 'drop-in-example' },
);
console.log(`http.server.request.duration in ${store.path}:`);
console.table(rows);

await sdk.shutdown();
await store.close();
