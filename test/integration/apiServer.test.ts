import { get } from 'node:http';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { type ApiServer, createApiServer } from '../../src/server/createApiServer.js';
import { resolveApiConfig } from '../../src/server/resolveApiConfig.js';
import { type PerfWatch, startPerfWatch } from '../../src/startPerfWatch.js';
import { listRegressions } from '../../src/store/regressionRecords.js';
import { captureLogger } from '../helpers/captureLogger.js';
import { writeFixtureFile } from '../helpers/fixtureCollection.js';
import { manualScheduler } from '../helpers/manualScheduler.js';
import { seedPoints } from '../helpers/seedHistory.js';
import { tempDir } from '../helpers/tempDir.js';

const API = '/api/performance';
const TOKEN = 'test-token-0123456789abcdef';
let perfwatch: PerfWatch;
let server: ApiServer;
let secured: ApiServer;
let cleanup: () => Promise<void>;

beforeAll(async () => {
  const dir = await tempDir();
  const dbPath = dir.file('history.duckdb');
  await writeFixtureFile(dbPath, seedPoints(Date.now() / 1000));
  perfwatch = await startPerfWatch({
    dbPath,
    serviceName: 'api-test',
    collectionIntervalMillis: 60_000,
    prometheusPort: 0,
    regressionIntervalMinutes: 0,
    hostMetrics: false,
    runtimeMetrics: false,
    scheduler: manualScheduler(),
    logger: captureLogger(),
  });
  // The regression cycle reads 1-minute rollups, which the hourly schedule has not written yet.
  await perfwatch.store.rollUp();
  await perfwatch.regressions.runCycle();
  await perfwatch.forceFlush();
  server = await createApiServer(perfwatch, resolveApiConfig({ port: 0, bodyLimitBytes: 4096 }, {}));
  secured = await createApiServer(perfwatch, resolveApiConfig({ port: 0, token: TOKEN }, {}));
  cleanup = async () => {
    await server.close();
    await secured.close();
    await perfwatch.shutdown();
    await dir.cleanup();
  };
}, 60_000);

afterAll(() => cleanup?.());

async function call(method: 'GET' | 'POST' | 'DELETE', url: string, payload?: object, app = server) {
  const response = await app.app.inject({
    method,
    url: `${API}${url}`,
    // As every client must: a mutating request without a JSON (or YAML) type is refused (CSRF).
    ...(method === 'GET' ? {} : { headers: { 'content-type': 'application/json' } }),
    ...(payload === undefined ? {} : { payload }),
  });
  return { status: response.statusCode, body: response.json(), headers: response.headers };
}

/** A 400 must name the field and the rule. */
async function expectInvalid(
  method: 'GET' | 'POST',
  url: string,
  field: string,
  rule: string,
  payload?: object,
) {
  const { status, body } = await call(method, url, payload);
  expect(status).toBe(400);
  expect(body.status).toBe('error');
  expect(body.error.code).toBe('PERFWATCH_REQUEST_INVALID');
  expect(body.error.details.field).toBe(field);
  expect(body.error.details.rule).toBe(rule);
  expect(body.error.message).toContain(field);
}

