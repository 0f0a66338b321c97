import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MetricStore } from '../../src/store/MetricStore.js';
import { type FixturePoint, writeFixtureFile } from '../helpers/fixtureCollection.js';
import { tempDir } from '../helpers/tempDir.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const CLI = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));
/** 2026-11-29T00:00:00Z in seconds. */
const T0 = Date.UTC(2026, 10, 29) / 1000;
const SHARDS = 1200;
const MINUTES = 60;
const SQL_ROWS = 25_000;
/** What a Linux pipe holds by default. */
const PIPE = 64 * 1024;
/** More than a Linux pipe holds even when enlarged (1 MiB at most without privileges). */
const MIB = 1024 * 1024;

let dir: Awaited<ReturnType<typeof tempDir>>;
let db: string;
let seriesFile: string;
beforeAll(async () => {
  dir = await tempDir();
  db = dir.file('history.duckdb');
  // 1,200 series of one gauge, one point a minute for an hour; and one point on each of the two
  // days before, so an export has several days to report on.
  const points: FixturePoint[] = [];
  for (let minute = 0; minute < MINUTES; minute++) {
    for (let shard = 0; shard < SHARDS; shard++) {
      const value = 100 + shard + ((minute * 7919 + shard * 104_729) % 97) / 10;
      points.push({
        metric: 'app.load',
        kind: 'gauge',
        time: T0 + minute * 60,
        value,
        attributes: { shard },
      });
    }
  }
  for (const day of [1, 2])
    points.push({ metric: 'app.load', kind: 'gauge', time: T0 - day * 86_400, value: 1 });
  await writeFixtureFile(db, points);
  // A series of 300 level shifts at irregular places (a regular one would be taken for a cycle).
  // The analysis's answer cannot reach a MiB: with many more shifts it finds none at all.
  seriesFile = dir.file('series.json');
  const series: number[] = [];
  const random = lcg(3);
  for (let segment = 0; segment < 300; segment++) {
    const level = random() * 1000;
    const length = 30 + Math.floor(random() * 40);
    for (let i = 0; i < length; i++) series.push(Number((level + (random() - 0.5) * 10).toFixed(3)));
  }
  await writeFile(seriesFile, JSON.stringify(series));
  const benchmark = await cli(
    ['benchmark', 'create', 'first-half', '--db', db, '--from', iso(0), '--to', iso(30)],
    'cat',
  );
  expect(benchmark.status).toBe(0);
}, 120_000);
afterAll(async () => {
  await dir.cleanup();
});

/** Commands whose answer is far larger than a pipe, and how to tell that all of it arrived. */
const LARGE_OUTPUTS: [string, () => string[], (stdout: string) => void][] = [
  [
    'query --json',
    () => [
      'query',
      'app.load',
      '--db',
      db,
      '--from',
      iso(0),
      '--to',
      iso(60),
      '--step',
      '2m',
      '--group-by',
      'shard',
      '--json',
    ],
    (stdout) => {
      const { series } = JSON.parse(stdout) as { series: { points: unknown[] }[] };
      expect(series).toHaveLength(SHARDS);
      expect(series.every((s) => s.points.length === 30)).toBe(true);
    },
  ],
  [
    'sql --json',
    () => ['sql', sqlRows(), '--db', db, '--max-rows', String(SQL_ROWS), '--json'],
    (stdout) => {
      const { rows, truncated } = JSON.parse(stdout) as { rows: { i: number }[]; truncated: boolean };
      expect(truncated).toBe(false);
      expect(rows).toHaveLength(SQL_ROWS);
      expect(rows.at(-1)?.i).toBe(SQL_ROWS - 1);
    },
  ],
  [
    'sql --format csv',
    () => ['sql', sqlRows(), '--db', db, '--max-rows', String(SQL_ROWS), '--format', 'csv'],
    (stdout) => {
      const lines = stdout.split('\n');
      expect(lines).toHaveLength(SQL_ROWS + 2);
      expect(lines.at(-2)).toBe(`${SQL_ROWS - 1},${'x'.repeat(40)}`);
    },
  ],
  [
    'sql --format table',
    () => ['sql', sqlRows(), '--db', db, '--max-rows', String(SQL_ROWS), '--format', 'table'],
    (stdout) => {
      const lines = stdout.split('\n');
      expect(lines).toHaveLength(SQL_ROWS + 3);
      expect(lines.at(-2)).toBe(`${SQL_ROWS - 1}  ${'x'.repeat(40)}`);
    },
  ],
  [
    'analyze --json',
    () => ['analyze', seriesFile, '--json'],
    (stdout) => {
      const { changePoints } = JSON.parse(stdout) as { changePoints: unknown[] };
      expect(changePoints.length).toBeGreaterThan(200);
    },
  ],
  [
    'benchmark show --json --values',
    () => ['benchmark', 'show', 'first-half', '--db', db, '--json', '--values'],
    (stdout) => {
      const { series } = JSON.parse(stdout) as { series: { values: unknown[] }[] };
      expect(series).toHaveLength(SHARDS);
      expect(series.every((s) => s.values.length === 30)).toBe(true);
    },
  ],
  [
    'benchmark compare --json',
    () => ['benchmark', 'compare', 'first-half', '--db', db, '--from', iso(30), '--to', iso(60), '--json'],
    (stdout) => {
      const { series } = JSON.parse(stdout) as { series: unknown[] };
      expect(series).toHaveLength(SHARDS);
    },
  ],
];

