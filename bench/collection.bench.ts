import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startPerfWatch } from '../src/startPerfWatch.js';
import { median, report } from './stats.js';

const COLLECTIONS = 60;

/**
 * CPU per collection (host + system + runtime metrics + 1,000 custom series, collected and
 * written to DuckDB) — for the whole process (DuckDB's and libuv's threads included) and for the
 * main thread alone (event-loop active time) — and the longest event-loop block while
 * collecting, measured apart so the block sampler does not add to the CPU figures.
 */
export async function benchCollection(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'perfwatch-bench-'));
  const perfwatch = await startPerfWatch({
    dbPath: join(dir, 'collection.duckdb'),
    collectionIntervalMillis: 3_600_000,
    prometheusEnabled: false,
    logLevel: 'warn',
  });
  try {
    const requests = perfwatch.meter.createCounter('app.requests');
    const queue = perfwatch.meter.createGauge('app.queue.depth');
    const latency = perfwatch.meter.createHistogram('http.server.request.duration', { unit: 's' });
    const record = (round: number) => {
      for (let i = 0; i < 400; i++) requests.add(1 + (i % 3), { route: `/r/${i}` });
      for (let i = 0; i < 400; i++) queue.record((round * 7 + i) % 50, { queue: `q${i}` });
      for (let i = 0; i < 200; i++) latency.record(0.001 * ((round + i) % 300), { 'http.route': `/r/${i}` });
    };
    record(0);
    await perfwatch.forceFlush(); // first collection creates the series; measure steady state
    const points = Number(
      ((await perfwatch.store.query('SELECT count(*) AS n FROM series')) as { n: bigint }[])[0]!.n,
    );

    const cpuMillis: number[] = [];
    const mainThreadMillis: number[] = [];
    for (let round = 1; round <= COLLECTIONS; round++) {
      record(round);
      const before = process.cpuUsage();
      const loopBefore = performance.eventLoopUtilization();
      await perfwatch.forceFlush();
      const used = process.cpuUsage(before);
      cpuMillis.push((used.user + used.system) / 1000);
      mainThreadMillis.push(performance.eventLoopUtilization(loopBefore).active);
    }

    const blocks: number[] = [];
    for (let round = 1; round <= COLLECTIONS; round++) {
      record(round);
      blocks.push(await longestBlockDuring(() => perfwatch.forceFlush()));
    }
    report(
      `collection + persist (${points} series: host + system + runtime + 1,000 custom; ${COLLECTIONS} collections)`,
      [
        [
          'process CPU per collection (all threads), median (ms)',
          median(cpuMillis).toFixed(2),
          'target ≤ 5 ms',
        ],
        ['process CPU per collection (all threads), max (ms)', Math.max(...cpuMillis).toFixed(2), ''],
        [
          'main-thread busy time per collection, median (ms)',
          median(mainThreadMillis).toFixed(2),
          'what the application loses',
        ],
        ['longest event-loop block, median (ms)', median(blocks).toFixed(2), 'target ≤ 2 ms'],
        ['longest event-loop block, max (ms)', Math.max(...blocks).toFixed(2), ''],
      ],
    );
  } finally {
    await perfwatch.shutdown();
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * The longest gap between two turns of the event loop while `work` runs: a setImmediate chain
 * that notes each turn, so any synchronous stretch (callbacks, native appends) shows as a gap.
 */
async function longestBlockDuring(work: () => Promise<void>): Promise<number> {
  let longest = 0;
  let last = performance.now();
  let running = true;
  const tick = () => {
    const now = performance.now();
    longest = Math.max(longest, now - last);
    last = now;
    if (running) setImmediate(tick);
  };
  setImmediate(tick);
  await work();
  running = false;
  return longest;
}