describe('HTTP API: reads', () => {
  it('GET metrics buckets a metric from the history, filtered and grouped', async () => {
    const { status, body } = await call(
      'GET',
      '/metrics?metric_name=system.cpu.utilization&hours=2&step=10m&aggregation=max&group_by=system.cpu.state',
    );
    expect(status).toBe(200);
    expect(body.status).toBe('success');
    expect(body.data.stepSeconds).toBe(600);
    const states = body.data.series.map(
      (series: { labels: Record<string, string> }) => series.labels['system.cpu.state'],
    );
    expect(states.sort()).toEqual(['idle', 'user']);
    const idle = body.data.series.find(
      (series: { labels: Record<string, string> }) => series.labels['system.cpu.state'] === 'idle',
    );
    expect(
      idle.points.filter((point: { value: number | null }) => point.value !== null).length,
    ).toBeGreaterThanOrEqual(11);
  });

  it('GET metrics takes service_name, where, match, from/to and pages groups with limit', async () => {
    const to = new Date();
    const from = new Date(to.getTime() - 3_600_000);
    const { body } = await call(
      'GET',
      `/metrics?metric_name=process.memory.usage&service_name=checkout&from=${from.toISOString()}&to=${to.toISOString()}&step=5m&where=host.name=web-1&match=service.version%3D~1%5C..*`,
    );
    expect(body.data.series).toHaveLength(1);
    expect(body.data.truncated).toBe(false);
    const paged = await call(
      'GET',
      '/metrics?metric_name=system.cpu.utilization&hours=1&group_by=system.cpu.state&limit=1',
    );
    expect(paged.body.data.series).toHaveLength(1);
    expect(paged.body.data.totalGroups).toBe(2);
    expect(paged.body.data.truncated).toBe(true);
    const none = await call('GET', '/metrics?metric_name=process.memory.usage&service_name=nobody&hours=1');
    expect(none.body.data.series).toEqual([]);
  });

  it('GET metrics without metric_name lists the metrics with data', async () => {
    const { body } = await call('GET', '/metrics?hours=3&limit=2');
    expect(body.data.totalMetrics).toBeGreaterThanOrEqual(3);
    expect(body.data.metrics).toHaveLength(2);
  });

  it('GET metrics: each bad parameter is a 400 naming the field and the rule', async () => {
    await expectInvalid('GET', '/metrics?hours=0', 'hours', 'minimum');
    await expectInvalid('GET', '/metrics?metric_name=a&step=0s', 'step', 'range');
    await expectInvalid('GET', '/metrics?metric_name=a&step=9999w', 'step', 'range');
    await expectInvalid('GET', '/metrics?metric_name=a&match=host.name%3D~(', 'match.0', 'pattern');
    await expectInvalid('GET', '/metrics?hours=169', 'hours', 'maximum');
    await expectInvalid('GET', '/metrics?hours=abc', 'hours', 'type');
    await expectInvalid('GET', '/metrics?limit=0', 'limit', 'minimum');
    await expectInvalid('GET', '/metrics?limit=10001', 'limit', 'maximum');
    await expectInvalid('GET', '/metrics?metric_name=a&aggregation=median', 'aggregation', 'enum');
    await expectInvalid('GET', '/metrics?metric_name=a&step=5minutes', 'step', 'pattern');
    await expectInvalid('GET', '/metrics?where=novalue', 'where.0', 'pattern');
    await expectInvalid('GET', '/metrics?colour=red', 'colour', 'additionalProperties');
    await expectInvalid('GET', '/metrics?metric_name=a&from=yesterday', 'from', 'format');
    await expectInvalid('GET', '/metrics?metric_name=a&to=2026-01-01T00:00:00Z', 'to', 'dependencies');
    await expectInvalid(
      'GET',
      '/metrics?metric_name=a&from=2026-01-02T00:00:00Z&to=2026-01-01T00:00:00Z',
      'from',
      'order',
    );
    await expectInvalid('GET', '/metrics?metric_name=a&hours=2&from=2026-01-02T00:00:00Z', 'hours', 'not');
  });

  it('GET metrics: an unknown metric is a 400 suggesting the closest name (not a 500)', async () => {
    const { status, body } = await call('GET', '/metrics?metric_name=system.cpu.utilisation&hours=1');
    expect(status).toBe(400);
    expect(body.error.code).toBe('PERFWATCH_QUERY_INVALID');
    expect(body.error.message).toContain('system.cpu.utilization');
  });

  it('GET dashboard summarises each panel over the range, with alerts and open regressions', async () => {
    const { status, body } = await call('GET', '/dashboard?range=2h');
    expect(status).toBe(200);
    const cpu = body.data.panels.find((panel: { id: string }) => panel.id === 'cpu');
    expect(cpu.available).toBe(true);
    expect(cpu.summary.current).toBeGreaterThan(0.2);
    expect(cpu.summary.current).toBeLessThan(0.4);
    expect(cpu.summary.min).toBeLessThanOrEqual(cpu.summary.avg);
    expect(['rising', 'falling', 'stable']).toContain(cpu.summary.trend);
    expect(cpu.series).toBeUndefined();
    const http = body.data.panels.find((panel: { id: string }) => panel.id === 'http-rate');
    expect(http.available).toBe(false);
    expect(http.emptyHint).toContain('instrument your server');
    expect(body.data.openRegressions).toBeGreaterThanOrEqual(1);
    expect(body.data.regressions[0].explanation).toMatch(/\w+/);
    expect(Array.isArray(body.data.alerts)).toBe(true);
    await expectInvalid('GET', '/dashboard?range=90d', 'range', 'range');
    await expectInvalid('GET', '/dashboard?range=soon', 'range', 'pattern');
  });

  it('GET dashboard?series=true carries aligned points; dashboard/export is a download', async () => {
    const { body } = await call('GET', '/dashboard?range=1h&series=true&service_name=checkout');
    const memory = body.data.panels.find((panel: { id: string }) => panel.id === 'process-memory');
    expect(memory.series[0].values).toHaveLength(body.data.times.length);
    const exported = await call('GET', '/dashboard/export?range=1h');
    expect(exported.headers['content-disposition']).toMatch(
      /^attachment; filename="perfwatch-dashboard-.*\.json"$/,
    );
    expect(exported.body.data.generatedAt).toBeTruthy();
    expect(exported.body.data.panels[0].series).toBeDefined();
  });

  it('GET system reports the host, the process and recent values', async () => {
    const { body } = await call('GET', '/system');
    expect(body.data.host.cpus).toBeGreaterThan(0);
    expect(body.data.process.pid).toBe(process.pid);
    expect(body.data.metrics.cpu.values.busy).toBeGreaterThan(0);
  });

  it('GET services and services/{name}; 404 for an unknown service', async () => {
    const { body } = await call('GET', '/services');
    const names = body.data.services.map((service: { name: string }) => service.name);
    expect(names).toContain('checkout');
    const one = await call('GET', '/services/checkout');
    expect(one.status).toBe(200);
    expect(one.body.data.versions).toEqual(['1.0.0']);
    expect(one.body.data.metrics.map((metric: { metric: string }) => metric.metric)).toContain(
      'process.memory.usage',
    );
    expect(one.body.data.openRegressions.length).toBeGreaterThanOrEqual(1);
    const missing = await call('GET', '/services/nowhere');
    expect(missing.status).toBe(404);
    expect(missing.body.error.code).toBe('PERFWATCH_NOT_FOUND');
  });

  it('GET regressions?hours and regressions/{id} with the series around the change', async () => {
    const { body } = await call('GET', '/regressions?hours=24&status=open&service_name=checkout');
    expect(body.data.count).toBeGreaterThanOrEqual(1);
    const record = body.data.regressions.find((r: { metric: string }) => r.metric === 'process.memory.usage');
    expect(record.kind).toBe('regression');
    expect(record.explanation).toContain('process.memory.usage');
    const one = await call('GET', `/regressions/${record.id}`);
    expect(one.status).toBe(200);
    expect(one.body.data.context.points.length).toBeGreaterThan(10);
    expect(one.body.data.context.baseline.from).toBeTruthy();
    expect((await call('GET', '/regressions/0123456789ab')).status).toBe(404);
    await expectInvalid('GET', '/regressions/not-an-id', 'id', 'pattern');
    await expectInvalid('GET', '/regressions?hours=200', 'hours', 'maximum');
    await expectInvalid('GET', '/regressions?severity=huge', 'severity', 'enum');
    const deploys = await call('GET', '/deploys?hours=24');
    expect(Array.isArray(deploys.body.data.deployVerdicts)).toBe(true);
  });

  it('GET alerts, alerts/history and rules', async () => {
    const alerts = await call('GET', '/alerts');
    expect(alerts.body.data.evaluating).toBe(true);
    expect(alerts.body.data.alerts.some((alert: { rule: string }) => alert.rule === 'HighCpuUsage')).toBe(
      true,
    );
    const history = await call('GET', '/alerts/history?hours=1');
    expect(history.body.data.events.length).toBeGreaterThan(0);
    expect(history.body.data.events[0].time).toMatch(/^\d{4}-/);
    await expectInvalid('GET', '/alerts/history?rule=bad name', 'rule', 'pattern');
    await expectInvalid('GET', '/alerts?state=burning', 'state', 'enum');
    const rules = await call('GET', '/rules');
    const cpu = rules.body.data.rules.find((rule: { name: string }) => rule.name === 'HighCpuUsage');
    expect(cpu).toMatchObject({
      metric: 'system.cpu.utilization',
      comparison: '<',
      severity: 'warning',
      enabled: true,
    });
    expect(typeof cpu.triggerCount).toBe('number');
  });

  it("GET health and GET prometheus (the exporter's own text)", async () => {
    const health = await call('GET', '/health');
    expect(health.body.data).toMatchObject({
      status: 'ok',
      monitoringActive: true,
      collectionIntervalSeconds: 60,
      writeErrors: 0,
    });
    expect(health.body.data.pointsWritten).toBeGreaterThan(0);
    expect(health.body.data.database.sizeBytes).toBeGreaterThan(0);
    const response = await server.app.inject({ url: `${API}/prometheus` });
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toContain('text/plain');
    expect(response.body).toContain('# TYPE perfwatch_store_points_written_total counter');
  });

  it('GET openapi.json documents every route', async () => {
    const { body } = await call('GET', '/openapi.json');
    expect(body.openapi).toBe('3.0.3');
    for (const path of [
      '/metrics',
      '/dashboard',
      '/regressions/{id}',
      '/sql',
      '/events',
      '/alerts/history',
    ]) {
      expect(Object.keys(body.paths)).toContain(`${API}${path}`);
    }
    const hours = body.paths[`${API}/regressions`].get.parameters.find(
      (p: { name: string }) => p.name === 'hours',
    );
    expect(hours.schema).toMatchObject({ minimum: 1, maximum: 168, default: 24 });
  });
});

