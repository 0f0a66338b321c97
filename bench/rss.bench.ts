import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { report } from './stats.js';

const CLI = fileURLToPath(new URL('../dist/cli/main.js', import.meta.url));
const RUN_SECONDS = 30;

/** Steady-state RSS of `perfwatch start` (the compiled CLI), collecting every second. */
export async function benchRss(): Promise<void> {
  if (!existsSync(CLI)) throw new Error('dist/ is missing: run `npm run build` first (npm run bench does)');
  const dir = await mkdtemp(join(tmpdir(), 'perfwatch-bench-'));
  const child = spawn(
    process.execPath,
    [CLI, 'start', '--db', join(dir, 'rss.duckdb'), '--interval', '1', '--prometheus-port', '0'],
    {
      stdio: ['ignore', 'ignore', 'ignore'],
      env: { ...process.env, PERFWATCH_LOG_LEVEL: 'warn' },
    },
  );
  const samples: number[] = [];
  try {
    for (let second = 1; second <= RUN_SECONDS; second++) {
      await new Promise((resolve) => setTimeout(resolve, 1000));
      const status = await readFile(`/proc/${child.pid}/status`, 'utf8');
      samples.push(Number(/^VmRSS:\s+(\d+)/m.exec(status)?.[1] ?? Number.NaN) / 1024);
    }
  } finally {
    child.kill('SIGINT');
    await once(child, 'exit');
    await rm(dir, { recursive: true, force: true });
  }
  const steady = samples.slice(Math.floor(samples.length / 2));
  report(`perfwatch start, ${RUN_SECONDS} s at 1 collection/s`, [
    [
      'steady-state RSS, mean of 2nd half (MB)',
      (steady.reduce((a, b) => a + b, 0) / steady.length).toFixed(1),
      'target ≤ 120 MB',
    ],
    ['RSS at the end (MB)', samples.at(-1)!.toFixed(1), ''],
  ]);
}
