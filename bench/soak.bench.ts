import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createWriteStream, existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { Agent, request } from 'node:http';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ExportMetricsServiceRequest } from '../src/receiver/otlpMetricsSchema.js';
import { postProtobuf } from './postProtobuf.js';
import { median } from './stats.js';

/** The compiled CLI; `SOAK_CLI` points at another build (e.g. a copy, to compare before and after). */
const CLI = process.env.SOAK_CLI ?? fileURLToPath(new URL('../dist/cli/main.js', import.meta.url));
/** Requests per second, whatever the number of instances. */
const REQUESTS_PER_SECOND = 10;
/**
 * Service instances sending; each exports every `INSTANCES / REQUESTS_PER_SECOND` s (20: every
 * 2 s), so the series are `INSTANCES × POINTS_PER_REQUEST` (20: 22,000). `SOAK_INSTANCES` overrides it.
 */
const INSTANCES = Number(process.env.SOAK_INSTANCES ?? 20);
/** Per request: 10 gauges and counters of 100 series each, and a histogram of 100 series. */
const POINTS_PER_REQUEST = 1100;
const SERIES_PER_METRIC = 100;
const RSS_EVERY_MS = 1000;
const HEALTH_EVERY_MS = 10_000;
/** RSS is followed this long after the load stops. */
const AFTER_SECONDS = 90;
const BOUNDS = [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10];
const MIB = 1024 * 1024;

interface HealthMemory {
  rssBytes: number;
  heapUsedBytes: number;
  duckdbBytes: number;
  duckdbByTag: Record<string, number>;
  duckdbMemoryLimit: string;
  walBytes: number;
}

interface Minute {
  rss: number[];
  heapUsed: number[];
  duckdb: number[];
  wal: number[];
  latencies: number[];
  failed: number;
}

/**
 * Soak of `perfwatch serve` (the compiled CLI, as users run it): `minutes` of 10 protobuf
 * requests/s of 1,100 points each, timestamps advancing in real time, sent open-loop (a slow
 * answer does not slow the load). Samples the child's RSS every second and its `GET health`
 * memory (JS heap, DuckDB's buffer manager, WAL) every 10 s; prints a table per minute and the
 * steady RSS. The regression cycle runs every 10 minutes, as configured by default.
 */
export async function benchSoak(minutes: number): Promise<void> {
  if (!existsSync(CLI)) throw new Error('dist/ is missing: run `npm run build` first (npm run bench does)');
  if (!(minutes > 0)) throw new Error(`soak minutes must be positive, got ${minutes}`);
  const dir = await mkdtemp(join(tmpdir(), 'perfwatch-soak-'));
  const log = join(dir, 'serve.log');
  const child = spawn(
    process.execPath,
    [CLI, 'serve', '--db', join(dir, 'soak.duckdb'), '--port', '0', '--api-port', '0'],
    { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, PERFWATCH_LOG_LEVEL: 'warn' } },
  );
  const logFile = createWriteStream(log);
  const agent = new Agent({ keepAlive: true, maxSockets: 64 });
  const timeline: Minute[] = [];
  const after: number[] = [];
  let lastHealth: HealthMemory | undefined;
  try {
    const [receiverUrl, apiUrl] = await banner(child, logFile);
    const started = Date.now();
    const startNanos = BigInt(started) * 1_000_000n;
    const minuteOf = (ms: number) => {
      const index = Math.floor((ms - started) / 60_000);
      timeline[index] ??= { rss: [], heapUsed: [], duckdb: [], wal: [], latencies: [], failed: 0 };
      return timeline[index];
    };
    const end = started + minutes * 60_000;
    const inflight = new Set<Promise<void>>();
    let healthDue = started;
    let sent = 0;
    console.log(
      `\nsoak: ${minutes} min, ${REQUESTS_PER_SECOND} req/s × ${POINTS_PER_REQUEST} points from ${INSTANCES} instances ` +
        `(${INSTANCES * POINTS_PER_REQUEST} series); ${cpus().length} cores, load ${loadavg()[0]!.toFixed(2)} at the start`,
    );
    const sampler = setInterval(() => {
      const now = Date.now();
      rssOf(child.pid!).then((rss) => {
        if (rss !== undefined) (now < end ? minuteOf(now).rss : after).push(rss);
      });
      if (now >= healthDue && now < end) {
        healthDue += HEALTH_EVERY_MS;
        health(apiUrl, agent).then(
          (memory) => {
            lastHealth = memory;
            const minute = minuteOf(now);
            minute.heapUsed.push(memory.heapUsedBytes);
            minute.duckdb.push(memory.duckdbBytes);
            minute.wal.push(memory.walBytes);
          },
          () => undefined,
        );
      }
    }, RSS_EVERY_MS);
    try {
      for (let due = started; due < end; due = started + (++sent * 1000) / REQUESTS_PER_SECOND) {
        const wait = due - Date.now();
        if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
        const instance = sent % INSTANCES;
        const body = requestBody(instance, startNanos, BigInt(Date.now()) * 1_000_000n);
        const sentAt = Date.now();
        const done = postProtobuf(new URL(receiverUrl), body, agent).then(
          (status) => {
            const minute = minuteOf(sentAt);
            minute.latencies.push(Date.now() - sentAt);
            if (status !== 200) minute.failed++;
          },
          () => {
            minuteOf(sentAt).failed++;
          },
        );
        inflight.add(done);
        done.finally(() => inflight.delete(done));
        if (sent % (60 * REQUESTS_PER_SECOND) === 0 && sent > 0) progress(timeline.at(-2), sent);
      }
      await Promise.all(inflight);
      const afterEnd = Date.now() + AFTER_SECONDS * 1000;
      while (Date.now() < afterEnd) await new Promise((resolve) => setTimeout(resolve, 1000));
    } finally {
      clearInterval(sampler);
    }
  } finally {
    agent.destroy();
    if (child.exitCode === null) {
      child.kill('SIGINT');
      await once(child, 'exit');
    }
    logFile.end();
    const tail = (await readFile(log, 'utf8')).trim().split('\n').slice(-5).join('\n');
    if (tail !== '') console.log(`serve's last log lines:\n${tail}`);
    await rm(dir, { recursive: true, force: true });
  }
  summarise(timeline, after, lastHealth);
}

