import { once } from 'node:events';
import { writeFile } from 'node:fs/promises';
import { Worker } from 'node:worker_threads';
import { afterEach, describe, expect, it } from 'vitest';
import { startModuleWorker } from '../../src/scheduling/startModuleWorker.js';
import { tempDir } from '../helpers/tempDir.js';

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** Sets NODE_OPTIONS to preload a file that marks the thread it runs in; restores it afterwards. */
async function preloadThroughNodeOptions(): Promise<void> {
  const dir = await tempDir();
  cleanups.push(dir.cleanup);
  const preload = dir.file('preload.cjs');
  await writeFile(preload, 'globalThis.perfwatchTestPreloaded = true;\n');
  const saved = { nodeOptions: process.env.NODE_OPTIONS, serviceName: process.env.OTEL_SERVICE_NAME };
  process.env.NODE_OPTIONS = `--require ${preload}`;
  process.env.OTEL_SERVICE_NAME = 'preload-test';
  cleanups.push(async () => {
    for (const [name, value] of [
      ['NODE_OPTIONS', saved.nodeOptions],
      ['OTEL_SERVICE_NAME', saved.serviceName],
    ] as const) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  });
}

async function firstMessage(worker: Worker): Promise<unknown> {
  cleanups.push(() => worker.terminate());
  const [message] = await once(worker, 'message');
  return message;
}

describe('startModuleWorker', () => {
  it("runs the module without the host's NODE_OPTIONS preloads, in the host's environment otherwise", async () => {
    await preloadThroughNodeOptions();
    // The probe: a worker started the plain way runs the preload.
    const plain = new Worker(
      `require('node:worker_threads').parentPort.postMessage(globalThis.perfwatchTestPreloaded === true)`,
      { eval: true, env: { ...process.env } },
    );
    expect(await firstMessage(plain)).toBe(true);

    const besideFixture = new URL('../helpers/tempDir.ts', import.meta.url).href;
    const worker = startModuleWorker(besideFixture, 'reportPreloadWorker');
    expect(await firstMessage(worker)).toEqual({
      preloaded: false,
      nodeOptions: undefined,
      otelServiceName: 'preload-test',
    });
  });
});
