import { mkdir, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SqlMemoryLimitError, SqlTimeoutError } from '../../src/errors.js';
import { LiveSql } from '../../src/server/LiveSql.js';
import { MetricStore } from '../../src/store/MetricStore.js';
import { SqlSandbox } from '../../src/store/SqlSandbox.js';
import { tempDir } from '../helpers/tempDir.js';

/** The query of issue 19: DuckDB checks neither its interrupt nor its memory_limit inside repeat(). */
const HUGE_STRING = "SELECT length(repeat('x',2000000000)||repeat('y',1000000000)) AS n";
/** Runs until interrupted, in small steps that DuckDB's interrupt does reach. */
const ENDLESS = 'SELECT count(*) AS n FROM range(100000000000)';
const MIB = 2 ** 20;

let dir: Awaited<ReturnType<typeof tempDir>>;
let path: string;

beforeAll(async () => {
  dir = await tempDir();
  path = dir.file('h.duckdb');
  const store = await MetricStore.open(path);
  await store.close();
});

afterAll(async () => {
  await dir.cleanup();
});

/** The largest resident set of this (the parent) process until the returned function is called. */
function watchRss(): () => number {
  let peak = process.memoryUsage.rss();
  const timer = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage.rss());
  }, 10);
  return () => {
    clearInterval(timer);
    return Math.max(peak, process.memoryUsage.rss());
  };
}

async function failure(promise: Promise<unknown>): Promise<{ error: unknown; millis: number }> {
  const started = performance.now();
  const error = await promise.then(
    () => new Error('the query succeeded'),
    (e: unknown) => e,
  );
  return { error, millis: performance.now() - started };
}

/** Disk taken by the files under `folder`, recursively (allocated blocks). */
async function diskBytes(folder: string): Promise<number> {
  const entries = await readdir(folder, { withFileTypes: true, recursive: true }).catch(() => []);
  let total = 0;
  for (const entry of entries) {
    if (!entry.isFile()) continue;
    const info = await stat(join(entry.parentPath, entry.name)).catch(() => undefined);
    total += (info?.blocks ?? 0) * 512;
  }
  return total;
}

