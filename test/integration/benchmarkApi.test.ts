import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ApiServer, createApiServer } from '../../src/server/createApiServer.js';
import { resolveApiConfig } from '../../src/server/resolveApiConfig.js';
import { type PerfWatch, startPerfWatch } from '../../src/startPerfWatch.js';
import { benchmarkFixture, MINUTE, T0 } from '../helpers/benchmarkFixture.js';
import { captureLogger } from '../helpers/captureLogger.js';
import { writeFixtureFile } from '../helpers/fixtureCollection.js';
import { manualScheduler } from '../helpers/manualScheduler.js';
import { tempDir } from '../helpers/tempDir.js';

const API = '/api/performance';
let perfwatch: PerfWatch;
let server: ApiServer;
let cleanup: () => Promise<void>;
/** The API's clock: the benchmark is taken at 01:00, compared at 01:20 (after the 01:00 step). */
let now = (T0 + 60 * MINUTE) * 1000;

beforeAll(async () => {
  const dir = await tempDir();
  const dbPath = dir.file('history.duckdb');
  await writeFixtureFile(dbPath, benchmarkFixture());
  perfwatch = await startPerfWatch({
    dbPath,
    serviceName: 'api-test',
    collectionIntervalMillis: 60_000,
    prometheusPort: 0,
    regressionIntervalMinutes: 0,
    hostMetrics: false,
    runtimeMetrics: false,
    defaultAlertRules: false,
    scheduler: manualScheduler(),
    logger: captureLogger(),
  });
  server = await createApiServer(perfwatch, resolveApiConfig({ port: 0 }, {}), { now: () => now });
  cleanup = async () => {
    await server.close();
    await perfwatch.shutdown();
    await dir.cleanup();
  };
}, 60_000);

afterAll(() => cleanup?.());

async function call(method: 'GET' | 'POST' | 'DELETE', url: string, payload?: object) {
  const response = await server.app.inject({
    method,
    url: `${API}${url}`,
    ...(payload === undefined ? {} : { payload }),
  });
  return { status: response.statusCode, body: response.json() };
}

describe('HTTP API: benchmarks', () => {
  it('creates, lists, compares by the name in the path, refuses duplicates and deletes', async () => {
    now = (T0 + 60 * MINUTE) * 1000;
    const created = await call('POST', '/benchmarks', { name: 'baseline', services: ['checkout'] });
    expect(created.status).toBe(201);
    expect(created.body.data.benchmark).toMatchObject({
      name: 'baseline',
      from: new Date(T0 * 1000).toISOString(),
      seriesCount: 6,
      services: ['checkout'],
    });
    expect(created.body.data.benchmark.series[0].values).toBeUndefined();
    const duplicate = await call('POST', '/benchmarks', { name: 'baseline' });
    expect(duplicate.status).toBe(409);
    expect(duplicate.body.error).toMatchObject({
      code: 'PERFWATCH_BENCHMARK_EXISTS',
      details: { field: 'name' },
    });
    const unknownField = await call('POST', '/benchmarks', { name: 'x', duration: 60 });
    expect(unknownField.status).toBe(400);
    expect(unknownField.body.error.message).toContain('unknown field "duration"');

    const listed = await call('GET', '/benchmarks');
    expect(listed.body.data.benchmarks.map((b: { name: string }) => b.name)).toEqual(['baseline']);

    now = (T0 + 80 * MINUTE) * 1000;
    const compared = await call('POST', '/benchmarks/baseline/compare', { window_minutes: 10 });
    expect(compared.status).toBe(200);
    const comparison = compared.body.data.comparison;
    expect(comparison.benchmark.name).toBe('baseline');
    expect(comparison.against).toMatchObject({
      kind: 'window',
      from: new Date((T0 + 70 * MINUTE) * 1000).toISOString(),
    });
    expect(comparison.summary.degraded).toBeGreaterThan(0);
    expect(
      comparison.series.find((s: { metric: string }) => s.metric === 'app.request.latency').verdict,
    ).toBe('degraded');

    const missing = await call('POST', '/benchmarks/nope/compare', {});
    expect(missing.status).toBe(404);
    expect(missing.body.error.code).toBe('PERFWATCH_BENCHMARK_NOT_FOUND');
    expect((await call('GET', '/benchmarks/nope')).status).toBe(404);
    const empty = await call('POST', '/benchmarks', { name: 'empty', services: ['nobody'] });
    expect(empty.status).toBe(422);
    expect(empty.body.error.code).toBe('PERFWATCH_BENCHMARK_NO_DATA');

    expect((await call('GET', '/benchmarks/baseline')).body.data.benchmark.series).toHaveLength(6);
    expect((await call('DELETE', '/benchmarks/baseline')).body.data).toEqual({ deleted: 'baseline' });
    expect((await call('GET', '/benchmarks')).body.data.benchmarks).toEqual([]);
  });

  it('documents the benchmark routes in openapi.json', async () => {
    const { body } = await call('GET', '/openapi.json');
    for (const path of ['/benchmarks', '/benchmarks/{name}', '/benchmarks/{name}/compare'])
      expect(Object.keys(body.paths)).toContain(`${API}${path}`);
    expect(
      body.paths[`${API}/benchmarks`].post.requestBody.content['application/json'].schema.properties
        .duration_minutes,
    ).toMatchObject({ default: 60 });
  });
});
