import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';

const CLI = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));

/** Starts the CLI from source (through tsx), with a clean perfwatch/OTel environment. */
export function spawnCli(
  args: readonly string[],
  env: Record<string, string> = {},
): ChildProcess & { stderrText: () => string } {
  const cleanEnv = Object.fromEntries(
    Object.entries(process.env).filter(([key]) => !key.startsWith('OTEL_') && !key.startsWith('PERFWATCH_')),
  );
  const child = spawn(process.execPath, ['--import', 'tsx', CLI, ...args], {
    // The API on a free port: tests run in parallel, and 9465 may be taken on this machine.
    env: { ...cleanEnv, PERFWATCH_LOG_LEVEL: 'warn', PERFWATCH_API_PORT: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (text: string) => {
    stderr += text;
  });
  return Object.assign(child, { stderrText: () => stderr });
}

/** Runs the CLI to completion. */
export async function runCli(args: readonly string[], env: Record<string, string> = {}) {
  const child = spawnCli(args, env);
  let stdout = '';
  child.stdout!.setEncoding('utf8').on('data', (text: string) => {
    stdout += text;
  });
  const [code] = (await once(child, 'exit')) as [number | null];
  return { code, stdout, stderr: child.stderrText() };
}

/**
 * Resolves with stderr once it contains `text` (event-driven, no polling). Rejects with what the
 * CLI printed when it exits first (or had exited already), or after `timeoutMillis`, so a failure
 * says why instead of running into the test's own timeout.
 */
export function stderrContaining(
  child: ChildProcess & { stderrText: () => string },
  text: string,
  timeoutMillis = 45_000,
): Promise<string> {
  return new Promise((resolve, reject) => {
    const stop = () => {
      child.stderr!.off('data', check);
      child.off('exit', onExit);
      clearTimeout(deadline);
    };
    const check = () => {
      if (!child.stderrText().includes(text)) return false;
      stop();
      resolve(child.stderrText());
      return true;
    };
    const fail = (why: string) => {
      stop();
      reject(new Error(`CLI ${why} before printing ${JSON.stringify(text)}:\n${child.stderrText()}`));
    };
    const onExit = () => {
      if (!check()) fail(`exited (${child.exitCode ?? child.signalCode})`);
    };
    const deadline = setTimeout(() => fail(`did not print it within ${timeoutMillis} ms`), timeoutMillis);
    child.stderr!.on('data', check);
    child.once('exit', onExit);
    if (!check() && hasExited(child)) onExit();
  });
}

/** Stops a spawned CLI with `signal` and waits for its exit; one that has exited already is left be. */
export async function stopCli(child: ChildProcess, signal: NodeJS.Signals = 'SIGINT'): Promise<void> {
  if (hasExited(child)) return;
  const exited = once(child, 'exit');
  child.kill(signal);
  await exited;
}

function hasExited(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null;
}
