import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readdir, readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/runCli.js';
import { tempDir } from '../helpers/tempDir.js';

const EXAMPLES = fileURLToPath(new URL('../../examples/', import.meta.url));
/** Bounded run time per example; each finishes on its own, event-driven, well inside it. */
const EXAMPLE_TIMEOUT_MILLIS = 50_000;

/** Runs an example as a child process with a clean perfwatch/OTel environment. */
async function runExample(
  file: string,
  env: Record<string, string>,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const cleanEnv = Object.fromEntries(
    Object.entries(process.env).filter(([key]) => !key.startsWith('OTEL_') && !key.startsWith('PERFWATCH_')),
  );
  const child = spawn(process.execPath, ['--import', 'tsx', `${EXAMPLES}${file}`], {
    env: { ...cleanEnv, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    timeout: EXAMPLE_TIMEOUT_MILLIS,
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (text: string) => {
    stdout += text;
  });
  child.stderr.setEncoding('utf8').on('data', (text: string) => {
    stderr += text;
  });
  const [code] = (await once(child, 'exit')) as [number | null];
  return { code, stdout, stderr };
}

let dir: Awaited<ReturnType<typeof tempDir>>;
beforeEach(async () => {
  dir = await tempDir();
});
afterEach(async () => {
  await dir.cleanup();
});

describe('examples', { timeout: EXAMPLE_TIMEOUT_MILLIS + 10_000 }, () => {
  it('drop-in-node-sdk.ts: instrumentation-http metrics land in DuckDB and SQL reads them back', async () => {
    const run = await runExample('drop-in-node-sdk.ts', {
      PERFWATCH_DB_PATH: dir.file('drop-in.duckdb'),
      EXAMPLE_REQUESTS: '12',
    });
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toContain(`http.server.request.duration in ${dir.file('drop-in.duckdb')}`);
    // console.table row: index, method, status, requests, avg_ms, max_ms.
    expect(run.stdout).toMatch(/│ 0\s+│ 'GET'\s+│ '200'\s+│ 12\s+│ \d+(\.\d+)?\s+│ \d+(\.\d+)?\s+│/);
  });

  it('node-http-service.ts: request metrics, a firing alert and the injected slowdown as a regression', async () => {
    const run = await runExample('node-http-service.ts', {
      PERFWATCH_DB_PATH: dir.file('service.duckdb'),
      EXAMPLE_REQUESTS_PER_MINUTE: '20',
    });
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('replayed 45 minutes x 20 requests');
    expect(run.stdout).toMatch(/p95 per 5 min \(ms\):( \d+\.\d){9}\n/);
    expect(run.stdout).toMatch(/alert CheckoutLatencyHigh firing \(warning\): p95 = 0\.0\d+ s/);
    expect(run.stdout).toMatch(
      /prometheus: http_server_request_duration_count\{.*http_route="\/checkout".*\} \d+/,
    );
    expect(run.stdout).toMatch(/regression cycle: \d+ series analysed, [1-9]\d* opened/);
    expect(run.stdout).toMatch(
      /(WARNING|CRITICAL) regression: p\d\d of http\.server\.request\.duration \{.*http\.route=\/checkout\} for checkout-example rose/,
    );
    expect(run.stdout).toMatch(/deploy 1\.0\.0 → 1\.1\.0: .*regressed/);
  });

  it('standalone.ts: custom collector, query, Parquet export and cleanup', async () => {
    const exportDir = dir.file('export');
    const run = await runExample('standalone.ts', {
      PERFWATCH_DB_PATH: dir.file('standalone.duckdb'),
      EXAMPLE_EXPORT_DIR: exportDir,
      EXAMPLE_COLLECTIONS: '3',
    });
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/scrape endpoint: http:\/\/127\.0\.0\.1:\d+\/metrics\n/);
    expect(run.stdout).toContain('collections written: 3; app.jobs.pending max over 10 min: 30');
    expect(run.stdout).toMatch(/'app\.jobs\.pending'\s+│ 3\s+│/);
    expect(run.stdout).toMatch(/parquet export: [1-9]\d* files, [1-9]\d* rows, days \d{4}-\d\d-\d\d in /);
    expect(run.stdout).toContain('cleanup (keep 1 day): 0 points and 0 series deleted');
    expect(run.stdout).toMatch(/done\n$/);
    expect(await readdir(exportDir)).toEqual(expect.arrayContaining(['kind=number', 'series']));
  });

  it('ci-benchmark-gate.sh: valid bash, and every perfwatch subcommand it uses exists', async () => {
    const script = `${EXAMPLES}ci-benchmark-gate.sh`;
    const syntax = spawn('bash', ['-n', script], { stdio: 'ignore' });
    expect((await once(syntax, 'exit'))[0]).toBe(0);

    const used = new Set(
      [...(await readFile(script, 'utf8')).matchAll(/^\s*\$PERFWATCH (\w+)/gm)].map((match) => match[1]!),
    );
    expect([...used].sort()).toEqual(['benchmark']);
    const help = await runCli(['--help']);
    expect(help.code).toBe(0);
    const commands = new Set([...help.stdout.matchAll(/^ {2}(\w+) /gm)].map((match) => match[1]!));
    expect(commands).toContain('export');
    // `benchmark` (issue 5) is being built on another branch. Until it is merged the script
    // cannot run; when it is, this fails: make this test run the script's gate end to end.
    const pending = new Set(['benchmark']);
    for (const command of used) expect(commands.has(command) || pending.has(command)).toBe(true);
    for (const command of pending) expect(commands.has(command)).toBe(false);
  });
});
