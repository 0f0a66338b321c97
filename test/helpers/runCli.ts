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

/** Resolves with stderr once it contains `text` (event-driven, no polling). */
export function stderrContaining(
  child: ChildProcess & { stderrText: () => string },
  text: string,
): Promise<string> {
  return new Promise((resolve, reject) => {
    const check = () => {
      if (child.stderrText().includes(text)) {
        child.stderr!.off('data', check);
        child.off('exit', onExit);
        resolve(child.stderrText());
      }
    };
    const onExit = () =>
      reject(new Error(`CLI exited before printing ${JSON.stringify(text)}:\n${child.stderrText()}`));
    child.stderr!.on('data', check);
    child.once('exit', onExit);
    check();
  });
}
