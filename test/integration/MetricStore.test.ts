import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { writeFile } from 'node:fs/promises';
import { DuckDBInstance } from '@duckdb/node-api';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConfigError, SchemaVersionError, StoreError, StoreLockedError } from '../../src/errors.js';
import { DuckDbMetricReader } from '../../src/reader/DuckDbMetricReader.js';
import { MetricStore } from '../../src/store/MetricStore.js';
import { SCHEMA_VERSION } from '../../src/store/schema.js';
import { tempDir } from '../helpers/tempDir.js';

let dir: Awaited<ReturnType<typeof tempDir>>;
beforeEach(async () => {
  dir = await tempDir();
});
afterEach(async () => {
  await dir.cleanup();
});

async function recordAndClose(path: string, value: number): Promise<void> {
  const reader = new DuckDbMetricReader({ path, collectionIntervalMillis: 0 });
  const provider = new MeterProvider({ readers: [reader] });
  provider.getMeter('app').createGauge('queue.length').record(value, { queue: 'emails' });
  await provider.shutdown(); // writes the last collection and closes the file
}

describe('MetricStore across restarts', () => {
  it('keeps the old history, appends new rows to the same series and keeps the schema version', async () => {
    const path = dir.file('h.duckdb');
    await recordAndClose(path, 1);
    await recordAndClose(path, 2);

    const store = await MetricStore.open(path);
    try {
      expect(await store.schemaVersion()).toBe(SCHEMA_VERSION);
      const rows = await store.query(
        `SELECT Value AS value, SeriesId AS id FROM otel_metrics_gauge WHERE MetricName = 'queue.length' ORDER BY TimeUnix`,
      );
      expect(rows.map((row) => row.value)).toEqual([1, 2]);
      expect(new Set(rows.map((row) => row.id)).size).toBe(1);
      expect(
        await store.query(`SELECT count(*) AS n FROM series WHERE metric_name = 'queue.length'`),
      ).toEqual([{ n: 1n }]);
      // One row per migration applied when the file was created, none added by the reopen.
      expect(await store.query('SELECT count(*) AS n FROM perfwatch_schema')).toEqual([
        { n: BigInt(SCHEMA_VERSION) },
      ]);
    } finally {
      await store.close();
    }
  });

  it('refuses a file written by a newer schema and leaves it unchanged', async () => {
    const path = dir.file('future.duckdb');
    await (await MetricStore.open(path)).close();
    const instance = await DuckDBInstance.create(path);
    const connection = await instance.connect();
    await connection.run(`INSERT INTO perfwatch_schema (version, perfwatch_version) VALUES (99, '9.0.0')`);
    connection.closeSync();
    instance.closeSync();

    const error = await MetricStore.open(path).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SchemaVersionError);
    expect((error as SchemaVersionError).code).toBe('PERFWATCH_SCHEMA_TOO_NEW');
    expect((error as Error).message).toBe(
      `database file ${path} has schema version 99, but this perfwatch supports up to version ${SCHEMA_VERSION}; ` +
        'upgrade perfwatch to open it (the file was left unchanged)',
    );
    // Refusing released the file: another open fails the same way, not with a lock error.
    await expect(MetricStore.open(path)).rejects.toBeInstanceOf(SchemaVersionError);
  });

  it('refuses a DuckDB file that is not a perfwatch history', async () => {
    const path = dir.file('other.duckdb');
    const instance = await DuckDBInstance.create(path);
    const connection = await instance.connect();
    await connection.run('CREATE TABLE invoices (id INTEGER)');
    connection.closeSync();
    instance.closeSync();
    await expect(MetricStore.open(path)).rejects.toThrow(/not a perfwatch history/);
  });

  it('says which folder cannot be created', async () => {
    const blocker = dir.file('not-a-folder');
    await writeFile(blocker, 'x');
    const error = await MetricStore.open(`${blocker}/h.duckdb`).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toMatch(
      /^dbPath \(PERFWATCH_DB_PATH\): folder .*not-a-folder cannot be created or written/,
    );
  });

  it("caps DuckDB's memory at 256 MiB, or at the memoryLimitBytes given", async () => {
    const limitOf = async (store: MetricStore) => {
      const [row] = await store.query("SELECT current_setting('memory_limit') AS value");
      await store.close();
      return row?.value;
    };
    expect(await limitOf(await MetricStore.open(dir.file('default.duckdb')))).toBe('256.0 MiB');
    expect(
      await limitOf(await MetricStore.open(dir.file('set.duckdb'), { memoryLimitBytes: 64 * 1024 * 1024 })),
    ).toBe('64.0 MiB');
    const error = await MetricStore.open(dir.file('tiny.duckdb'), { memoryLimitBytes: 1024 }).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toMatch(/^memoryLimitBytes: must be an integer of at least 16777216/);
  });

  it('rejects a garbage file with a StoreError, not a crash', async () => {
    const path = dir.file('garbage.duckdb');
    await writeFile(path, 'this is not a database file at all, just text that is long enough'.repeat(100));
    await expect(MetricStore.open(path)).rejects.toBeInstanceOf(StoreError);
  });
});

describe('MetricStore file lock', () => {
  let holder: ChildProcess | undefined;
  afterEach(() => {
    holder?.kill('SIGKILL');
    holder = undefined;
  });

  it('names the PID of another process that holds the file', async () => {
    const path = dir.file('locked.duckdb');
    await (await MetricStore.open(path)).close();
    holder = spawn(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        `import { DuckDBInstance } from '@duckdb/node-api';
         const instance = await DuckDBInstance.create(process.argv[1]);
         console.log('ready');
         setInterval(() => {}, 1000);`,
        path,
      ],
      { cwd: process.cwd(), stdio: ['ignore', 'pipe', 'inherit'] },
    );
    await once(holder.stdout!, 'data');

    const error = await MetricStore.open(path).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StoreLockedError);
    expect((error as StoreLockedError).holderPid).toBe(holder.pid);
    expect((error as Error).message).toBe(
      `database file ${path} is already in use by another process (PID ${holder.pid}); stop that process or point --db at another file`,
    );
  });

  it('refuses a second open of the same file in this process', async () => {
    const path = dir.file('twice.duckdb');
    const first = await MetricStore.open(path);
    try {
      await expect(MetricStore.open(path)).rejects.toThrow(
        `already in use by this process (PID ${process.pid})`,
      );
    } finally {
      await first.close();
    }
  });
});
