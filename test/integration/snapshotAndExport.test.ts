import { existsSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { DuckDBInstance } from '@duckdb/node-api';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startPerfWatch } from '../../src/startPerfWatch.js';
import { MetricStore } from '../../src/store/MetricStore.js';
import { SqlSandbox } from '../../src/store/SqlSandbox.js';
import { captureLogger } from '../helpers/captureLogger.js';
import { type FixturePoint, fixtureCollections } from '../helpers/fixtureCollection.js';
import { manualScheduler } from '../helpers/manualScheduler.js';
import { tempDir } from '../helpers/tempDir.js';

const DAY = 86_400;
const T0 = 1_790_000_000 - (1_790_000_000 % DAY); // midnight UTC

let dir: Awaited<ReturnType<typeof tempDir>>;
beforeEach(async () => {
  dir = await tempDir();
});
afterEach(async () => {
  await dir.cleanup();
});

function threeDays(): FixturePoint[] {
  const points: FixturePoint[] = [];
  for (let hour = 0; hour < 72; hour += 4) {
    points.push({
      metric: 'app.queue.depth',
      kind: 'gauge',
      time: T0 + hour * 3600,
      value: hour,
      attributes: { queue: 'a' },
    });
    points.push({ metric: 'app.requests', kind: 'counter', time: T0 + hour * 3600, value: hour * 10 });
    points.push({
      metric: 'http.server.request.duration',
      kind: 'histogram',
      time: T0 + hour * 3600,
      histogram: { bounds: [0.1, 1], counts: [hour, 2, 1], sum: hour / 10 },
    });
  }
  return points;
}

describe('snapshots', () => {
  it('writes a copy another reader can open while perfwatch keeps the live file locked', async () => {
    const perfwatch = await startPerfWatch({
      dbPath: dir.file('live.duckdb'),
      prometheusEnabled: false,
      hostMetrics: false,
      runtimeMetrics: false,
      collectionIntervalMillis: 3_600_000,
      logger: captureLogger(),
    });
    try {
      perfwatch.meter.createCounter('orders').add(4);
      await perfwatch.forceFlush();
      const summary = await perfwatch.snapshot(dir.file('snap.duckdb'));
      expect(summary.bytes).toBeGreaterThan(0);
      expect((await readdir(dir.path)).filter((name) => name.includes('.tmp-'))).toEqual([]);

      const sandbox = await SqlSandbox.open(dir.file('snap.duckdb'));
      try {
        const result = await sandbox.run(
          `SELECT Value AS v FROM otel_metrics_sum WHERE MetricName = 'orders'`,
        );
        expect(result.rows).toEqual([{ v: 4 }]);
      } finally {
        sandbox.close();
      }
    } finally {
      await perfwatch.shutdown();
    }
  });

  it('is written on schedule when a snapshot path is configured, replacing the previous one', async () => {
    const scheduler = manualScheduler();
    const perfwatch = await startPerfWatch({
      dbPath: dir.file('live.duckdb'),
      snapshotPath: dir.file('latest.duckdb'),
      prometheusEnabled: false,
      hostMetrics: false,
      runtimeMetrics: false,
      scheduler,
      logger: captureLogger(),
    });
    const counter = perfwatch.meter.createCounter('ticks');
    counter.add(1);
    await perfwatch.forceFlush();
    scheduler.tick(); // collection, retention and snapshot tasks
    counter.add(1);
    await perfwatch.forceFlush();
    scheduler.tick();
    await perfwatch.shutdown(); // waits for the scheduled runs
    expect(existsSync(dir.file('latest.duckdb'))).toBe(true);
    const sandbox = await SqlSandbox.open(dir.file('latest.duckdb'));
    try {
      const rows = (
        await sandbox.run(`SELECT count(*) AS n FROM otel_metrics_sum WHERE MetricName = 'ticks'`)
      ).rows;
      expect(Number(rows[0]?.n)).toBeGreaterThanOrEqual(2);
    } finally {
      sandbox.close();
    }
  });
});