// Each case starts the CLI through tsx (a few seconds on a loaded machine) and moves megabytes.
describe('CLI output through pipes', { timeout: 90_000 }, () => {
  it.each(LARGE_OUTPUTS)('%s arrives whole through a slow reader', async (name, args, check) => {
    const result = await cli(args(), 'cat', readSlowly);
    expectNoErrorReport(result.stderr);
    expect(result.status).toBe(0);
    // The analysis finds about 280 changes (~190 kB): less than a MiB, still three times what a
    // pipe holds by default.
    expect(result.stdout.length).toBeGreaterThan(name.startsWith('analyze') ? 3 * PIPE : MIB);
    check(result.stdout);
  });

  // The CLI now waits for its output to leave, so a reader that leaves first meets it writing.
  it.each(LARGE_OUTPUTS)('%s | head -1 ends quietly with exit code 0', async (_name, args) => {
    const result = await cli(args(), 'head -1');
    expect(result.stdout.split('\n')).toHaveLength(2);
    expectNoErrorReport(result.stderr);
    expect(result.status).toBe(0);
  });

  it('export 2>&1 | head -1 still writes every file', async () => {
    const out = dir.file('export');
    const result = await cli(['export', '--db', db, '--out', out], 'head -1', undefined, true);
    expect(result.stdout).toMatch(/^\[1\/3\] number 2026-11-27: 1 points\n$/);
    expect(result.status).toBe(0);
    for (const day of ['2026-11-27', '2026-11-28', '2026-11-29']) {
      expect(existsSync(`${out}/kind=number/day=${day}/data.parquet`)).toBe(true);
    }
    expect(existsSync(`${out}/series/data.parquet`)).toBe(true);
  });

  it('start 2>&1 | head -2 keeps running, and SIGTERM still writes the last collection', async () => {
    const history = dir.file('start.duckdb');
    const pidFile = dir.file('start.pid');
    const statusFile = dir.file('start.status');
    // The subshell that closes its copy of the pipe after head says so on stderr: from then on
    // nobody reads perfwatch's output, and its next line (the closing message) meets EPIPE.
    const shell = spawn(
      'sh',
      [
        '-c',
        `("$NODE" --import tsx "$CLI" start --db "$DB" --interval 3600 --no-prometheus --no-api 2>&1 &
          echo $! > "$PID_FILE"; wait $!; echo $? > "$STATUS_FILE") | (head -2; exec <&-; echo closed >&2)`,
      ],
      {
        cwd: ROOT,
        env: {
          ...cliEnv({ PERFWATCH_LOG_LEVEL: 'info' }),
          NODE: process.execPath,
          CLI,
          DB: history,
          PID_FILE: pidFile,
          STATUS_FILE: statusFile,
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    const exited = once(shell, 'exit');
    const stdout = collect(shell.stdout!);
    let stderr = '';
    shell.stderr!.setEncoding('utf8');
    for await (const text of shell.stderr!) {
      stderr += text;
      if (stderr.includes('closed')) break;
    }
    expect(stderr).toBe('closed\n');
    const pid = Number((await readFile(pidFile, 'utf8')).trim());
    // Still running with nobody reading: a monitor's job is the history, not its status lines.
    expect(() => process.kill(pid, 0)).not.toThrow();
    process.kill(pid, 'SIGTERM');
    await exited;
    expect((await stdout).split('\n')).toHaveLength(3);
    expect((await readFile(statusFile, 'utf8')).trim()).toBe('0');

    // The interval (1 h) never fired: what is stored came from the shutdown flush.
    const store = await MetricStore.open(history);
    try {
      const [row] = await store.query('SELECT count(DISTINCT time) AS collections FROM points_number');
      expect(row).toMatchObject({ collections: 1n });
    } finally {
      await store.close();
    }
  });
});

/** No stack, no "unexpected error": a reader that left is not the command's failure. */
function expectNoErrorReport(stderr: string): void {
  expect(stderr).not.toContain('error');
  expect(stderr).not.toMatch(/^\s+at /m);
}

/**
 * Runs the CLI with its stdout piped into `reader` (a shell command) by a real shell pipe, and
 * returns what `reader` printed (read by `read`), the CLI's own stderr (merged into the pipe when
 * `mergeStderr`) and its exit code.
 */
async function cli(
  args: readonly string[],
  reader: string,
  read: (stream: Readable) => Promise<string> = collect,
  mergeStderr = false,
): Promise<{ stdout: string; stderr: string; status: number }> {
  const errFile = dir.file('cli.stderr');
  const statusFile = dir.file('cli.status');
  const command = `("$NODE" --import tsx "$CLI" ${args.map(quote).join(' ')} ${mergeStderr ? '2>&1' : '2>"$ERR_FILE"'}; echo $? > "$STATUS_FILE") | ${reader}`;
  await writeFile(errFile, '');
  const shell = spawn('sh', ['-c', command], {
    cwd: ROOT,
    env: { ...cliEnv(), NODE: process.execPath, CLI, ERR_FILE: errFile, STATUS_FILE: statusFile },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const [stdout] = await Promise.all([read(shell.stdout!), once(shell, 'exit')]);
  return {
    stdout,
    stderr: await readFile(errFile, 'utf8'),
    status: Number((await readFile(statusFile, 'utf8')).trim()),
  };
}

/** The environment of `spawnCli`: no perfwatch or OTel settings of this machine, the API on a free port. */
function cliEnv(extra: Record<string, string> = {}): Record<string, string> {
  const clean = Object.fromEntries(
    Object.entries(process.env).filter(
      (entry): entry is [string, string] =>
        entry[1] !== undefined && !entry[0].startsWith('OTEL_') && !entry[0].startsWith('PERFWATCH_'),
    ),
  );
  return { ...clean, PERFWATCH_LOG_LEVEL: 'warn', PERFWATCH_API_PORT: '0', ...extra };
}

async function collect(stream: Readable): Promise<string> {
  let text = '';
  stream.setEncoding('utf8');
  for await (const chunk of stream) text += chunk;
  return text;
}

/**
 * Reads 4 KiB at a time, one read per turn of the event loop, leaving the rest in the pipe: the
 * writer keeps finding the pipe full and its writes queue up behind it, as behind a slow consumer.
 */
function readSlowly(stream: Readable): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const step = () => {
      const chunk = stream.read(4096) as Buffer | null;
      if (chunk === null) {
        stream.once('readable', step);
        return;
      }
      chunks.push(chunk);
      setImmediate(step);
    };
    stream.once('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    stream.once('error', reject);
    stream.once('readable', step);
  });
}

function sqlRows(): string {
  return `SELECT range AS i, repeat('x', 40) AS pad FROM range(${SQL_ROWS})`;
}

/** `minutes` after T0, ISO 8601. */
function iso(minutes: number): string {
  return new Date((T0 + minutes * 60) * 1000).toISOString();
}

function quote(arg: string): string {
  return `'${arg.replace(/'/g, `'\\''`)}'`;
}

/** Deterministic uniform numbers in [0, 1): a seeded LCG, so the analysis finds the same changes every run. */
function lcg(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state * 16807) % 2147483647;
    return state / 2147483647;
  };
}