describe('HTTP API: writes, SQL and errors', () => {
  it('POST metrics records through one reused OTel instrument; the value reaches the history', async () => {
    const first = await call('POST', '/metrics', {
      name: 'app.orders',
      value: 2,
      type: 'counter',
      attributes: { channel: 'web' },
    });
    expect(first.status).toBe(202);
    await call('POST', '/metrics', {
      name: 'app.orders',
      value: 3,
      type: 'counter',
      attributes: { channel: 'web' },
    });
    await call('POST', '/metrics', { name: 'app.queue.depth', value: 7, unit: '{message}' });
    await perfwatch.forceFlush();
    const rows = await perfwatch.store.query(
      `SELECT s.metric_name, max(p.value) AS value FROM points_number p JOIN series s USING (series_ref)
       WHERE s.metric_name IN ('app.orders', 'app.queue.depth') GROUP BY ALL ORDER BY 1`,
    );
    expect(rows).toEqual([
      { metric_name: 'app.orders', value: 5 },
      { metric_name: 'app.queue.depth', value: 7 },
    ]);
    const conflict = await call('POST', '/metrics', { name: 'app.orders', value: 1, type: 'gauge' });
    expect(conflict.status).toBe(409);
    expect(conflict.body.error.details.field).toBe('type');
  });

  it('GET metrics answers from its cache until the history changes', async () => {
    const read = async () => {
      const { body } = await call('GET', '/metrics?metric_name=app.cache.level&hours=1&aggregation=last');
      return body.data.series[0].points
        .map((point: { value: number | null }) => point.value)
        .filter((value: number | null) => value !== null)
        .at(-1);
    };
    await call('POST', '/metrics', { name: 'app.cache.level', value: 1 });
    await perfwatch.forceFlush();
    expect(await read()).toBe(1);
    const version = perfwatch.store.dataVersion;
    expect(await read()).toBe(1);
    await call('POST', '/metrics', { name: 'app.cache.level', value: 2 });
    await perfwatch.forceFlush();
    expect(perfwatch.store.dataVersion).toBeGreaterThan(version);
    expect(await read()).toBe(2);
  });

  it('POST metrics: unknown fields and bad values are 400s naming the field', async () => {
    await expectInvalid('POST', '/metrics', 'colour', 'additionalProperties', {
      name: 'a.b',
      value: 1,
      colour: 'red',
    });
    await expectInvalid('POST', '/metrics', 'value', 'required', { name: 'a.b' });
    await expectInvalid('POST', '/metrics', 'value', 'type', { name: 'a.b', value: 'high' });
    await expectInvalid('POST', '/metrics', 'type', 'enum', { name: 'a.b', value: 1, type: 'timer' });
    await expectInvalid('POST', '/metrics', 'name', 'pattern', { name: '1bad name', value: 1 });
    await expectInvalid('POST', '/metrics', 'attributes.nested', 'type', {
      name: 'a.b',
      value: 1,
      attributes: { nested: {} },
    });
    await expectInvalid('POST', '/metrics', 'value', 'minimum', {
      name: 'app.down',
      value: -1,
      type: 'counter',
    });
    const malformed = await server.app.inject({
      method: 'POST',
      url: `${API}/metrics`,
      headers: { 'content-type': 'application/json' },
      payload: '{"name":',
    });
    expect(malformed.statusCode).toBe(400);
    expect(malformed.json().status).toBe('error');
  });

  it('POST cleanup?retention_days deletes old points; the bounds are checked', async () => {
    const { status, body } = await call('POST', '/cleanup?retention_days=365');
    expect(status).toBe(200);
    expect(body.data.retentionDays).toBe(365);
    expect(body.data.deletedPoints).toBe(0);
    await expectInvalid('POST', '/cleanup?retention_days=0', 'retention_days', 'minimum');
    await expectInvalid('POST', '/cleanup?retention_days=366', 'retention_days', 'maximum');
  });

  it('POST sql answers a SELECT; refuses writes (403) and file access (403); limits rows', async () => {
    const ok = await call('POST', '/sql', {
      sql: "SELECT count(*) AS n FROM series WHERE service_name = 'checkout'",
    });
    expect(ok.status).toBe(200);
    expect(ok.body.data.rows[0].n).toBeGreaterThan(0);
    expect(ok.body.data.snapshotAt).toBeTruthy();
    const cut = await call('POST', '/sql', { sql: 'SELECT * FROM range(10)', max_rows: 3 });
    expect(cut.body.data.rows).toHaveLength(3);
    expect(cut.body.data.truncated).toBe(true);
    for (const sql of [
      'DELETE FROM series',
      'DROP TABLE series',
      "ATTACH '/tmp/other.duckdb'",
      'SELECT 1; SELECT 2',
    ]) {
      const refused = await call('POST', '/sql', { sql });
      expect(refused.status).toBe(403);
      expect(refused.body.error.code).toBe('PERFWATCH_SQL_REFUSED');
    }
    for (const sql of [
      "SELECT * FROM read_csv('/etc/passwd')",
      "SELECT * FROM 'package.json'",
      "SELECT * FROM read_text('/etc/hostname')",
      "COPY series TO '/tmp/perfwatch-leak.csv'",
    ]) {
      const refused = await call('POST', '/sql', { sql });
      expect(refused.status).toBe(403);
      expect(refused.body.error.code).toBe('PERFWATCH_SQL_REFUSED');
      expect(refused.body.error.message).toContain('Permission Error');
    }
    const broken = await call('POST', '/sql', { sql: 'SELECT nope FROM series' });
    expect(broken.status).toBe(400);
    expect(broken.body.error.code).toBe('PERFWATCH_SQL_FAILED');
    await expectInvalid('POST', '/sql', 'sql', 'required', {});
    await expectInvalid('POST', '/sql', 'max_rows', 'maximum', { sql: 'SELECT 1', max_rows: 1_000_000 });
    // The live file is untouched.
    expect((await perfwatch.store.query('SELECT count(*) AS n FROM series'))[0]?.n).toBeGreaterThan(0n);
  });

  it('unknown routes are 404 envelopes; bodies over the limit are 413', async () => {
    const missing = await server.app.inject({ url: `${API}/nothing` });
    expect(missing.statusCode).toBe(404);
    expect(missing.json().error.code).toBe('PERFWATCH_NOT_FOUND');
    const big = await call('POST', '/metrics', { name: 'a.b', value: 1, description: 'x'.repeat(5000) });
    expect(big.status).toBe(413);
    expect(big.body.error.code).toBe('PERFWATCH_BODY_TOO_LARGE');
  });
});

