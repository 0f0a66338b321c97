import { type ChildProcess, type ForkOptions, fork } from 'node:child_process';
import { createRequire } from 'node:module';
import { extname } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

/**
 * Starts the module `name` that sits next to the calling module (`callerUrl`, its
 * `import.meta.url`) as a child process with an IPC channel (advanced serialization: bigint,
 * Date and typed arrays cross it): `name.js` from dist/, `name.ts` with tsx's loader from the
 * sources (tsx, vitest). A process rather than a worker thread when the parent must be able to
 * end it whatever it is doing, and bound memory that V8's `resourceLimits` do not see (native
 * allocations).
 *
 * Like startModuleWorker, the child runs without the host's execArgv and NODE_OPTIONS (a
 * `--require` of an OpenTelemetry register would start a second SDK there); its stdout is
 * ignored, so it cannot mix into a command's output, and its stderr is the host's.
 */
export function startModuleProcess(callerUrl: string, name: string, options: ForkOptions = {}): ChildProcess {
  const env = { ...process.env };
  delete env.NODE_OPTIONS;
  const extension = extname(fileURLToPath(callerUrl));
  const entry = fileURLToPath(new URL(`./${name}${extension}`, callerUrl));
  const execArgv =
    extension === '.ts'
      ? ['--import', pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href]
      : [];
  return fork(entry, [], {
    execArgv,
    env,
    serialization: 'advanced',
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
    ...options,
  });
}
