import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { benchmarkFixture } from '../helpers/benchmarkFixture.js';
import { writeFixtureFile } from '../helpers/fixtureCollection.js';
import { runCli } from '../helpers/runCli.js';
import { tempDir } from '../helpers/tempDir.js';

let dir: Awaited<ReturnType<typeof tempDir>>;
let db: string;
beforeAll(async () => {
  dir = await tempDir();
  db = dir.file('history.duckdb');
  // service.version 1.0.0 from 00:00 to 01:00, then 1.1.0 with latency +50 % until 01:30.
  await writeFixtureFile(db, benchmarkFixture());
});
afterAll(async () => {
  await dir.cleanup();
});

const bench = (...args: string[]) => runCli(['benchmark', ...args, '--db', db]);

// Each test runs several CLI processes (each a tsx start of a few seconds on a loaded machine).
describe('perfwatch benchmark', { timeout: 90_000 }, () => {
  it('creates a named benchmark once; re-creating needs --replace', async () => {
    const created = await bench('create', 'baseline', '--duration', '60m', '--at', '2026-11-29T01:00:00Z');
    expect(created.stderr).toBe('');
    expect(created.code).toBe(0);
    expect(created.stdout).toBe(
      'created benchmark "baseline": 7 series from 2026-11-29T00:00:00.000Z to 2026-11-29T01:00:00.000Z (checkout 1.0.0)\n',
    );
    const again = await bench('create', 'baseline', '--at', '2026-11-29T01:00:00Z');
    expect(again.code).toBe(2);
    expect(again.stderr).toBe(
      'perfwatch: name: a benchmark named "baseline" already exists (created 2026-11-29T01:00:00.000Z); replace it with --replace, or choose another name\n',
    );
    const backwards = await bench(
      'create',
      'later',
      '--from',
      '2026-11-29T02:00:00Z',
      '--to',
      '2026-11-29T01:00:00Z',
    );
    expect(backwards.code).toBe(2);
    expect(backwards.stderr).toBe(
      'perfwatch: --from: must be before --to (2026-11-29T02:00:00Z is not before 2026-11-29T01:00:00Z)\n',
    );
    const list = await bench('list', '--json');
    expect(list.code).toBe(0);
    expect(JSON.parse(list.stdout).benchmarks).toMatchObject([
      { name: 'baseline', seriesCount: 7, resources: [{ service: 'checkout', versions: ['1.0.0'] }] },
    ]);
  });

  it('gates CI: --fail-on degraded exits 1 after the latency step, 0 before it, 2 on bad input', async () => {
    const failed = await bench(
      'compare',
      'baseline',
      '--window',
      '10m',
      '--at',
      '2026-11-29T01:20:00Z',
      '--fail-on',
      'degraded',
    );
    expect(failed.code).toBe(1);
    expect(failed.stdout).toMatch(
      /^degraded +checkout +app\.request\.latency \{http\.route=\/pay\} +100\.3 ms +1\d\d\.\d ms +\+4\d\.\d %/m,
    );
    expect(failed.stderr).toContain('perfwatch: degraded: app.request.latency {http.route=/pay}\n');
    expect(failed.stderr).toMatch(
      /perfwatch: benchmark gate failed: \d series degraded \(--fail-on degraded\)\n$/,
    );

    const passed = await bench(
      'compare',
      'baseline',
      '--window',
      '10m',
      '--at',
      '2026-11-29T00:55:00Z',
      '--fail-on',
      'degraded',
    );
    expect(passed.stderr).toBe('');
    expect(passed.code).toBe(0);
    expect(passed.stdout).toContain('0 degraded, 0 improved, 7 stable, 0 insufficient data');

    const unknown = await bench('compare', 'nope', '--fail-on', 'degraded');
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toBe('perfwatch: name: no benchmark named "nope"; known: baseline\n');
    const badWindow = await bench('compare', 'baseline', '--window', '10 minutes', '--fail-on', 'degraded');
    expect(badWindow.code).toBe(2);
    expect(badWindow.stderr).toMatch(/^perfwatch: --window: must be a duration such as 30s, 5m/);
    const badGate = await bench('compare', 'baseline', '--fail-on', 'slower');
    expect(badGate.code).toBe(2);
    expect(badGate.stderr).toBe(
      'perfwatch: --fail-on: must be degraded or insufficient_data (comma-separated), got "slower"\n',
    );
  });

  it('prints Markdown for a pull-request comment (gate failing) and JSON with every statistic', async () => {
    // As a CI job runs it: the report on stdout for the pull request, the gate in the exit code.
    const markdown = await bench(
      'compare',
      'baseline',
      '--window',
      '10m',
      '--at',
      '2026-11-29T01:20:00Z',
      '--fail-on',
      'degraded',
      '--markdown',
    );
    expect(markdown.code).toBe(1);
    expect(markdown.stderr).toMatch(
      /^perfwatch: benchmark gate failed: \d series degraded \(--fail-on degraded\)\n$/,
    );
    const lines = markdown.stdout.split('\n');
    expect(lines[0]).toMatch(/^### perfwatch benchmark `baseline`: \d series degraded$/);
    expect(lines).toContain(
      '| Verdict | Series | Service | Baseline | Current | Change | p (rank test) | Shift (95 % CI) |',
    );
    expect(markdown.stdout).toMatch(
      /^\| 🔴 degraded \| app\.request\.latency \{http\.route=\/pay\} \| checkout \| 100\.3 ms \| 1\d\d\.\d ms \| \+4\d\.\d % \| \d\.\de-\d+ \| \+4\d\.\d+ ms \(\d+\.?\d* … \d+\.?\d*\) \|$/m,
    );
    expect(markdown.stdout).toContain('| 🟢 improved | process.memory.usage | checkout |');
    expect(markdown.stdout).toContain('<details><summary>2 stable, 0 insufficient data</summary>');

    const json = await bench('compare', 'baseline', '--with', 'baseline', '--json');
    expect(json.code).toBe(0);
    const report = JSON.parse(json.stdout);
    expect(report.summary).toEqual({ degraded: 0, improved: 0, stable: 7, insufficient_data: 0 });
    expect(report.against).toMatchObject({ kind: 'benchmark', name: 'baseline' });
    expect(report.series[0]).toMatchObject({
      baseline: { n: expect.any(Number), p90: expect.any(Number), p99: expect.any(Number) },
      welch: { t: expect.any(Number) },
      test: { name: 'mann-whitney' },
    });
  });

  it('compares one service.version with another, shows and deletes', async () => {
    const created = await bench(
      'create',
      'v1',
      '--from',
      '2026-11-29T00:00:00Z',
      '--to',
      '2026-11-29T01:30:00Z',
      '--version',
      '1.0.0',
      '--metric',
      'app.request.*',
    );
    expect(created.code).toBe(0);
    const compared = await bench(
      'compare',
      'v1',
      '--version',
      '1.1.0',
      '--at',
      '2026-11-29T01:30:00Z',
      '--json',
    );
    expect(compared.code).toBe(0);
    const report = JSON.parse(compared.stdout);
    expect(report.against).toMatchObject({ kind: 'version', version: '1.1.0' });
    expect(report.series).toMatchObject([{ metric: 'app.request.latency', verdict: 'degraded' }]);

    const shown = await bench('show', 'v1');
    expect(shown.code).toBe(0);
    expect(shown.stdout).toContain(
      'window 2026-11-29T00:00:00.000Z → 2026-11-29T01:30:00.000Z in 60 s buckets; 1 series; service.version 1.0.0',
    );
    expect(shown.stdout).toMatch(/^checkout +app\.request\.latency \{http\.route=\/pay\} +60 +100\.3 ms/m);
    expect((await bench('delete', 'v1')).stdout).toBe('deleted benchmark "v1"\n');
    const gone = await bench('show', 'v1');
    expect(gone.code).toBe(2);
    expect(gone.stderr).toBe('perfwatch: name: no benchmark named "v1"; known: baseline\n');
  });
});
