/**
 * Monitoring overhead (`npm run bench:overhead`): requests/s, p99 latency and server CPU per 10k
 * requests of one HTTP server per variant — bare; prom-client (default metrics + a request
 * histogram); the OTel SDK + Prometheus exporter + the same histogram; full perfwatch (host and
 * runtime metrics, default alert rules, DuckDB every 10 s, Prometheus, OTLP to a loopback sink) —
 * each scraped every 5 s, on a trivial (~15 µs) and a realistic (~1 ms) handler.
 *
 * Variants are interleaved per round (rotated, so none always runs first on a machine whose load
 * drifts) and ratios are medians of per-round ratios. The server runs on one core, the load
 * generator (autocannon, in this process), scraper and sink on another (taskset), when there are two.
 *
 * Each server gets OVERHEAD_WARMUP_SECONDS (default 12) of load before its first measured window.
 * OVERHEAD_ROUNDS (default 2), OVERHEAD_SECONDS per handler and round (default 10: one DuckDB
 * collection and two scrapes fall in each window), OVERHEAD_CONNECTIONS (default 16). For a quick
 * look, OVERHEAD_HANDLERS (e.g. `trivial`) and OVERHEAD_VARIANTS (e.g. `otel-sdk,perfwatch`; bare
 * and otel-sdk are always kept, as the ratios' references) narrow the run.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { availableParallelism } from 'node:os';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { VARIANTS, type Variant } from './overhead/instrument.js';
import { processCpuMillis } from './overhead/processCpu.js';
import { median } from './stats.js';

const ROUNDS = Number(process.env.OVERHEAD_ROUNDS ?? 2);
const SECONDS = Number(process.env.OVERHEAD_SECONDS ?? 10);
const CONNECTIONS = Number(process.env.OVERHEAD_CONNECTIONS ?? 16);
/**
 * Load before each measured window, long enough for every variant's start-up work to be done:
 * perfwatch's first collection (10 s after start: DuckDB writes, the first alert evaluation
 * matching the rules' series) and the first scrapes, with the JIT compilation of each. A running
 * service pays those once; the overhead it lives with is the steady state measured after.
 * `OVERHEAD_WARMUP_SECONDS` changes it.
 */
const WARMUP_SECONDS = Number(process.env.OVERHEAD_WARMUP_SECONDS ?? 12);
const SCRAPE_INTERVAL_MILLIS = 5_000;
const ALL_HANDLERS = ['trivial', 'realistic'] as const;
type Handler = (typeof ALL_HANDLERS)[number];
const HANDLERS = listEnv('OVERHEAD_HANDLERS', ALL_HANDLERS, []);
const MEASURED = listEnv('OVERHEAD_VARIANTS', VARIANTS, ['bare', 'otel-sdk']);

/** A comma-separated subset of `all` from the environment (plus `always`), in `all`'s order. */
function listEnv<T extends string>(name: string, all: readonly T[], always: readonly T[]): readonly T[] {
  const text = process.env[name];
  if (text === undefined || text.trim() === '') return all;
  const wanted = new Set(text.split(',').map((item) => item.trim()));
  for (const item of wanted) {
    if (!all.includes(item as T))
      throw new Error(`${name}: unknown ${JSON.stringify(item)}; use ${all.join(', ')}`);
  }
  return all.filter((item) => wanted.has(item) || always.includes(item));
}

const pinned = availableParallelism() >= 2 && spawnSync('taskset', ['-V']).status === 0;
/** The server gets core 1; this process (load generator, scraper, OTLP sink) core 0. */
const pin = (core: number, argv: string[]) => (pinned ? ['taskset', '-c', String(core), ...argv] : argv);
if (pinned) spawnSync('taskset', ['-p', '-c', '0', String(process.pid)], { stdio: 'ignore' });

const script = (name: string) => fileURLToPath(new URL(`./overhead/${name}`, import.meta.url));

/** Stands in for a Collector: accepts every OTLP export (an empty protobuf response is valid). */
let otlpExports = 0;
const sink = createServer((req, res) => {
  req.resume().on('end', () => {
    otlpExports++;
    res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end();
  });
});
await new Promise<void>((resolve) => sink.listen(0, '127.0.0.1', resolve));
const sinkUrl = `http://127.0.0.1:${(sink.address() as AddressInfo).port}`;

interface Sample {
  round: number;
  variant: Variant;
  handler: Handler;
  requestsPerSecond: number;
  p99Millis: number;
  cpuMillisPer10k: number;
  errors: number;
}

function start(argv: string[]): ChildProcess {
  const [command, ...args] = argv;
  return spawn(command!, args, { stdio: ['ignore', 'pipe', 'inherit'] });
}