describe('HTTP API: benchmarks', () => {
  it('creates, lists, shows, compares by the name in the path, and deletes a benchmark', async () => {
    const now = Date.now();
    const created = await call('POST', '/benchmarks', {
      name: 'before-release',
      from: new Date(now - 6 * 3_600_000).toISOString(),
      to: new Date(now - 3 * 3_600_000).toISOString(),
      services: ['checkout'],
    });
    expect(created.status).toBe(201);
    expect(created.body.data).toMatchObject({ name: 'before-release', services: ['checkout'] });
    expect(created.body.data.seriesCount).toBeGreaterThan(0);
    expect(created.body.data.series).toBeUndefined();

    const again = await call('POST', '/benchmarks', { name: 'before-release' });
    expect(again.status).toBe(409);
    expect(again.body.error).toMatchObject({
      code: 'PERFWATCH_BENCHMARK_EXISTS',
      details: { field: 'name' },
    });

    const listed = await call('GET', '/benchmarks');
    expect(listed.body.data.benchmarks.map((b: { name: string }) => b.name)).toContain('before-release');
    const shown = await call('GET', '/benchmarks/before-release');
    const memory = shown.body.data.series.find(
      (s: { metric: string }) => s.metric === 'process.memory.usage',
    );
    expect(memory.stats.n).toBeGreaterThan(100);
    expect(memory.values).toBeUndefined();

    // checkout's memory rose by half two hours ago: the last hour is degraded against the benchmark.
    const compared = await call('POST', '/benchmarks/before-release/compare', { window_minutes: 60 });
    expect(compared.status).toBe(200);
    expect(compared.body.data.benchmark.name).toBe('before-release');
    const verdict = compared.body.data.series.find(
      (s: { metric: string }) => s.metric === 'process.memory.usage',
    );
    expect(verdict.verdict).toBe('degraded');
    expect(compared.body.data.summary.degraded).toBeGreaterThanOrEqual(1);

    expect((await call('POST', '/benchmarks/nothing-here/compare', {})).status).toBe(404);
    expect((await call('DELETE', '/benchmarks/before-release')).body.data).toEqual({
      deleted: 'before-release',
    });
    expect((await call('GET', '/benchmarks/before-release')).status).toBe(404);
  });

  it('refuses bad bodies naming the field', async () => {
    await expectInvalid('POST', '/benchmarks', 'duration_minutes', 'minimum', {
      name: 'x',
      duration_minutes: 0,
    });
    await expectInvalid('POST', '/benchmarks', 'colour', 'additionalProperties', {
      name: 'x',
      colour: 'red',
    });
    await expectInvalid('GET', `/benchmarks/${'n'.repeat(129)}`, 'name', 'maxLength');
    await expectInvalid('POST', '/benchmarks/x/compare', 'window_minutes', 'minimum', { window_minutes: 0 });
    await expectInvalid('POST', '/benchmarks/x/compare', 'stable_band', 'maximum', { stable_band: 2 });
    await expectInvalid('POST', '/benchmarks/x/compare', 'against', 'additionalProperties', {
      against: 'y',
    });
    const missing = await call('DELETE', '/benchmarks/never-created');
    expect(missing.status).toBe(404);
    expect(missing.body.error.code).toBe('PERFWATCH_BENCHMARK_NOT_FOUND');
  });

  it('answers numbers that are not finite, over-long and malformed URLs inside the envelope', async () => {
    for (const url of [
      '/regressions?hours=Infinity',
      '/regressions?hours=1e309',
      '/deploys?hours=Infinity',
      '/alerts/history?hours=1e309',
      '/metrics?metric_name=a&hours=-Infinity',
    ]) {
      const { status, body } = await call('GET', url);
      expect(status, url).toBe(400);
      expect(body.error).toMatchObject({
        code: 'PERFWATCH_REQUEST_INVALID',
        details: { location: 'querystring', field: 'hours', rule: 'finite' },
      });
    }
    const huge = await call('POST', '/metrics', { name: 'a.b', value: 1 });
    expect(huge.status).toBe(202);
    const infinite = await server.app.inject({
      method: 'POST',
      url: `${API}/metrics`,
      headers: { 'content-type': 'application/json' },
      payload: '{"name":"a.b","value":1e309}',
    });
    expect(infinite.statusCode).toBe(400);
    expect(infinite.json().error.details).toMatchObject({ location: 'body', field: 'value' });
    const long = await call('GET', `/services/${'x'.repeat(2000)}`);
    expect(long.status).toBe(414);
    expect(long.body.error.code).toBe('PERFWATCH_URI_TOO_LONG');
    const malformed = await call('GET', '/services/%E0%A4%A');
    expect(malformed.status).toBe(400);
    expect(malformed.body.status).toBe('error');
    expect(malformed.body.error.code).toBe('PERFWATCH_REQUEST_INVALID');
  });

  it('other routes name the bad parameter too; a body of another media type is a 415', async () => {
    await expectInvalid('GET', `/services/${'s'.repeat(257)}`, 'name', 'maxLength');
    await expectInvalid('GET', '/deploys?hours=0', 'hours', 'minimum');
    await expectInvalid('GET', '/dashboard/export?range=31d', 'range', 'range');
    await expectInvalid('GET', '/dashboard?series=maybe', 'series', 'type');
    const xml = await server.app.inject({
      method: 'POST',
      url: `${API}/metrics`,
      headers: { 'content-type': 'application/xml' },
      payload: '<metric name="a.b" value="1"/>',
    });
    expect(xml.statusCode).toBe(415);
    expect(xml.json().error.code).toBe('PERFWATCH_UNSUPPORTED_MEDIA_TYPE');
    // Plain text is what a form or a cross-site fetch can send without a preflight: refused (CSRF).
    const text = await server.app.inject({
      method: 'POST',
      url: `${API}/metrics`,
      headers: { 'content-type': 'text/plain' },
      payload: 'name=a.b value=1',
    });
    expect(text.statusCode).toBe(415);
    expect(text.json().error.code).toBe('PERFWATCH_UNSUPPORTED_MEDIA_TYPE');
  });
});