/** Waits for serve's banner and returns the receiver's URL and the API's; the rest goes to `log`. */
async function banner(
  child: ReturnType<typeof spawn>,
  log: NodeJS.WritableStream,
): Promise<[string, string]> {
  let text = '';
  return new Promise((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`perfwatch serve exited (${code}): ${text}`)));
    child.stderr!.on('data', (chunk: Buffer) => {
      log.write(chunk);
      text += chunk.toString();
      const match = /receiving OTLP\/HTTP metrics at (\S+?),? .*dashboard and API (\S+?)\/;/.exec(text);
      if (match) resolve([match[1]!, `${match[2]}/api/performance`]);
    });
  });
}

async function rssOf(pid: number): Promise<number | undefined> {
  try {
    const status = await readFile(`/proc/${pid}/status`, 'utf8');
    return Number(/^VmRSS:\s+(\d+)/m.exec(status)?.[1]) * 1024;
  } catch {
    return undefined;
  }
}

async function health(apiUrl: string, agent: Agent): Promise<HealthMemory> {
  const target = new URL(`${apiUrl}/health`);
  const body = await new Promise<string>((resolve, reject) => {
    const req = request({ agent, host: target.hostname, port: target.port, path: target.pathname }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        text += chunk;
      });
      res.on('end', () => resolve(text));
    });
    req.on('error', reject);
    req.end();
  });
  const memory = (JSON.parse(body) as { data?: { memory?: HealthMemory } }).data?.memory;
  if (memory === undefined) throw new Error('GET health has no memory section');
  return memory;
}

/**
 * One export of instance `instance` at `nanos`: gauges wander, counters and histograms grow with
 * the time since `startNanos` (cumulative, as an SDK's), one series per `shard` value.
 */
function requestBody(instance: number, startNanos: bigint, nanos: bigint): Uint8Array {
  const seconds = Number(nanos - startNanos) / 1e9;
  const time = String(nanos);
  const start = String(startNanos);
  const shards = (make: (shard: number) => object) =>
    Array.from({ length: SERIES_PER_METRIC }, (_, shard) => ({
      attributes: [{ key: 'shard', value: { stringValue: String(shard) } }],
      startTimeUnixNano: start,
      timeUnixNano: time,
      ...make(shard),
    }));
  const metrics: object[] = [];
  const numberMetrics = (POINTS_PER_REQUEST - SERIES_PER_METRIC) / SERIES_PER_METRIC;
  for (let m = 0; m < numberMetrics; m++) {
    if (m % 2 === 0) {
      metrics.push({
        name: `app.gauge_${m}`,
        unit: 'ms',
        gauge: {
          dataPoints: shards((shard) => ({
            asDouble: 50 + 10 * Math.sin(seconds / 60 + shard) + Math.random(),
          })),
        },
      });
    } else {
      metrics.push({
        name: `app.counter_${m}`,
        sum: {
          aggregationTemporality: 2,
          isMonotonic: true,
          dataPoints: shards((shard) => ({ asDouble: Math.floor(seconds * ((shard % 7) + 1)) })),
        },
      });
    }
  }
  metrics.push({
    name: 'http.server.request.duration',
    unit: 's',
    histogram: {
      aggregationTemporality: 2,
      dataPoints: shards((shard) => {
        const counts = [...BOUNDS.map((_, b) => Math.floor(seconds * ((b + shard) % 5))), 1];
        return {
          count: counts.reduce((a, b) => a + b, 0),
          sum: seconds * 1.5,
          bucketCounts: counts,
          explicitBounds: BOUNDS,
        };
      }),
    },
  });
  return ExportMetricsServiceRequest.encode(
    ExportMetricsServiceRequest.fromObject({
      resourceMetrics: [
        {
          resource: {
            attributes: [
              { key: 'service.name', value: { stringValue: `service-${instance % 4}` } },
              { key: 'service.version', value: { stringValue: '1.0.0' } },
              { key: 'service.instance.id', value: { stringValue: `instance-${instance}` } },
            ],
          },
          scopeMetrics: [{ scope: { name: 'soak', version: '1.0.0' }, metrics }],
        },
      ],
    }),
  ).finish();
}

