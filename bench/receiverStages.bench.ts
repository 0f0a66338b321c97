import { readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeOtlpMetrics } from '../src/receiver/decodeOtlpMetrics.js';
import { toResourceMetrics } from '../src/receiver/toResourceMetrics.js';
import { MetricStore } from '../src/store/MetricStore.js';
import type { StoredResourceMetrics } from '../src/store/StoredResourceMetrics.js';
import { receiverRequestBody } from './receiverRequestBody.js';
import { report } from './stats.js';

const CLIENTS = 16;
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 30);
const POINTS_PER_REQUEST = 2000;

/** CPU ms per thread of this process (Linux /proc; 10 ms ticks), keyed by thread id. */
function threadCpuMillis(): Map<string, number> {
  const threads = new Map<string, number>();
  for (const tid of readdirSync('/proc/self/task')) {
    try {
      const fields = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8').split(') ')[1]!.split(' ');
      threads.set(tid, (Number(fields[11]) + Number(fields[12])) * 10);
    } catch {
      // the thread ended between the listing and the read
    }
  }
  return threads;
}

/**
 * Where a received point's CPU goes, without HTTP and without contention between requests: the
 * receiver bench's requests (16 clients, 2000 points) decoded, converted and written one group
 * of 16 (one transaction) at a time. Main-thread CPU versus the other threads (V8's GC helpers,
 * libuv's pool running DuckDB's commits, DuckDB's own) shows what a second core can take over.
 * The first round (series creation) is not counted. Linux only (per-thread CPU from /proc).
 */
export async function benchReceiverStages(): Promise<void> {
  const bodies = Array.from({ length: ROUNDS }, (_, round) =>
    Array.from({ length: CLIENTS }, (_, client) =>
      receiverRequestBody(client, round + 1, POINTS_PER_REQUEST),
    ),
  );
  const dir = await mkdtemp(join(tmpdir(), 'perfwatch-bench-'));
  const store = await MetricStore.open(join(dir, 'stages.duckdb'));
  try {
    let decodeMillis = 0;
    let convertMillis = 0;
    let writeMillis = 0;
    let points = 0;
    let threadsBefore = new Map<string, number>();
    let cpuBefore = process.cpuUsage();
    for (let round = 0; round < ROUNDS; round++) {
      const counted = round > 0;
      if (round === 1) {
        threadsBefore = threadCpuMillis();
        cpuBefore = process.cpuUsage();
      }
      const batch: StoredResourceMetrics[] = [];
      for (const body of bodies[round]!) {
        const started = performance.now();
        const decoded = decodeOtlpMetrics(body, 'protobuf');
        const decodedAt = performance.now();
        const converted = toResourceMetrics(decoded);
        if (counted) {
          decodeMillis += decodedAt - started;
          convertMillis += performance.now() - decodedAt;
          points += converted.points;
        }
        batch.push(...converted.resourceMetrics);
      }
      const started = performance.now();
      await store.writeCollections(batch);
      if (counted) writeMillis += performance.now() - started;
    }
    const cpu = process.cpuUsage(cpuBefore);
    const threads = threadCpuMillis();
    const mainMillis = threads.get(String(process.pid))! - threadsBefore.get(String(process.pid))!;
    const perPoint = (millis: number) => ((millis * 1000) / points).toFixed(2);
    report(`receiver stages (${CLIENTS} requests of ${POINTS_PER_REQUEST} points per transaction, no HTTP)`, [
      ['decode (protobufjs), µs per point', perPoint(decodeMillis), 'wall'],
      ['convert (toResourceMetrics), µs per point', perPoint(convertMillis), 'wall'],
      ['write (series, append, commit), µs per point', perPoint(writeMillis), 'wall, commit included'],
      [
        'points/s, one stage after another',
        Math.round(points / ((decodeMillis + convertMillis + writeMillis) / 1000)).toLocaleString('en'),
        '',
      ],
      ['main-thread CPU, µs per point', perPoint(mainMillis), ''],
      [
        'other threads CPU, µs per point',
        perPoint((cpu.user + cpu.system) / 1000 - mainMillis),
        'GC helpers, DuckDB commit and checkpoint',
      ],
    ]);
  } finally {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  }
}