describe('HTTP API: token', () => {
  it('with a token, mutating routes and POST sql need the bearer token (401); reads stay open', async () => {
    for (const [url, payload] of [
      ['/metrics', { name: 'a.b', value: 1 }],
      ['/sql', { sql: 'SELECT 1' }],
      ['/cleanup', undefined],
      ['/benchmarks', { name: 'guarded' }],
      ['/benchmarks/guarded/compare', {}],
    ] as const) {
      const denied = await call('POST', url, payload, secured);
      expect(denied.status).toBe(401);
      expect(denied.body.error.code).toBe('PERFWATCH_UNAUTHORIZED');
      expect(denied.headers['www-authenticate']).toContain('Bearer');
      const wrong = await secured.app.inject({
        method: 'POST',
        url: `${API}${url}`,
        headers: { authorization: 'Bearer wrong-token-0123456789abcdef' },
        ...(payload === undefined ? {} : { payload }),
      });
      expect(wrong.statusCode).toBe(401);
    }
    const allowed = await secured.app.inject({
      method: 'POST',
      url: `${API}/sql`,
      headers: { authorization: `Bearer ${TOKEN}` },
      payload: { sql: 'SELECT 42 AS answer' },
    });
    expect(allowed.statusCode).toBe(200);
    expect(allowed.json().data.rows).toEqual([{ answer: 42 }]);
    expect((await call('GET', '/health', undefined, secured)).status).toBe(200);
  });

  it('refuses a non-loopback host without a token; no CORS headers unless configured', async () => {
    expect(() => resolveApiConfig({ host: '0.0.0.0' }, {})).toThrow(/apiHost.*API token/);
    expect(() => resolveApiConfig({ token: 'short' }, {})).toThrow(/at least 16/);
    expect(resolveApiConfig({ host: '0.0.0.0', token: TOKEN }, {}).host).toBe('0.0.0.0');
    expect(resolveApiConfig({}, { PERFWATCH_API_PORT: '0' }).port).toBe(0);
    expect(() => resolveApiConfig({}, { PERFWATCH_API_PORT: 'http' })).toThrow(/PERFWATCH_API_PORT/);
    const plain = await server.app.inject({
      url: `${API}/health`,
      headers: { origin: 'https://evil.example' },
    });
    expect(plain.headers['access-control-allow-origin']).toBeUndefined();
    const cors = await createApiServer(
      perfwatch,
      resolveApiConfig({ corsOrigins: ['https://ops.example'] }, {}),
    );
    try {
      const allowed = await cors.app.inject({
        url: `${API}/health`,
        headers: { origin: 'https://ops.example' },
      });
      expect(allowed.headers['access-control-allow-origin']).toBe('https://ops.example');
    } finally {
      await cors.close();
    }
  });
});

