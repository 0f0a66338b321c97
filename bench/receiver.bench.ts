import { fork } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { OtlpReceiver } from '../src/receiver/OtlpReceiver.js';
import { MetricStore } from '../src/store/MetricStore.js';
import { report } from './stats.js';

/**
 * Concurrent clients, e.g. a few Collectors with their default 10 sending consumers; a 200 answer
 * waits for the commit, so throughput grows with the requests one group commit can gather.
 * `BENCH_CLIENTS` overrides it.
 */
const CLIENTS = Number(process.env.BENCH_CLIENTS ?? 16);
/** Seconds of sustained load; `BENCH_SECONDS` shortens it for a quick look. */
const SECONDS = Number(process.env.BENCH_SECONDS ?? 20);
const POINTS_PER_REQUEST = 2000;
/** The receiver's maxBatchPoints (points per transaction); `BENCH_BATCH_POINTS` overrides it. */
const BATCH_POINTS =
  process.env.BENCH_BATCH_POINTS === undefined ? undefined : Number(process.env.BENCH_BATCH_POINTS);
const LOAD = fileURLToPath(new URL('./receiverLoad.ts', import.meta.url));

interface LoadResult {
  elapsed: number;
  accepted: number;
  statuses: Record<string, number>;
  p50: number;
  p99: number;
  max: number;
  /** CPU seconds the load generator used (it shares the machine with the receiver). */
  cpuSeconds: number;
}

/**
 * Sustained OTLP/HTTP ingest: `CLIENTS` concurrent keep-alive clients (in a separate process)
 * post protobuf requests of `POINTS_PER_REQUEST` points to `perfwatch serve`'s receiver writing
 * to a DuckDB file, for `SECONDS` after one warm-up request per client. Points/s counts points
 * committed (200 answers); RSS is the receiver process', sampled every 50 ms. On a shared machine
 * the rate is bounded by the CPU the receiver gets: points per CPU-second shows its own cost.
 */
export async function benchReceiver(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'perfwatch-bench-'));
  const store = await MetricStore.open(join(dir, 'receiver.duckdb'));
  const receiver = new OtlpReceiver({
    store,
    port: 0,
    ...(BATCH_POINTS === undefined ? {} : { maxBatchPoints: BATCH_POINTS }),
  });
  let peakRss = process.memoryUsage.rss();
  const sampler = setInterval(() => {
    peakRss = Math.max(peakRss, process.memoryUsage.rss());
  }, 50);
  try {
    const url = await receiver.start();
    const rssBefore = process.memoryUsage.rss();
    const cpuBefore = process.cpuUsage();
    const eluBefore = performance.eventLoopUtilization();
    const child = fork(LOAD, [url, String(CLIENTS), String(SECONDS), String(POINTS_PER_REQUEST)], {
      execArgv: ['--import', 'tsx'],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    const [result] = (await once(child, 'message')) as [LoadResult];
    await receiver.forceFlush();
    const cpu = process.cpuUsage(cpuBefore);
    const elu = performance.eventLoopUtilization(eluBefore).utilization;
    await once(child, 'exit');
    const [row] = await store.query(
      'SELECT (SELECT count(*) FROM points_number) + (SELECT count(*) FROM points_histogram) AS n',
    );
    const stored = Number(row?.n);
    const rate = (result.accepted * POINTS_PER_REQUEST) / result.elapsed;
    // CPU seconds of this process (main thread, DuckDB and libuv threads), warm-up included: what
    // one core sustains when the machine is not shared, independent of how busy it is now.
    const cpuSeconds = (cpu.user + cpu.system) / 1e6;
    const warmedPoints = (result.accepted + CLIENTS) * POINTS_PER_REQUEST;
    const mib = (bytes: number) => (bytes / 1024 / 1024).toFixed(0);
    report(
      `OTLP/HTTP receiver (${CLIENTS} concurrent clients, ${POINTS_PER_REQUEST}-point protobuf requests, ${SECONDS} s)`,
      [
        ['points/s committed to DuckDB', Math.round(rate).toLocaleString('en'), 'target ≥ 300,000'],
        [
          'points stored (checked in the file)',
          stored.toLocaleString('en'),
          'includes 1 warm-up request per client',
        ],
        [
          'points per receiver CPU-second',
          Math.round(warmedPoints / cpuSeconds).toLocaleString('en'),
          'capacity of one unshared core',
        ],
        ['receiver main thread busy (event-loop utilization)', `${Math.round(elu * 100)} %`, ''],
        [
          'receiver CPU, % of one core',
          `${Math.round((cpuSeconds / result.elapsed) * 100)} %`,
          'main thread, DuckDB, GC and libuv threads',
        ],
        [
          'load generator CPU, % of one core',
          `${Math.round((result.cpuSeconds / result.elapsed) * 100)} %`,
          'what the clients take from the same cores',
        ],
        ['load average (1 min) at the end', loadavg()[0]!.toFixed(2), `${cpus().length} cores`],
        ['responses by status', JSON.stringify(result.statuses), '429 = back-pressure'],
        ['request latency p50, ms', result.p50.toFixed(1), ''],
        ['request latency p99, ms', result.p99.toFixed(1), ''],
        ['request latency max, ms', result.max.toFixed(1), ''],
        ['RSS before load, MiB', mib(rssBefore), ''],
        ['peak RSS during load, MiB', mib(peakRss), 'write queue ≤ 200,000 points; DuckDB cache included'],
      ],
    );
  } finally {
    clearInterval(sampler);
    await receiver.shutdown();
    await store.close();
    await rm(dir, { recursive: true, force: true });
  }
}
