import { writeFile } from 'node:fs/promises';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SqlError, SqlRefusedError, SqlTimeoutError } from '../../src/errors.js';
import { DuckDbMetricReader } from '../../src/reader/DuckDbMetricReader.js';
import { MetricStore } from '../../src/store/MetricStore.js';
import { SqlSandbox } from '../../src/store/SqlSandbox.js';
import { tempDir } from '../helpers/tempDir.js';

let dir: Awaited<ReturnType<typeof tempDir>>;
let sandbox: SqlSandbox;
let path: string;

beforeAll(async () => {
  dir = await tempDir();
  path = dir.file('h.duckdb');
  await writeFile(dir.file('secret.csv'), 'password\nhunter2\n');
  const reader = new DuckDbMetricReader({ path, collectionIntervalMillis: 0 });
  const provider = new MeterProvider({ readers: [reader] });
  const gauge = provider.getMeter('app').createGauge('queue.length');
  for (const value of [3, 5, 8]) {
    gauge.record(value);
    await reader.forceFlush();
  }
  await provider.shutdown();
  sandbox = await SqlSandbox.open(path);
});

afterAll(async () => {
  sandbox?.close();
  await dir.cleanup();
});

describe('SqlSandbox', () => {
  it('runs a SELECT and returns columns, rows and no truncation', async () => {
    const result = await sandbox.run(
      `SELECT MetricName AS metric, sum(Value) AS total, count(*) AS n FROM otel_metrics_gauge GROUP BY ALL`,
    );
    expect(result.columns).toEqual([
      { name: 'metric', type: 'VARCHAR' },
      { name: 'total', type: 'DOUBLE' },
      { name: 'n', type: 'BIGINT' },
    ]);
    // Three flushes plus the final collection written at shutdown.
    expect(result.rows).toEqual([{ metric: 'queue.length', total: 24, n: 4n }]);
    expect(result.truncated).toBe(false);
  });

  it('accepts WITH queries, FROM-first syntax and a trailing semicolon', async () => {
    expect(
      (await sandbox.run('WITH v AS (SELECT Value FROM otel_metrics_gauge) SELECT max(Value) AS m FROM v;'))
        .rows,
    ).toEqual([{ m: 8 }]);
    expect((await sandbox.run('FROM otel_metrics_gauge SELECT min(Value) AS m')).rows).toEqual([{ m: 3 }]);
  });

  it('cuts at the row limit and says so', async () => {
    const result = await sandbox.run('SELECT * FROM range(25) t(i)', { rowLimit: 10 });
    expect(result.rows).toHaveLength(10);
    expect(result.truncated).toBe(true);
    expect(result.rowLimit).toBe(10);
  });

  it('interrupts a query that runs past the timeout', async () => {
    await expect(
      sandbox.run('SELECT count(*) FROM range(100000000000)', { timeoutMillis: 50 }),
    ).rejects.toBeInstanceOf(SqlTimeoutError);
    // The connection is usable afterwards.
    expect((await sandbox.run('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
  });

  const refused: [string, RegExp][] = [
    ["INSERT INTO perfwatch_schema VALUES (2, now(), 'x')", /INSERT is not allowed/],
    ['UPDATE series SET unit = 1', /UPDATE is not allowed/],
    ['DELETE FROM points_number', /DELETE is not allowed/],
    ['CREATE TABLE t (i INTEGER)', /CREATE is not allowed/],
    ['DROP TABLE series', /DROP is not allowed/],
    ['ALTER TABLE series ADD COLUMN x INTEGER', /ALTER is not allowed/],
    ["ATTACH '/tmp/other.duckdb' AS other", /ATTACH is not allowed/],
    ['DETACH other', /DETACH is not allowed/],
    ['INSTALL httpfs', /not allowed/],
    ['LOAD httpfs', /not allowed/],
    ['PRAGMA threads = 4', /not allowed/],
    ['SET enable_external_access = true', /SET is not allowed/],
    ['CHECKPOINT', /not allowed/],
    ['BEGIN TRANSACTION', /BEGIN\/COMMIT is not allowed/],
    ['CALL pragma_version()', /CALL is not allowed/],
    ['SELECT 1; DROP TABLE series', /exactly one statement is allowed, got 2/],
    ['   ', /the statement is empty/],
  ];
  it.each(refused)('refuses %s', async (sql, reason) => {
    const error = await sandbox.run(sql).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SqlRefusedError);
    expect((error as SqlRefusedError).code).toBe('PERFWATCH_SQL_REFUSED');
    expect((error as Error).message).toMatch(reason);
  });

  // DuckDB itself rejects these while binding (external access is off), before our check runs.
  const blockedWrites = [
    "COPY series TO '/tmp/perfwatch-stolen.csv'",
    "COPY series FROM '/tmp/perfwatch-in.csv'",
    "EXPORT DATABASE '/tmp/perfwatch-export'",
    'PRAGMA enable_external_access',
  ];
  it.each(blockedWrites)('blocks %s', async (sql) => {
    const error = await sandbox.run(sql).catch((e: unknown) => e);
    // A permission refusal is PERFWATCH_SQL_REFUSED (403 through the API), anything else a failure.
    if ((error as Error).message.includes('Permission Error')) expect(error).toBeInstanceOf(SqlRefusedError);
    else expect(error).toBeInstanceOf(SqlError);
    expect((error as Error).message).toMatch(/not allowed|Permission Error|does not exist/);
  });

  const blockedReads = [
    `SELECT * FROM read_csv('${'SECRET'}')`,
    `SELECT * FROM read_text('${'SECRET'}')`,
    `SELECT * FROM glob('/etc/*')`,
    `SELECT * FROM read_parquet('http://127.0.0.1:1/x.parquet')`,
    `SELECT * FROM 'SECRET'`,
  ];
  it.each(blockedReads)('blocks file and network access: %s', async (template) => {
    const sql = template.replace('SECRET', dir.file('secret.csv'));
    const error = await sandbox.run(sql).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SqlRefusedError);
    expect((error as Error).message).toMatch(/disabled|Permission|not allowed|external access/i);
  });

  it('leaves the file unchanged', async () => {
    const store = await MetricStore.open(dir.file('h-copy-check.duckdb'));
    await store.close();
    const rows = (await sandbox.run('SELECT count(*) AS n FROM points_number')).rows;
    expect(rows).toEqual([{ n: 4n }]);
  });

  it('reports a syntax error as an SqlError, not a crash', async () => {
    await expect(sandbox.run('SELEC 1')).rejects.toThrow(/syntax error/i);
  });
});
