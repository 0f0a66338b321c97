import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nestingDepth } from '../../src/server/requestGuards.js';
import { resolveApiConfig } from '../../src/server/resolveApiConfig.js';
import { type RunningApiServer, startApiServer } from '../../src/server/startApiServer.js';
import { type PerfWatch, startPerfWatch } from '../../src/startPerfWatch.js';
import { captureLogger } from '../helpers/captureLogger.js';
import { writeFixtureFile } from '../helpers/fixtureCollection.js';
import { manualScheduler } from '../helpers/manualScheduler.js';
import { seedPoints } from '../helpers/seedHistory.js';
import { tempDir } from '../helpers/tempDir.js';

/*
 * A web page in the user's browser must not be able to drive the loopback API: cross-site
 * requests (CSRF) and requests whose Host names another site (DNS rebinding) are refused. Sent
 * over a real socket with node:http, so the Host header is exactly what a browser would send.
 */

const API = '/api/performance';
let perfwatch: PerfWatch;
let api: RunningApiServer;
let proxied: RunningApiServer;
let cleanup: () => Promise<void>;

beforeAll(async () => {
  const dir = await tempDir();
  const dbPath = dir.file('history.duckdb');
  // Points 40 days old: what a cross-site cleanup?retention_days=1 would delete.
  await writeFixtureFile(dbPath, seedPoints(1_767_225_600));
  perfwatch = await startPerfWatch({
    dbPath,
    serviceName: 'guard-test',
    collectionIntervalMillis: 60_000,
    prometheusPort: 0,
    regressionIntervalMinutes: 0,
    hostMetrics: false,
    runtimeMetrics: false,
    scheduler: manualScheduler(),
    logger: captureLogger(),
  });
  api = await startApiServer(perfwatch, { port: 0, corsOrigins: ['https://ops.example'] });
  proxied = await startApiServer(perfwatch, { port: 0, allowedHosts: ['perf.internal.example'] });
  cleanup = async () => {
    await api.close();
    await proxied.close();
    await perfwatch.shutdown();
    await dir.cleanup();
  };
}, 60_000);

afterAll(() => cleanup?.());

function send(
  server: RunningApiServer,
  method: string,
  path: string,
  headers: Record<string, string>,
  body?: string,
): Promise<{ status: number; json: { status: string; error?: { code: string; message: string } } }> {
  return new Promise((resolve, reject) => {
    const outgoing = request(
      { host: '127.0.0.1', port: server.port, method, path, headers, setHost: !('Host' in headers) },
      (response) => {
        let text = '';
        response.setEncoding('utf8').on('data', (chunk: string) => {
          text += chunk;
        });
        response.on('end', () => resolve({ status: response.statusCode!, json: JSON.parse(text) }));
      },
    );
    outgoing.on('error', reject);
    outgoing.end(body);
  });
}

async function pointCount(): Promise<number> {
  const [row] = await perfwatch.store.query('SELECT count(*)::INTEGER AS n FROM points_number');
  return Number(row!.n);
}

