/**
 * Load generator of the receiver benchmark, run in its own process (so on the other core): after a
 * warm-up request per client, keeps `clients` keep-alive connections busy sending pre-encoded
 * protobuf requests for `seconds`, then reports counts and request latencies to its parent over IPC.
 */
import { Agent, request } from 'node:http';
import { ExportMetricsServiceRequest } from '../src/receiver/otlpMetricsSchema.js';

const [url, clientsText, secondsText, pointsText] = process.argv.slice(2);
const clients = Number(clientsText);
const seconds = Number(secondsText);
const pointsPerRequest = Number(pointsText);
const BODIES_PER_CLIENT = 16;
const BOUNDS = [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10];
const START_NANOS = 1_790_000_000n * 1_000_000_000n;

/** One request: a tenth histograms, the rest half gauges, half monotonic counters. */
function body(client: number, round: number): Uint8Array {
  const time = String(START_NANOS + BigInt(round) * 10_000_000_000n);
  const start = String(START_NANOS);
  const histograms = Math.floor(pointsPerRequest / 10);
  const numbers = pointsPerRequest - histograms;
  const attrs = (i: number) => [{ key: 'shard', value: { stringValue: String(i) } }];
  const numberPoints = (n: number, offset: number) =>
    Array.from({ length: n }, (_, i) => ({
      attributes: attrs(i),
      startTimeUnixNano: start,
      timeUnixNano: time,
      asDouble: round * 10 + ((i + offset) % 17),
    }));
  return ExportMetricsServiceRequest.encode(
    ExportMetricsServiceRequest.fromObject({
      resourceMetrics: [
        {
          resource: {
            attributes: [
              { key: 'service.name', value: { stringValue: 'bench' } },
              { key: 'service.instance.id', value: { stringValue: `client-${client}` } },
            ],
          },
          scopeMetrics: [
            {
              scope: { name: 'bench', version: '1.0.0' },
              metrics: [
                {
                  name: 'bench.gauge',
                  unit: 'ms',
                  gauge: { dataPoints: numberPoints(Math.floor(numbers / 2), 0) },
                },
                {
                  name: 'bench.counter',
                  sum: {
                    aggregationTemporality: 2,
                    isMonotonic: true,
                    dataPoints: numberPoints(numbers - Math.floor(numbers / 2), 3),
                  },
                },
                {
                  name: 'http.server.request.duration',
                  unit: 's',
                  histogram: {
                    aggregationTemporality: 2,
                    dataPoints: Array.from({ length: histograms }, (_, i) => {
                      const counts = [...BOUNDS.map((_, b) => round * ((b + i) % 5)), round];
                      return {
                        attributes: attrs(i),
                        startTimeUnixNano: start,
                        timeUnixNano: time,
                        count: counts.reduce((a, b) => a + b, 0),
                        sum: round * 1.5,
                        bucketCounts: counts,
                        explicitBounds: BOUNDS,
                      };
                    }),
                  },
                },
              ],
            },
          ],
        },
      ],
    }),
  ).finish();
}

const agent = new Agent({ keepAlive: true, maxSockets: clients });
const target = new URL(url!);

function send(payload: Uint8Array): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        agent,
        host: target.hostname,
        port: target.port,
        path: target.pathname,
        method: 'POST',
        headers: { 'Content-Type': 'application/x-protobuf', 'Content-Length': payload.byteLength },
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

const bodies = Array.from({ length: clients }, (_, c) =>
  Array.from({ length: BODIES_PER_CLIENT }, (_, r) => body(c, r + 1)),
);
// Warm-up, not measured: the first request of each client creates its series (hashing and
// inserting a series row costs far more than a point), which a long-running receiver did long ago.
for (let c = 0; c < clients; c++) await send(bodies[c]![0]!);

const latencies: number[] = [];
const statuses = new Map<number, number>();
const deadline = performance.now() + seconds * 1000;

async function client(c: number): Promise<void> {
  for (let r = 0; performance.now() < deadline; r++) {
    const started = performance.now();
    const status = await send(bodies[c]![r % BODIES_PER_CLIENT]!);
    latencies.push(performance.now() - started);
    statuses.set(status, (statuses.get(status) ?? 0) + 1);
  }
}

const started = performance.now();
const cpuBefore = process.cpuUsage();
await Promise.all(Array.from({ length: clients }, (_, c) => client(c)));
const elapsed = (performance.now() - started) / 1000;
const cpu = process.cpuUsage(cpuBefore);
latencies.sort((a, b) => a - b);
const quantile = (q: number) =>
  latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? 0;
process.send!({
  elapsed,
  accepted: statuses.get(200) ?? 0,
  statuses: Object.fromEntries(statuses),
  p50: quantile(0.5),
  p99: quantile(0.99),
  max: latencies.at(-1) ?? 0,
  cpuSeconds: (cpu.user + cpu.system) / 1e6,
});
agent.destroy();
