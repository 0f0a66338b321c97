import { once } from 'node:events';
import { writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { createServer } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MetricStore } from '../../src/store/MetricStore.js';
import { type FixturePoint, writeFixtureFile } from '../helpers/fixtureCollection.js';
import { runCli, spawnCli, stderrContaining } from '../helpers/runCli.js';
import { tempDir } from '../helpers/tempDir.js';

let dir: Awaited<ReturnType<typeof tempDir>>;
beforeEach(async () => {
  dir = await tempDir();
});
afterEach(async () => {
  await dir.cleanup();
});

describe('perfwatch CLI', () => {
  it('prints its version and help', async () => {
    const version = await runCli(['--version']);
    expect(version.code).toBe(0);
    expect(version.stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
    const help = await runCli(['start', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('--prometheus-port <port>');
    expect(help.stdout).toContain('--otlp-endpoint <url>');
  });

  it.each([
    [
      ['start', '--interval', 'soon'],
      {},
      'perfwatch: --interval: must be a positive number of seconds, got "soon"',
    ],
    [
      ['start', '--prometheus-port', '99999'],
      {},
      'perfwatch: prometheusPort (OTEL_EXPORTER_PROMETHEUS_PORT): must be between 0 and 65535, got 99999',
    ],
    [
      ['start'],
      { OTEL_METRIC_EXPORT_INTERVAL: '-1' },
      'perfwatch: collectionIntervalMillis (OTEL_METRIC_EXPORT_INTERVAL): must be between 1 and 2147483647, got -1',
    ],
    [
      ['start', '--retention-days', '0'],
      {},
      'perfwatch: retentionDays (PERFWATCH_RETENTION_DAYS): must be between 1 and 365, got 0',
    ],
    [
      ['start', '--otlp-endpoint', 'collector'],
      {},
      'perfwatch: otlpEndpoint: must be an http(s) URL such as http://localhost:4318, got "collector"',
    ],
  ])('%j %j exits 2 with one clear line', async (args, env, line) => {
    const result = await runCli([...args, '--db', dir.file('h.duckdb')], env);
    expect(result.code).toBe(2);
    expect(result.stderr.trim()).toBe(line);
  });

  it('exits 2 naming the setting when the Prometheus port is in use', async () => {
    const occupier = createServer();
    occupier.listen(0, '127.0.0.1');
    await once(occupier, 'listening');
    const port = (occupier.address() as AddressInfo).port;
    try {
      const result = await runCli(['start', '--db', dir.file('h.duckdb'), '--prometheus-port', String(port)]);
      expect(result.code).toBe(2);
      expect(result.stderr.trim()).toBe(
        `perfwatch: prometheusPort (OTEL_EXPORTER_PROMETHEUS_PORT): port ${port} on 127.0.0.1 is already in use`,
      );
    } finally {
      occupier.close();
    }
  });

  it('start serves /metrics, and SIGINT writes the last collection and closes the file', async () => {
    const db = dir.file('h.duckdb');
    const child = spawnCli(['start', '--db', db, '--interval', '3600', '--prometheus-port', '0']);
    const banner = await stderrContaining(child, 'Ctrl-C to stop');
    const url = /scrape (http:\/\/\S+\/metrics)/.exec(banner)?.[1];
    expect(url).toBeDefined();

    const scraped = await (await fetch(url!)).text();
    expect(scraped).toMatch(/^process_memory_usage\{/m);
    expect(scraped).toMatch(/target_info\{service_name="perfwatch"/);

    child.kill('SIGINT');
    const [code] = await once(child, 'exit');
    expect(code).toBe(0);

    // The interval (1 h) never fired: whatever is stored came from the shutdown flush.
    const store = await MetricStore.open(db);
    try {
      const [row] = await store.query(
        `SELECT count(DISTINCT time) AS collections, count(*) FILTER (WHERE s.metric_name = 'system.cpu.utilization') AS cpu
         FROM points_number p JOIN series s USING (series_ref)`,
      );
      expect(row).toMatchObject({ collections: 1n });
      expect(row?.cpu).toBeGreaterThan(0n);
    } finally {
      await store.close();
    }
  });

  it('a second start on the same file exits 2 and names the PID holding it', async () => {
    const db = dir.file('h.duckdb');
    const first = spawnCli(['start', '--db', db, '--interval', '3600', '--no-prometheus']);
    await stderrContaining(first, 'Ctrl-C to stop');
    try {
      const second = await runCli(['start', '--db', db, '--no-prometheus']);
      expect(second.code).toBe(2);
      expect(second.stderr.trim()).toBe(
        `perfwatch: database file ${db} is already in use by another process (PID ${first.pid}); stop that process or point --db at another file`,
      );
    } finally {
      first.kill('SIGTERM');
      await once(first, 'exit');
    }
  });

  it('sql: answers a SELECT as JSON, refuses a write with exit 2, and names the PID holding the file', async () => {
    const db = dir.file('h.duckdb');
    // No API: this is the message for a holder that cannot be asked (apiCli.test.ts asks it).
    const running = spawnCli(['start', '--db', db, '--interval', '3600', '--no-prometheus', '--no-api']);
    await stderrContaining(running, 'Ctrl-C to stop');
    const locked = await runCli(['sql', '--db', db, 'SELECT 1']);
    expect(locked.code).toBe(2);
    expect(locked.stderr).toContain(
      `database file ${db} is already in use by another process (PID ${running.pid})`,
    );
    expect(locked.stderr).toContain('a running `perfwatch start` holds the file');
    running.kill('SIGINT');
    await once(running, 'exit');

    const answer = await runCli([
      'sql',
      '--db',
      db,
      '--json',
      "SELECT count(*) AS n FROM series WHERE metric_name = 'process.memory.usage'",
    ]);
    expect(answer.code).toBe(0);
    expect(JSON.parse(answer.stdout)).toEqual({
      columns: [{ name: 'n', type: 'BIGINT' }],
      rows: [{ n: 1 }],
      truncated: false,
      rowLimit: 10000,
    });

    const capped = await runCli([
      'sql',
      '--db',
      db,
      '--format',
      'csv',
      '--max-rows',
      '2',
      'SELECT * FROM range(5) t(i)',
    ]);
    expect(capped.code).toBe(0);
    expect(capped.stdout).toBe('i\n0\n1\n');
    expect(capped.stderr).toContain('showing the first 2 rows');

    const refused = await runCli(['sql', '--db', db, 'DELETE FROM points_number']);
    expect(refused.code).toBe(2);
    expect(refused.stderr.trim()).toBe(
      'perfwatch: sql: DELETE is not allowed; only read-only SELECT queries run here',
    );
  });
});

describe('perfwatch query', () => {
  const T0 = 1_790_000_040;
  async function fixtureDb(): Promise<string> {
    const db = dir.file('q.duckdb');
    const points: FixturePoint[] = [0, 10, 20, 30, 40, 50, 60, 70, 80, 90, 100, 110].flatMap((offset, i) => [
      { metric: 'app.latency', kind: 'gauge', time: T0 + offset, value: i, attributes: { route: '/a' } },
      {
        metric: 'app.latency',
        kind: 'gauge',
        time: T0 + offset,
        value: 100 + i,
        attributes: { route: '/b' },
      },
    ]);
    await writeFixtureFile(db, points);
    return db;
  }
  const iso = (offset: number) => new Date((T0 + offset) * 1000).toISOString();

  it('prints bucketed series as JSON and CSV', async () => {
    const db = await fixtureDb();
    const range = ['--from', iso(0), '--to', iso(120), '--step', '1m'];
    const json = await runCli([
      'query',
      'app.latency',
      '--db',
      db,
      ...range,
      '--agg',
      'max',
      '--group-by',
      'route',
      '--json',
    ]);
    expect(json.code).toBe(0);
    const result = JSON.parse(json.stdout);
    expect(result.series).toEqual([
      {
        metric: 'app.latency',
        labels: { route: '/a' },
        points: [
          { time: iso(0), value: 5 },
          { time: iso(60), value: 11 },
        ],
      },
      {
        metric: 'app.latency',
        labels: { route: '/b' },
        points: [
          { time: iso(0), value: 105 },
          { time: iso(60), value: 111 },
        ],
      },
    ]);
    expect(result.source).toBe('raw');

    const csv = await runCli([
      'query',
      'app.latency',
      '--db',
      db,
      ...range,
      '--agg',
      'min',
      '--where',
      'route=/b',
      '--format',
      'csv',
    ]);
    expect(csv.stdout).toBe(`time,metric,value\n${iso(0)},app.latency,100\n${iso(60)},app.latency,106\n`);
  });

  it.each([
    [
      ['--since', '5 minutes'],
      'perfwatch: --since: must be a duration such as 30s, 5m, 1h, 7d, got "5 minutes"',
    ],
    [
      ['--from', '2026-11-29T10:00:00Z', '--to', '2026-11-29T09:00:00Z'],
      'perfwatch: --from: 2026-11-29T10:00:00.000Z is not before --to 2026-11-29T09:00:00.000Z',
    ],
    [
      ['--from', 'yesterday'],
      'perfwatch: --from: must be an ISO 8601 time such as 2026-11-29T10:00:00Z, got "yesterday"',
    ],
    [['--where', 'route'], 'perfwatch: --where: must be KEY=VALUE, got "route"'],
    [
      ['--step', '1s', '--from', iso(0), '--to', iso(120)],
      'perfwatch: step: 1 s is less than half the collection interval (10 s); use a step of at least 10 s',
    ],
  ])('%j exits 2 with one clear line', async (args, line) => {
    const db = await fixtureDb();
    const from = args.includes('--from') || args.includes('--since') ? [] : ['--since', '1h'];
    const result = await runCli(['query', 'app.latency', '--db', db, ...from, ...args]);
    expect(result.code).toBe(2);
    expect(result.stderr.trim()).toBe(line);
  });

  it('names the closest metric when the name is unknown', async () => {
    const db = await fixtureDb();
    const result = await runCli(['query', 'app.latncy', '--db', db]);
    expect(result.code).toBe(2);
    expect(result.stderr.trim()).toBe(
      'perfwatch: metric: no metric named "app.latncy" in the history; did you mean app.latency?',
    );
  });
});

describe('perfwatch cleanup', () => {
  it('applies a retention period to a stopped file, and refuses an out-of-range one', async () => {
    const db = dir.file('c.duckdb');
    const now = Math.floor(Date.now() / 1000);
    const points: FixturePoint[] = [
      { metric: 'm', kind: 'gauge', time: now - 40 * 86_400, value: 1 },
      { metric: 'm', kind: 'gauge', time: now - 3600, value: 2 },
    ];
    await writeFixtureFile(db, points);

    const refused = await runCli(['cleanup', '--db', db, '--retention-days', '0']);
    expect(refused.code).toBe(2);
    expect(refused.stderr.trim()).toBe(
      'perfwatch: --retention-days: must be a whole number from 1 to 365, got "0"',
    );

    const result = await runCli(['cleanup', '--db', db, '--retention-days', '30']);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^deleted 1 points older than .* and 0 series without points/);
  });
});

describe('perfwatch snapshot and export', () => {
  it('writes a snapshot and a Parquet export of a stopped file, with plain progress lines off a terminal', async () => {
    const db = dir.file('s.duckdb');
    const points: FixturePoint[] = [1, 2, 3].map((i) => ({
      metric: 'm',
      kind: 'gauge',
      time: 1_790_000_000 + i * 86_400,
      value: i,
    }));
    await writeFixtureFile(db, points);

    const snapshot = await runCli(['snapshot', '--db', db, '--out', dir.file('copy.duckdb')]);
    expect(snapshot.code).toBe(0);
    expect(snapshot.stdout).toMatch(/^wrote .*copy\.duckdb \(\d+ bytes in \d+ ms\)\n$/);

    const exported = await runCli(['export', '--db', db, '--out', dir.file('parquet')]);
    expect(exported.code).toBe(0);
    expect(exported.stdout).toMatch(/^exported 3 points in 4 files \(\d+ bytes, 3 days\)/);
    expect(exported.stderr.trim().split('\n')).toEqual([
      '[1/3] number 2026-09-22: 1 points',
      '[2/3] number 2026-09-23: 1 points',
      '[3/3] number 2026-09-24: 1 points',
    ]);
  });
});

describe('perfwatch compact', () => {
  it('shrinks a file after retention freed most of it, keeping what remains', async () => {
    const db = dir.file('big.duckdb');
    const now = Math.floor(Date.now() / 1000);
    const points: FixturePoint[] = [];
    for (let i = 0; i < 200; i++) {
      for (let s = 0; s < 200; s++) {
        points.push({
          metric: 'm',
          kind: 'gauge',
          time: now - 50 * 86_400 + i * 60,
          value: Math.sin(i + s) * 1e6,
          attributes: { s: String(s) },
        });
      }
    }
    points.push({ metric: 'm', kind: 'gauge', time: now - 60, value: 7, attributes: { s: 'recent' } });
    await writeFixtureFile(db, points, (store) => store.deleteBefore(new Date((now - 30 * 86_400) * 1000)));

    const result = await runCli(['compact', '--db', db]);
    expect(result.code).toBe(0);
    const [, before, after] = /(\d+) → (\d+) bytes/.exec(result.stdout) ?? [];
    expect(Number(after)).toBeLessThan(Number(before));
    const reopened = await MetricStore.open(db);
    try {
      expect(await reopened.query('SELECT value FROM points_number')).toEqual([{ value: 7 }]);
    } finally {
      await reopened.close();
    }
  });
});

describe('perfwatch analyze', () => {
  it('prints change points as JSON with 0-based indices, and refuses a bad file with exit 2', async () => {
    const lines = ['time,latency_ms'];
    for (let i = 0; i < 120; i++)
      lines.push(`${1_790_000_000 + i * 10},${(i < 70 ? 100 : 160) + ((i * 7) % 5)}`);
    const { writeFile } = await import('node:fs/promises');
    await writeFile(dir.file('series.csv'), `${lines.join('\n')}\n`);
    const result = await runCli(['analyze', dir.file('series.csv'), '--json']);
    expect(result.code).toBe(0);
    const parsed = JSON.parse(result.stdout);
    expect(
      parsed.changePoints.map((p: { index: number; direction: string }) => [p.index, p.direction]),
    ).toEqual([[70, 'up']]);
    expect(parsed.changePoints[0].time).toBe(String(1_790_000_000 + 700));

    await writeFile(
      dir.file('values.json'),
      JSON.stringify([5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9]),
    );
    const down = await runCli(['analyze', dir.file('values.json'), '--direction', 'down', '--json']);
    expect(JSON.parse(down.stdout).changePoints).toEqual([]);

    const missing = await runCli(['analyze', dir.file('series.csv'), '--column', 'cpu']);
    expect(missing.code).toBe(2);
    expect(missing.stderr.trim()).toBe(
      'perfwatch: --column: no column named "cpu"; the columns are time, latency_ms',
    );
  });
});

describe('perfwatch regressions', () => {
  it('runs a cycle with --check, lists records and deploy verdicts, and filters them', async () => {
    const db = dir.file('r.duckdb');
    const t0 = Date.UTC(2026, 10, 29) / 1000;
    const points: FixturePoint[] = Array.from({ length: 180 }, (_, i) => ({
      metric: 'process.cpu.utilization',
      kind: 'gauge',
      unit: '1',
      time: t0 + i * 60,
      // A deterministic zig-zag as noise, +50 % from minute 120 on, with the deploy.
      value: (i < 120 ? 0.3 : 0.45) + ((i * 7) % 5) * 0.002,
      resource: { 'service.name': 'checkout', 'service.version': i < 120 ? '1.4.0' : '1.5.0' },
    }));
    await writeFixtureFile(db, points);
    const at = new Date((t0 + 180 * 60) * 1000).toISOString();

    const checked = await runCli(['regressions', '--db', db, '--check', '--at', at]);
    expect(checked.stderr).toBe('');
    expect(checked.code).toBe(0);
    const lines = checked.stdout.split('\n');
    expect(lines[0]).toMatch(
      /^analysed 1 series from 2026-11-28T03:00:00.000Z to 2026-11-29T03:00:00.000Z in \d+ ms: 1 new, 0 updated, 0 resolved$/,
    );
    expect(lines[2]).toMatch(/^CRITICAL {2}regression {3}open {6}2026-11-29T02:00:00.000Z {2}[0-9a-f]{12}$/);
    expect(lines[3]).toMatch(
      /^ {2}process\.cpu\.utilization for checkout rose (49|5\d)(\.\d)? % .* at 02:00 UTC, right after service\.version 1\.4\.0 → 1\.5\.0 — a regression\.$/,
    );
    expect(checked.stdout).toMatch(
      /deploys:\n {2}2026-11-29T02:00:00.000Z {2}checkout 1\.4\.0 → 1\.5\.0: regressed \(1 of 1 series worse, 0 better\); worst: /,
    );

    const json = await runCli([
      'regressions',
      '--db',
      db,
      '--json',
      '--since',
      '7d',
      '--at',
      at,
      '--severity',
      'critical',
    ]);
    expect(json.code).toBe(0);
    const parsed = JSON.parse(json.stdout) as { regressions: Record<string, unknown>[]; deploys: unknown[] };
    expect(parsed.regressions).toHaveLength(1);
    expect(parsed.regressions[0]).toMatchObject({
      metric: 'process.cpu.utilization',
      service: 'checkout',
      severity: 'critical',
      status: 'open',
      versionBefore: '1.4.0',
      versionAfter: '1.5.0',
      changeTime: '2026-11-29T02:00:00.000Z',
    });
    expect(parsed.deploys).toHaveLength(1);

    const none = await runCli([
      'regressions',
      '--db',
      db,
      '--since',
      '7d',
      '--at',
      at,
      '--service',
      'elsewhere',
    ]);
    expect(none.stdout).toBe('no regressions, improvements or changes match\n');

    const rules = dir.file('regression-rules.yaml');
    await writeFile(rules, 'regressions:\n  - metric: process.cpu.*\n    enabled: false\n');
    const disabled = await runCli(['regressions', '--db', db, '--check', '--at', at, '--rules', rules]);
    expect(disabled.stdout).toMatch(/^analysed 0 series /);
    await writeFile(rules, 'regressions:\n  - metric: process.cpu.*\n    worse: sideways\n');
    const invalid = await runCli(['regressions', '--db', db, '--check', '--at', at, '--rules', rules]);
    expect(invalid.code).toBe(2);
    expect(invalid.stderr.trim()).toBe(
      `perfwatch: regression rules: ${rules}: regression rule 1: worse must be up, down or none, got "sideways"`,
    );

    const bad = await runCli(['regressions', '--db', db, '--severity', 'huge']);
    expect(bad.code).toBe(2);
    expect(bad.stderr.trim()).toBe('perfwatch: --severity: must be info, warning or critical, got "huge"');
  }, 60_000); // eight CLI runs, each a fresh tsx process
});