describe('SqlSandbox limits', () => {
  it('stops a query DuckDB cannot interrupt at its deadline, without the parent growing; the next query runs', async () => {
    // A memory limit far above what repeat() reaches in 2 s, so the deadline is what stops it.
    const sandbox = await SqlSandbox.open(path, { memoryLimitBytes: 4096 * MIB });
    try {
      const peak = watchRss();
      const before = process.memoryUsage.rss();
      const { error, millis } = await failure(sandbox.run(HUGE_STRING, { timeoutMillis: 2_000 }));
      expect(error).toBeInstanceOf(SqlTimeoutError);
      expect(millis).toBeGreaterThanOrEqual(1_990);
      expect(millis).toBeLessThan(3_000);
      expect(peak() - before).toBeLessThan(128 * MIB);
      expect((await sandbox.run('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
    } finally {
      await sandbox.close();
    }
  }, 30_000);

  it('stops a query past its memory limit', async () => {
    const sandbox = await SqlSandbox.open(path, { memoryLimitBytes: 256 * MIB });
    try {
      const peak = watchRss();
      const before = process.memoryUsage.rss();
      const { error, millis } = await failure(sandbox.run(HUGE_STRING, { timeoutMillis: 25_000 }));
      expect(error).toBeInstanceOf(SqlMemoryLimitError);
      expect((error as SqlMemoryLimitError).code).toBe('PERFWATCH_SQL_MEMORY_LIMIT');
      expect((error as Error).message).toMatch(/more than 256 MiB of memory/);
      expect(millis).toBeLessThan(25_000);
      expect(peak() - before).toBeLessThan(128 * MIB);
      expect((await sandbox.run('SELECT 2 AS two')).rows).toEqual([{ two: 2 }]);
    } finally {
      await sandbox.close();
    }
  }, 30_000);

  it("counts a queued query's timeout from its arrival, and answers it without running it", async () => {
    const sandbox = await SqlSandbox.open(path);
    try {
      const long = failure(sandbox.run(ENDLESS, { timeoutMillis: 3_000 }));
      const queued = failure(sandbox.run('SELECT 1 AS one', { timeoutMillis: 1_000 }));
      const second = await queued;
      expect(second.error).toBeInstanceOf(SqlTimeoutError);
      expect(second.millis).toBeLessThan(2_000);
      // The long query keeps its own deadline: the queued one's did not cut it short.
      const first = await long;
      expect(first.error).toBeInstanceOf(SqlTimeoutError);
      expect(first.millis).toBeGreaterThanOrEqual(2_990);
      // A deadline already past is answered at once.
      const late = await failure(
        sandbox.run('SELECT 1', { timeoutMillis: 100, arrivedAt: performance.now() - 200 }),
      );
      expect(late.error).toBeInstanceOf(SqlTimeoutError);
    } finally {
      await sandbox.close();
    }
  }, 30_000);

  it('stops a query that spills past its limit, and removes what it spilled', async () => {
    const spill = dir.file('spill');
    await mkdir(spill);
    // Enough memory that DuckDB spills rather than being stopped for memory, little disk.
    const sandbox = await SqlSandbox.open(path, {
      memoryLimitBytes: 768 * MIB,
      maxTempDirectoryBytes: 64 * MIB,
      tempParent: spill,
    });
    let peakDisk = 0;
    let measuring = false;
    const timer = setInterval(() => {
      if (measuring) return;
      measuring = true;
      void diskBytes(spill).then((bytes) => {
        peakDisk = Math.max(peakDisk, bytes);
        measuring = false;
      });
    }, 20);
    try {
      const { error } = await failure(
        sandbox.run('SELECT count(*) FROM (SELECT i, count(*) FROM range(1000000000) t(i) GROUP BY i)', {
          timeoutMillis: 60_000,
        }),
      );
      expect(error).toBeInstanceOf(SqlMemoryLimitError);
      expect((error as Error).message).toMatch(/spill|max_temp_directory_size|offload/i);
      // The check runs every 25 ms: a little past the limit at most, never gigabytes.
      expect(peakDisk).toBeLessThan(256 * MIB);
      expect((await sandbox.run('SELECT 3 AS three')).rows).toEqual([{ three: 3 }]);
    } finally {
      clearInterval(timer);
      await sandbox.close();
    }
    expect(await readdir(spill)).toEqual([]);
  }, 90_000);

  it('refuses a result larger than maxResultBytes', async () => {
    const sandbox = await SqlSandbox.open(path, { maxResultBytes: 4 * MIB });
    try {
      const { error } = await failure(sandbox.run("SELECT repeat('x', 1000000) AS s FROM range(10)"));
      expect(error).toBeInstanceOf(SqlMemoryLimitError);
      expect((error as Error).message).toMatch(/the result is 9\.\d MiB, more than the limit of 4\.0 MiB/);
    } finally {
      await sandbox.close();
    }
  }, 30_000);
});

describe('LiveSql (POST sql)', () => {
  it('answers a query queued behind a long one at its own deadline, and the huge-string query at its deadline', async () => {
    const store = await MetricStore.open(dir.file('live.duckdb'));
    // As above, the deadline rather than the memory limit is what stops repeat() here.
    const sql = new LiveSql(store, 60_000, Date.now, { memoryLimitBytes: 4096 * MIB });
    try {
      expect((await sql.run('SELECT 1 AS one', { timeoutMillis: 20_000 })).rows).toEqual([{ one: 1 }]);
      const peak = watchRss();
      const before = process.memoryUsage.rss();
      const long = failure(sql.run(HUGE_STRING, { timeoutMillis: 3_000 }));
      const queued = await failure(sql.run('SELECT 1 AS one', { timeoutMillis: 1_000 }));
      expect(queued.error).toBeInstanceOf(SqlTimeoutError);
      expect(queued.millis).toBeLessThan(2_000);
      const first = await long;
      expect(first.error).toBeInstanceOf(SqlTimeoutError);
      expect(first.millis).toBeLessThan(4_000);
      expect(peak() - before).toBeLessThan(128 * MIB);
      expect((await sql.run('SELECT 2 AS two', { timeoutMillis: 20_000 })).rows).toEqual([{ two: 2 }]);
    } finally {
      await sql.close();
      await store.close();
    }
  }, 60_000);
});