describe('HTTP API: events', () => {
  it('GET events streams a collection event after a forced collection', async () => {
    await server.app.listen({ host: '127.0.0.1', port: 0 });
    const address = server.app.server.address() as { port: number };
    const received = await new Promise<string>((resolve, reject) => {
      const request = get({ host: '127.0.0.1', port: address.port, path: `${API}/events` }, (response) => {
        expect(response.headers['content-type']).toContain('text/event-stream');
        let text = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => {
          text += chunk;
          if (text.includes('event: collection')) {
            request.destroy();
            resolve(text);
          }
        });
        // The stream is attached once the headers arrive: now collect.
        perfwatch.forceFlush().catch(reject);
      });
      request.on('error', (error) => {
        if (!(error as NodeJS.ErrnoException).code?.includes('ECONNRESET')) reject(error);
      });
    });
    const data = /event: collection\ndata: (.*)\n/.exec(received)?.[1];
    expect(JSON.parse(data as string).collectionsWritten).toBeGreaterThan(1);
    await vi.waitFor(() => expect(server.events.clientCount).toBe(0), { timeout: 2000, interval: 10 });
  });

  it('the seeded regression is recorded (the fixture the dashboard and browser tests rely on)', async () => {
    const records = await listRegressions(perfwatch.store, { status: 'open', service: 'checkout' });
    expect(records.map((record) => record.metric)).toContain('process.memory.usage');
  });
});