describe('HTTP API: requests a web page could make', () => {
  it('refuses a cross-site cleanup with no body (CSRF), and deletes nothing', async () => {
    const before = await pointCount();
    expect(before).toBeGreaterThan(0);
    const crossSite = await send(api, 'POST', `${API}/cleanup?retention_days=1`, {
      Origin: 'http://evil.example',
      'Sec-Fetch-Site': 'cross-site',
    });
    expect(crossSite.status).toBe(403);
    expect(crossSite.json.error?.code).toBe('PERFWATCH_CROSS_SITE_REFUSED');
    // Each signal alone is enough: an old browser sends only Origin, a privacy mode only Sec-Fetch-Site.
    const originOnly = await send(api, 'POST', `${API}/cleanup?retention_days=1`, {
      Origin: 'http://evil.example',
      'Content-Type': 'application/json',
    });
    expect(originOnly.json.error?.code).toBe('PERFWATCH_CROSS_SITE_REFUSED');
    const fetchSiteOnly = await send(api, 'POST', `${API}/cleanup?retention_days=1`, {
      'Sec-Fetch-Site': 'cross-site',
      'Content-Type': 'application/json',
    });
    expect(fetchSiteOnly.json.error?.code).toBe('PERFWATCH_CROSS_SITE_REFUSED');
    // A form (or fetch without a preflight) cannot send JSON: no type, or a form's type, is a 415.
    for (const type of [
      undefined,
      'application/x-www-form-urlencoded',
      'text/plain',
      'multipart/form-data',
    ]) {
      const form = await send(
        api,
        'POST',
        `${API}/cleanup?retention_days=1`,
        type === undefined ? {} : { 'Content-Type': type },
      );
      expect(form.status).toBe(415);
      expect(form.json.error?.code).toBe('PERFWATCH_UNSUPPORTED_MEDIA_TYPE');
    }
    expect(await pointCount()).toBe(before);
  });

  it('refuses every route, reads included, when Host names another site (DNS rebinding)', async () => {
    const sql = await send(
      api,
      'POST',
      `${API}/sql`,
      { Host: 'attacker.example', 'Content-Type': 'application/json' },
      JSON.stringify({ sql: 'SELECT 1' }),
    );
    expect(sql.status).toBe(403);
    expect(sql.json.error?.code).toBe('PERFWATCH_HOST_NOT_ALLOWED');
    expect(sql.json.error?.message).toContain('--api-allowed-host');
    const rules = await send(
      api,
      'PUT',
      `${API}/rules`,
      { Host: `attacker.example:${api.port}`, 'Content-Type': 'text/yaml' },
      'rules: []\n',
    );
    expect(rules.status).toBe(403);
    expect(rules.json.error?.code).toBe('PERFWATCH_HOST_NOT_ALLOWED');
    const read = await send(api, 'GET', `${API}/health`, { Host: 'attacker.example' });
    expect(read.status).toBe(403);
    const page = await send(api, 'GET', '/', { Host: 'attacker.example' });
    expect(page.status).toBe(403);
  });

  it('answers loopback names, configured hosts, the page’s own origin and listed CORS origins', async () => {
    for (const host of [`127.0.0.1:${api.port}`, `localhost:${api.port}`, 'LOCALHOST', `[::1]:${api.port}`]) {
      expect((await send(api, 'GET', `${API}/health`, { Host: host })).status).toBe(200);
    }
    expect((await send(proxied, 'GET', `${API}/health`, { Host: 'perf.internal.example' })).status).toBe(200);
    expect((await send(proxied, 'GET', `${API}/health`, { Host: 'other.example' })).status).toBe(403);

    const query = JSON.stringify({ sql: 'SELECT 42 AS answer' });
    const sameOrigin = await send(
      api,
      'POST',
      `${API}/sql`,
      {
        Origin: `http://127.0.0.1:${api.port}`,
        'Sec-Fetch-Site': 'same-origin',
        'Content-Type': 'application/json',
      },
      query,
    );
    expect(sameOrigin.status).toBe(200);
    const listed = await send(
      api,
      'POST',
      `${API}/sql`,
      { Origin: 'https://ops.example', 'Sec-Fetch-Site': 'cross-site', 'Content-Type': 'application/json' },
      query,
    );
    expect(listed.status).toBe(200);
    // A tool outside a browser (curl, the CLI) sends neither header.
    const tool = await send(api, 'POST', `${API}/sql`, { 'Content-Type': 'application/json' }, query);
    expect(tool.status).toBe(200);
    // A body-less POST says JSON too; the empty body reads as none.
    const emptyJson = await send(api, 'POST', `${API}/cleanup?retention_days=365`, {
      'Content-Type': 'application/json',
    });
    expect(emptyJson.status).toBe(200);
  });

  it('reads allowed hosts and CORS origins from the environment, comma-separated', () => {
    const config = resolveApiConfig(
      {},
      {
        PERFWATCH_API_ALLOWED_HOSTS: ' perf.example, ,proxy.example',
        PERFWATCH_API_CORS_ORIGINS: 'https://ops.example',
      },
    );
    expect(config.allowedHosts).toEqual(['perf.example', 'proxy.example']);
    expect(config.corsOrigins).toEqual(['https://ops.example']);
    expect(
      resolveApiConfig({ allowedHosts: ['a.example'] }, { PERFWATCH_API_ALLOWED_HOSTS: 'b' }).allowedHosts,
    ).toEqual(['a.example']);
  });

  it('refuses JSON nested deeper than 64 levels with 400, not a stack overflow', async () => {
    const deep = `${'['.repeat(100_000)}${']'.repeat(100_000)}`;
    const answer = await send(api, 'PUT', `${API}/rules`, { 'Content-Type': 'application/json' }, deep);
    expect(answer.status).toBe(400);
    expect(answer.json.error?.message).toContain('nested 100000 deep');
    expect(nestingDepth('{"a":"[[[[","b":[{"c":"\\"]]"}]}')).toBe(3);
  });
});