async function firstLine(child: ChildProcess): Promise<string> {
  const lines = createInterface({ input: child.stdout! });
  const exited = once(child, 'exit').then(([code]) => {
    throw new Error(`process exited (${code}) before printing a line`);
  });
  const line = Promise.race([once(lines, 'line').then(([text]) => text as string), exited]);
  return line.finally(() => lines.close());
}

/** autocannon in this process: one spawn less per run, and it is not the measured server. */
async function runLoad(url: string, seconds: number) {
  const result = await autocannon({ url, duration: seconds, connections: CONNECTIONS, pipelining: 1 });
  return {
    requests: result.requests.total,
    requestsPerSecond: result.requests.average,
    p99Millis: result.latency.p99,
    errors: result.errors + result.timeouts + result.non2xx,
  };
}

async function measureVariant(variant: Variant, round: number): Promise<Sample[]> {
  const server = start(pin(1, [process.execPath, '--import', 'tsx', script('server.ts'), variant, sinkUrl]));
  const [, port, scrapeUrl] = (await firstLine(server)).split(' ');
  const scrapeMillis: number[] = [];
  const scraper =
    scrapeUrl === '-'
      ? undefined
      : setInterval(async () => {
          const started = performance.now();
          await (await fetch(scrapeUrl!)).text();
          scrapeMillis.push(performance.now() - started);
        }, SCRAPE_INTERVAL_MILLIS);
  const samples: Sample[] = [];
  try {
    for (const handler of HANDLERS) {
      const url = `http://127.0.0.1:${port}/${handler}`;
      // The second handler's server has warmed up already: a second of its own load is enough.
      await runLoad(url, handler === HANDLERS[0] ? WARMUP_SECONDS : 1);
      const cpuBefore = processCpuMillis(server.pid!);
      const load = await runLoad(url, SECONDS);
      const cpu = processCpuMillis(server.pid!) - cpuBefore;
      samples.push({
        round,
        variant,
        handler,
        requestsPerSecond: load.requestsPerSecond,
        p99Millis: load.p99Millis,
        cpuMillisPer10k: (cpu / load.requests) * 10_000,
        errors: load.errors,
      });
    }
  } finally {
    clearInterval(scraper);
    server.kill('SIGTERM');
    await once(server, 'exit');
  }
  if (scrapeMillis.length > 0) {
    console.error(`  round ${round} ${variant}: scrape median ${median(scrapeMillis).toFixed(1)} ms`);
  }
  return samples;
}

const samples: Sample[] = [];
for (let round = 1; round <= ROUNDS; round++) {
  const order = MEASURED.map((_, i) => MEASURED[(i + round - 1) % MEASURED.length]!);
  for (const variant of order) samples.push(...(await measureVariant(variant, round)));
}
sink.close();

const of = (variant: Variant, handler: Handler) =>
  samples.filter((s) => s.variant === variant && s.handler === handler);
/** Median over rounds of a per-round ratio variant/reference. */
function ratio(variant: Variant, reference: Variant, handler: Handler, field: keyof Sample): number {
  const references = new Map(of(reference, handler).map((s) => [s.round, s[field] as number]));
  return median(of(variant, handler).map((s) => (s[field] as number) / references.get(s.round)!));
}

console.log(
  `\n## Monitoring overhead: ${ROUNDS} rounds x ${SECONDS} s per handler, ${CONNECTIONS} connections, ` +
    `${pinned ? 'server on core 1, load on core 0' : 'not pinned'}, scraped every 5 s; medians over rounds`,
);
console.log(
  '\nhandler    variant      req/s    p99 ms  CPU ms/10k req  req/s ÷ bare  req/s ÷ otel-sdk  CPU ÷ otel-sdk  errors',
);
for (const handler of HANDLERS) {
  for (const variant of MEASURED) {
    const rows = of(variant, handler);
    const cells = [
      handler.padEnd(10),
      variant.padEnd(11),
      median(rows.map((s) => s.requestsPerSecond))
        .toFixed(0)
        .padStart(7),
      median(rows.map((s) => s.p99Millis))
        .toFixed(1)
        .padStart(8),
      median(rows.map((s) => s.cpuMillisPer10k))
        .toFixed(0)
        .padStart(15),
      ratio(variant, 'bare', handler, 'requestsPerSecond').toFixed(3).padStart(13),
      ratio(variant, 'otel-sdk', handler, 'requestsPerSecond').toFixed(3).padStart(17),
      ratio(variant, 'otel-sdk', handler, 'cpuMillisPer10k').toFixed(3).padStart(15),
      String(rows.reduce((sum, s) => sum + s.errors, 0)).padStart(7),
    ];
    console.log(cells.join(' '));
  }
}
console.log(
  `\nTargets: perfwatch ≥ 0.98 × otel-sdk req/s on both handlers; perfwatch ≥ 0.98 × bare on the realistic handler. OTLP exports received: ${otlpExports}.`,
);