function quantile(values: readonly number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;
}

const mib = (bytes: number) => (Number.isFinite(bytes) ? (bytes / MIB).toFixed(0) : '-');
const max = (values: readonly number[]) => (values.length === 0 ? Number.NaN : Math.max(...values));

function progress(minute: Minute | undefined, sent: number): void {
  if (minute === undefined) return;
  console.error(
    `soak: ${sent} requests sent; last minute RSS median ${mib(median(minute.rss))} MiB, p99 ${quantile(minute.latencies, 0.99)} ms`,
  );
}

/** Least-squares slope of `values` per index (MiB per minute for per-minute medians). */
function slope(values: readonly number[]): number {
  const n = values.length;
  if (n < 2) return Number.NaN;
  const meanX = (n - 1) / 2;
  const meanY = values.reduce((a, b) => a + b, 0) / n;
  let num = 0;
  let den = 0;
  values.forEach((y, x) => {
    num += (x - meanX) * (y - meanY);
    den += (x - meanX) ** 2;
  });
  return num / den;
}

function summarise(
  timeline: readonly Minute[],
  after: readonly number[],
  last: HealthMemory | undefined,
): void {
  console.log(
    '\nminute  RSS med  RSS max  heap used  DuckDB  WAL   requests  failed  p50 ms  p99 ms   (MiB; heap, DuckDB and WAL: max of the 10 s samples)',
  );
  timeline.forEach((m, index) => {
    console.log(
      [
        String(index + 1).padStart(6),
        mib(median(m.rss)).padStart(8),
        mib(max(m.rss)).padStart(8),
        mib(max(m.heapUsed)).padStart(10),
        mib(max(m.duckdb)).padStart(7),
        mib(max(m.wal)).padStart(5),
        String(m.latencies.length).padStart(10),
        String(m.failed).padStart(7),
        String(quantile(m.latencies, 0.5)).padStart(7),
        String(quantile(m.latencies, 0.99)).padStart(7),
      ].join(' '),
    );
  });
  const medians = timeline.map((m) => median(m.rss) / MIB);
  const secondHalf = timeline.slice(Math.floor(timeline.length / 2));
  const rssAll = timeline.flatMap((m) => m.rss);
  const peak = max(rssAll);
  const peakMinute = timeline.findIndex((m) => m.rss.includes(peak)) + 1;
  const latencies = timeline.flatMap((m) => m.latencies);
  console.log(
    [
      `\nsteady RSS (median of the last half): ${mib(median(secondHalf.flatMap((m) => m.rss)))} MiB`,
      `RSS growth: ${slope(medians).toFixed(1)} MiB/min over the run, ${slope(medians.slice(Math.floor(medians.length / 2))).toFixed(1)} MiB/min over the last half`,
      `max RSS: ${mib(peak)} MiB in minute ${peakMinute}`,
      `RSS ${AFTER_SECONDS} s after the load: ${mib(after.at(-1) ?? Number.NaN)} MiB`,
      `latency over the run: p50 ${quantile(latencies, 0.5)} ms, p99 ${quantile(latencies, 0.99)} ms, max ${max(latencies)} ms; ` +
        `${timeline.reduce((n, m) => n + m.failed, 0)} failed of ${latencies.length}`,
      `load average (1 min) at the end: ${loadavg()[0]!.toFixed(2)}`,
      last === undefined
        ? 'no GET health memory sample'
        : `last sample: DuckDB memory_limit ${last.duckdbMemoryLimit}, by tag (MiB) ${Object.entries(
            last.duckdbByTag,
          )
            .map(([tag, bytes]) => `${tag} ${mib(bytes)}`)
            .join(', ')}`,
    ].join('\n'),
  );
}
