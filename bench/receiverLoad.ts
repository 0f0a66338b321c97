/**
 * Load generator of the receiver benchmark, run in its own process (so on the other core): after a
 * warm-up request per client, keeps `clients` keep-alive connections busy sending pre-encoded
 * protobuf requests for `seconds`, then reports counts and request latencies to its parent over IPC.
 */
import { Agent } from 'node:http';
import { postProtobuf } from './postProtobuf.js';
import { atRound, receiverRequestBody } from './receiverRequestBody.js';

const [url, clientsText, secondsText, pointsText] = process.argv.slice(2);
const clients = Number(clientsText);
const seconds = Number(secondsText);
const pointsPerRequest = Number(pointsText);
const BODIES_PER_CLIENT = 16;

const agent = new Agent({ keepAlive: true, maxSockets: clients });
const target = new URL(url!);

function send(payload: Uint8Array): Promise<number> {
  return postProtobuf(target, payload, agent);
}

const bodies = Array.from({ length: clients }, (_, c) =>
  Array.from({ length: BODIES_PER_CLIENT }, (_, r) => receiverRequestBody(c, r + 1, pointsPerRequest)),
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
    // Each request a new collection: the pre-encoded body of round r % BODIES_PER_CLIENT + 1
    // moved to round r + 2 (the warm-up was round 1).
    const template = r % BODIES_PER_CLIENT;
    const status = await send(atRound(bodies[c]![template]!, template + 1, r + 2));
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
