/**
 * A small node:http service under generated load, monitored by perfwatch: request metrics, an
 * alert that fires, and a regression found after a deploy that made it slower. (The original
 * system's "full integration demo"; node:http because perfwatch depends on no web framework — the
 * same histogram is what Express or Fastify instrumentation records.)
 *
 *   npx tsx examples/node-http-service.ts
 *   PERFWATCH_DB_PATH=/tmp/svc.duckdb EXAMPLE_REQUESTS_PER_MINUTE=20 npx tsx examples/node-http-service.ts
 *
 * Two parts, both real requests through the real SDK histogram into the same store writer:
 * 1. The last 45 minutes, replayed: regression detection needs minutes of history, so each batch
 *    of requests is collected as one minute (see support/BackdatingReader.ts). After 30 minutes,
 *    version 1.1.0 is deployed with an injected slowdown (an extra 10–40 ms downstream call).
 * 2. Live: version 1.1.0 keeps serving load while perfwatch collects every second, evaluates the
 *    alert rule after each collection and serves the Prometheus endpoint. Then a regression cycle.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { createNoopMeter, type Histogram, type Meter } from '@opentelemetry/api';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
// In your project: `from 'perfwatch'`.
import { listDeployVerdicts, listRegressions, queryTimeSeries, startPerfWatch } from '../src/index.js';
import { BackdatingReader } from './support/BackdatingReader.js';

const SERVICE = 'checkout-example';
const dbPath = resolve(process.env.PERFWATCH_DB_PATH ?? './data/service-example.duckdb');
const requestsPerMinute = Number(process.env.EXAMPLE_REQUESTS_PER_MINUTE ?? 40);
const BASELINE_MINUTES = 30;
const SLOW_MINUTES = 15;
const LIVE_ROUNDS_MAX = 20;
const MINUTE = 60_000;
/** The semantic conventions' buckets for http.server.request.duration (perfwatch's view uses them too). */
const BOUNDARIES = [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10];

// --- the service ------------------------------------------------------------------------------
// Unrecorded until part 1 starts: the warm-up's JIT compilation is not the service's latency.
let histogram: Histogram = createNoopMeter().createHistogram('warm-up');
/** The downstream call takes `base` plus up to `spread` ms: latencies vary as real ones do. */
let downstream = { base: 1, spread: 6 };
const server = createServer((req, res) => {
  const started = performance.now();
  res.on('finish', () =>
    histogram.record((performance.now() - started) / 1000, {
      'http.request.method': req.method ?? 'GET',
      'http.route': '/checkout',
      'http.response.status_code': res.statusCode,
    }),
  );
  // A downstream call (database, another service) stands in for the handler's work.
  delay(downstream.base + Math.random() * downstream.spread).then(() => res.end('ok\n'));
});
await new Promise<void>((ready) => server.listen(0, '127.0.0.1', ready));
const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/checkout`;

function requestDuration(meter: Meter): Histogram {
  return meter.createHistogram('http.server.request.duration', {
    unit: 's',
    description: 'Duration of HTTP server requests.',
    advice: { explicitBucketBoundaries: BOUNDARIES },
  });
}

/** The load generator: `count` requests, 4 at a time. */
async function load(count: number): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next++ < count) await (await fetch(url)).text();
  };
  await Promise.all([worker(), worker(), worker(), worker()]);
}

// --- perfwatch, with one alert rule (the format of `--rules FILE`, see README "Alerts") ---------
const rulesPath = join(dirname(dbPath), 'service-example-rules.yaml');
await mkdir(dirname(rulesPath), { recursive: true });
await writeFile(
  rulesPath,
  `rules:
  - name: CheckoutLatencyHigh
    description: p95 request duration of the checkout service above 20 ms.
    selector: { metric: http.server.request.duration, service: ${SERVICE} }
    aggregation: p95
    window: 5s
    comparison: '>'
    threshold: 0.02
    severity: warning
    annotations:
      summary: 'checkout p95 is {{ $value }} s'
