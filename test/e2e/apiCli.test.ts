import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { runCli, spawnCli, stderrContaining } from '../helpers/runCli.js';
import { tempDir } from '../helpers/tempDir.js';

let dir: Awaited<ReturnType<typeof tempDir>>;
beforeEach(async () => {
  dir = await tempDir();
});
afterEach(async () => {
  await dir.cleanup();
});

/** `perfwatch start` with its API on a free port; resolves with the child and the API's base URL. */
async function startWithApi(db: string) {
  const child = spawnCli(['start', '--db', db, '--interval', '1', '--no-prometheus', '--no-default-rules']);
  const stderr = await stderrContaining(child, 'Ctrl-C to stop');
  const url = /dashboard and API (http:\/\/127\.0\.0\.1:\d+)\//.exec(stderr)?.[1];
  if (url === undefined) throw new Error(`no API URL in: ${stderr}`);
  return { child, url };
}

describe('perfwatch start serves the API; sql and query reach a file it holds through it', () => {
  it('answers sql and query through the running service, refuses writes, and serves the page', async () => {
    const db = dir.file('h.duckdb');
    const { child, url } = await startWithApi(db);
    try {
      const page = await fetch(`${url}/`);
      expect(page.status).toBe(200);
      expect(await page.text()).toContain('<title>perfwatch</title>');
      await vi.waitFor(
        async () => {
          const health = (await (await fetch(`${url}/api/performance/health`)).json()) as {
            data: { collectionsWritten: number };
          };
          expect(health.data.collectionsWritten).toBeGreaterThanOrEqual(2);
        },
        { timeout: 15_000, interval: 100 },
      );

      const sql = await runCli([
        'sql',
        '--db',
        db,
        '--api',
        url,
        '--json',
        'SELECT count(*) AS n FROM series',
      ]);
      expect(sql.stderr).toBe('');
      expect(sql.code).toBe(0);
      expect(JSON.parse(sql.stdout).rows[0].n).toBeGreaterThan(0);

      const refused = await runCli(['sql', '--db', db, '--api', url, 'DELETE FROM series']);
      expect(refused.code).toBe(2);
      expect(refused.stderr.trim()).toBe(
        'perfwatch: sql: DELETE is not allowed; only read-only SELECT queries run here',
      );

      const query = await runCli(
        [
          'query',
          'system.cpu.utilization',
          '--db',
          db,
          '--since',
          '5m',
          '--step',
          '1m',
          '--group-by',
          'system.cpu.state',
          '--json',
        ],
        { PERFWATCH_API_URL: url },
      );
      expect(query.code).toBe(0);
      const result = JSON.parse(query.stdout);
      expect(result.metric).toBe('system.cpu.utilization');
      expect(
        result.series.map((series: { labels: Record<string, string> }) => series.labels['system.cpu.state']),
      ).toContain('idle');

      const nobody = await runCli(['sql', '--db', db, '--api', 'http://127.0.0.1:1', 'SELECT 1']);
      expect(nobody.code).toBe(2);
      expect(nobody.stderr).toContain(
        `database file ${db} is already in use by another process (PID ${child.pid})`,
      );
      expect(nobody.stderr).toContain('no perfwatch API answered at http://127.0.0.1:1');
    } finally {
      child.kill('SIGTERM');
      await once(child, 'exit');
    }
  }, 60_000);

  it('a service of another file on that URL is not asked', async () => {
    const { child, url } = await startWithApi(dir.file('a.duckdb'));
    const other = dir.file('b.duckdb');
    const holder = spawnCli(['start', '--db', other, '--interval', '3600', '--no-prometheus', '--no-api']);
    await stderrContaining(holder, 'Ctrl-C to stop');
    try {
      const result = await runCli(['sql', '--db', other, '--api', url, 'SELECT 1']);
      expect(result.code).toBe(2);
      expect(result.stderr).toContain(`serves ${dir.file('a.duckdb')}, not this file`);
      expect(holder.stderrText()).not.toContain('dashboard and API');
    } finally {
      child.kill('SIGTERM');
      holder.kill('SIGTERM');
      await Promise.all([once(child, 'exit'), once(holder, 'exit')]);
    }
  }, 60_000);

  it('refuses to bind beyond loopback without a token, before opening the file', async () => {
    const db = dir.file('h.duckdb');
    const result = await runCli(['start', '--db', db, '--api-host', '0.0.0.0']);
    expect(result.code).toBe(2);
    expect(result.stderr.trim()).toBe(
      'perfwatch: apiHost (PERFWATCH_API_HOST): binding the API to 0.0.0.0 exposes it beyond this machine; set an API token (--api-token or PERFWATCH_API_TOKEN) or bind to 127.0.0.1',
    );
    expect(existsSync(db)).toBe(false);
  });
});
