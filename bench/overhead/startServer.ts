import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { availableParallelism } from 'node:os';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { Variant } from './instrument.js';

/** Whether servers and load can be kept apart: two cores and `taskset`. */
export const pinned = availableParallelism() >= 2 && spawnSync('taskset', ['-V']).status === 0;

/** Pins this process (load generator, scraper, OTLP sink) to core 0; servers go to core 1. */
export function pinLoadToCoreZero(): void {
  if (pinned) spawnSync('taskset', ['-p', '-c', '0', String(process.pid)], { stdio: 'ignore' });
}

export interface RunningServer {
  variant: Variant;
  process: ChildProcess;
  port: number;
  /** Undefined for the bare server. */
  scrapeUrl: string | undefined;
  stop(): Promise<void>;
}

const serverScript = fileURLToPath(new URL('./server.ts', import.meta.url));

/** One benchmark server of `variant` on core 1, exporting OTLP to `sinkUrl`; resolves once it listens. */
export async function startServer(variant: Variant, sinkUrl: string): Promise<RunningServer> {
  const argv = [process.execPath, '--import', 'tsx', serverScript, variant, sinkUrl];
  const [command, ...args] = pinned ? ['taskset', '-c', '1', ...argv] : argv;
  const child = spawn(command!, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  const [, port, scrapeUrl] = (await firstLine(child)).split(' ');
  return {
    variant,
    process: child,
    port: Number(port),
    scrapeUrl: scrapeUrl === '-' ? undefined : scrapeUrl,
    stop: async () => {
      const exited = child.exitCode !== null || child.signalCode !== null;
      child.kill('SIGTERM');
      if (!exited) await once(child, 'exit');
    },
  };
}

async function firstLine(child: ChildProcess): Promise<string> {
  const lines = createInterface({ input: child.stdout! });
  const exited = once(child, 'exit').then(([code]) => {
    throw new Error(`process exited (${code}) before printing a line`);
  });
  const line = Promise.race([once(lines, 'line').then(([text]) => text as string), exited]);
  return line.finally(() => lines.close());
}

/** Scrapes `server` every `intervalMillis`, as Prometheus would; returns the stop function. */
export function scrapeEvery(server: RunningServer, intervalMillis: number, took?: (millis: number) => void) {
  if (server.scrapeUrl === undefined) return () => {};
  const url = server.scrapeUrl;
  const timer = setInterval(async () => {
    const started = performance.now();
    await (await fetch(url)).text();
    took?.(performance.now() - started);
  }, intervalMillis);
  return () => clearInterval(timer);
}
