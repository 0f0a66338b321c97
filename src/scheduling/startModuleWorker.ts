import { createRequire } from 'node:module';
import { extname } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker, type WorkerOptions } from 'node:worker_threads';

/**
 * Starts the worker-thread module `name` that sits next to the calling module (`callerUrl`, its
 * `import.meta.url`): `name.js` when running from dist/; `name.ts` when running from the sources
 * (tsx, vitest), where the worker first registers tsx's loader (a worker's `--import` does not
 * reach its entry on Node 20). tsx is a development dependency: dist/ never asks for it.
 *
 * The worker runs without the host's execArgv and NODE_OPTIONS, whose `--require` preloads Node
 * would otherwise run in it too: `--require @opentelemetry/auto-instrumentations-node/register`
 * would start a second SDK there, tracing the worker's own requests. Its environment is otherwise
 * the host's (OTEL_* settings, NODE_EXTRA_CA_CERTS).
 */
export function startModuleWorker(callerUrl: string, name: string, options: WorkerOptions = {}): Worker {
  const env = { ...process.env };
  delete env.NODE_OPTIONS;
  options = { execArgv: [], env, ...options };
  const extension = extname(fileURLToPath(callerUrl));
  const entry = new URL(`./${name}${extension}`, callerUrl);
  if (extension !== '.ts') return new Worker(entry, options);
  const tsxApi = pathToFileURL(
    createRequire(import.meta.url)
      .resolve('tsx/esm/api')
      .replace(/\.cjs$/, '.mjs'),
  ).href;
  const bootstrap = `import { register } from ${JSON.stringify(tsxApi)}; register(); await import(${JSON.stringify(entry.href)});`;
  return new Worker(new URL(`data:text/javascript,${encodeURIComponent(bootstrap)}`), options);
}