`,
);
const pw = await startPerfWatch({
  serviceName: SERVICE,
  resourceAttributes: { 'service.version': '1.1.0' },
  dbPath,
  collectionIntervalMillis: 1_000,
  prometheusPort: 0,
  alertRulesPath: rulesPath,
  defaultAlertRules: false,
  // Cycles are run explicitly below; the replayed history is the last half hour.
  regressionIntervalMinutes: 0,
  regressionLookbackHours: 1,
  hostMetrics: false,
  logLevel: 'warn',
});

await load(100);

// --- part 1: the last 45 minutes, replayed ------------------------------------------------------
const historyStart =
  Math.floor(Date.now() / MINUTE) * MINUTE - (BASELINE_MINUTES + SLOW_MINUTES + 1) * MINUTE;
for (const [version, first, minutes, extra] of [
  ['1.0.0', 0, BASELINE_MINUTES, 0],
  ['1.1.0', BASELINE_MINUTES, SLOW_MINUTES, 10],
] as const) {
  // A deploy is a new process: a new provider (resource with the version), counts from zero.
  const reader = new BackdatingReader();
  const provider = new MeterProvider({
    resource: resourceFromAttributes({ 'service.name': SERVICE, 'service.version': version }),
    readers: [reader],
  });
  histogram = requestDuration(provider.getMeter('checkout'));
  downstream = extra === 0 ? { base: 1, spread: 6 } : { base: 1 + extra, spread: 36 };
  const processStart = new Date(historyStart + first * MINUTE);
  for (let minute = first; minute < first + minutes; minute++) {
    await load(requestsPerMinute);
    const collection = await reader.collectAt(processStart, new Date(historyStart + (minute + 1) * MINUTE));
    await pw.store.writeCollection(collection);
  }
  await provider.shutdown();
}
console.log(
  `replayed ${BASELINE_MINUTES + SLOW_MINUTES} minutes x ${requestsPerMinute} requests; slowdown injected with 1.1.0`,
);

const p95 = await queryTimeSeries(pw.store, {
  metric: 'http.server.request.duration',
  from: new Date(historyStart),
  to: new Date(historyStart + (BASELINE_MINUTES + SLOW_MINUTES) * MINUTE),
  stepSeconds: 300,
  aggregation: 'p95',
  where: { 'service.name': SERVICE },
});
const values = p95.series[0]?.values ?? [];
console.log(
  `http.server.request.duration p95 per 5 min (ms): ${values.map((v) => (v === null ? '-' : (v * 1000).toFixed(1))).join(' ')}`,
);

// --- part 2: live, collected every second --------------------------------------------------------
histogram = requestDuration(pw.meter);
let firing: string | undefined;
for (let round = 0; round < LIVE_ROUNDS_MAX && firing === undefined; round++) {
  await load(requestsPerMinute);
  // One collection written and the rules evaluated over it when this resolves.
  await pw.forceFlush();
  const alert = pw.alerts?.statuses().find((s) => s.rule === 'CheckoutLatencyHigh' && s.state === 'firing');
  if (alert) firing = `alert ${alert.rule} firing (${alert.severity}): p95 = ${alert.value?.toFixed(4)} s`;
}
console.log(firing ?? `alert CheckoutLatencyHigh did not fire within ${LIVE_ROUNDS_MAX} collections`);

const scrape = await (await fetch(`${pw.prometheusUrl}`)).text();
const countLine = scrape.split('\n').find((line) => line.startsWith('http_server_request_duration_count'));
console.log(`prometheus: ${countLine}`);

const cycle = await pw.regressions.runCycle();
console.log(`regression cycle: ${cycle.seriesAnalysed} series analysed, ${cycle.opened} opened`);
const records = await listRegressions(pw.store, { service: SERVICE, kind: 'regression' });
for (const record of records)
  console.log(`${record.severity.toUpperCase()} ${record.kind}: ${record.explanation}`);
if (records.length === 0)
  console.log('no change point recorded in this cycle; the deploy verdict compares the versions:');
for (const verdict of await listDeployVerdicts(pw.store)) {
  console.log(`deploy ${verdict.versionBefore} → ${verdict.versionAfter}: ${verdict.summary}`);
}

await pw.shutdown();
await new Promise<void>((closed) => server.close(() => closed()));