describe('scheduled retention in startPerfWatch', () => {
  it('deletes points older than retentionDays on the hourly run, measured with the injected clock', async () => {
    const scheduler = manualScheduler();
    const perfwatch = await startPerfWatch({
      dbPath: dir.file('live.duckdb'),
      prometheusEnabled: false,
      hostMetrics: false,
      runtimeMetrics: false,
      retentionDays: 1,
      now: () => (T0 + 3 * DAY) * 1000,
      scheduler,
      logger: captureLogger(),
    });
    for (const collection of fixtureCollections(threeDays()))
      await perfwatch.store.writeCollection(collection);
    scheduler.tick();
    await perfwatch.shutdown();
    const store = await MetricStore.open(dir.file('live.duckdb'));
    try {
      const [row] = await store.query(
        `SELECT count(*) AS n, min(time) AS oldest FROM points_number p JOIN series s USING (series_ref) WHERE s.metric_name LIKE 'app.%'`,
      );
      expect((row!.oldest as Date).getTime()).toBeGreaterThanOrEqual((T0 + 2 * DAY) * 1000);
      expect(row?.n).toBe(12n); // hours 48, 52, …, 68 for two metrics
    } finally {
      await store.close();
    }
  });
});

describe('Parquet export', () => {
  it('writes one zstd file per kind and day that reads back equal to the source, idempotently', async () => {
    const store = await MetricStore.open(dir.file('h.duckdb'));
    try {
      for (const collection of fixtureCollections(threeDays())) await store.writeCollection(collection);
      const progress: string[] = [];
      const outDir = dir.file('export');
      const first = await store.exportParquet({
        outDir,
        onProgress: (p) => progress.push(`${p.done}/${p.total} ${p.kind} ${p.day}`),
      });
      expect(first.files).toBe(7); // number + histogram × 3 days, and the series file
      expect(first.rows).toBe(18 * 3);
      expect(first.days).toHaveLength(3);
      expect(progress).toHaveLength(6);
      const second = await store.exportParquet({ outDir });
      expect(second.rows).toBe(first.rows);

      const instance = await DuckDBInstance.create(':memory:');
      const connection = await instance.connect();
      const read = async (sql: string) => (await connection.runAndReadAll(sql)).getRowObjectsJS();
      const exported = await read(
        `SELECT metric_name, kind, day, time, value FROM read_parquet('${outDir}/kind=number/*/*.parquet', hive_partitioning = true) ORDER BY metric_name, time`,
      );
      const source = await store.query(
        `SELECT s.metric_name, p.time, p.value FROM points_number p JOIN series s USING (series_ref) ORDER BY s.metric_name, p.time`,
      );
      expect(exported.map(({ metric_name, time, value }) => ({ metric_name, time, value }))).toEqual(source);
      expect(new Set(exported.map((row) => String(row.day))).size).toBe(3);
      const histograms = await read(
        `SELECT count(*) AS n, sum(list_sum(counts)) AS observations FROM read_parquet('${outDir}/kind=histogram/*/*.parquet', hive_partitioning = true)`,
      );
      const sourceHistograms = await store.query(
        'SELECT count(*) AS n, sum(list_sum(counts)) AS observations FROM points_histogram',
      );
      expect(histograms).toEqual(sourceHistograms);
      const compression = await read(
        `SELECT DISTINCT compression FROM parquet_metadata('${outDir}/kind=number/*/*.parquet')`,
      );
      expect(compression.map((row) => String(row.compression).toUpperCase())).toEqual(['ZSTD']);
      const joined = await read(
        `SELECT s.attrs['queue'] AS queue, count(*) AS n
         FROM read_parquet('${outDir}/kind=number/*/*.parquet', hive_partitioning = true) p
         JOIN read_parquet('${outDir}/series/data.parquet') s USING (series_id)
         WHERE p.metric_name = 'app.queue.depth' GROUP BY ALL`,
      );
      expect(joined).toEqual([{ queue: 'a', n: 18n }]);
      connection.closeSync();
      instance.closeSync();

      const later = await store.exportParquet({
        outDir: dir.file('export-later'),
        since: new Date((T0 + 2 * DAY) * 1000),
      });
      expect(later.days).toEqual([new Date((T0 + 2 * DAY) * 1000).toISOString().slice(0, 10)]);
    } finally {
      await store.close();
    }
  });
});

describe('snapshot and export edge cases', () => {
  it('refuses to write a snapshot over the live file', async () => {
    const store = await MetricStore.open(dir.file('live.duckdb'));
    try {
      await expect(store.snapshot(dir.file('live.duckdb'))).rejects.toThrow(
        /must not be the live history file/,
      );
    } finally {
      await store.close();
    }
  });

  it('closes while an export runs: the export is interrupted, close completes', async () => {
    const store = await MetricStore.open(dir.file('h.duckdb'));
    for (const collection of fixtureCollections(threeDays())) await store.writeCollection(collection);
    const exporting = store.exportParquet({ outDir: dir.file('out') }).then(
      () => 'finished',
      () => 'interrupted',
    );
    await store.close();
    expect(['finished', 'interrupted']).toContain(await exporting);
  });
});
