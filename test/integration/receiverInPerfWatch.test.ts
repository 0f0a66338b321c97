import { get } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import type { ScheduledTask, Scheduler } from '../../src/scheduling/Scheduler.js';
import { createApiServer } from '../../src/server/createApiServer.js';
import { resolveApiConfig } from '../../src/server/resolveApiConfig.js';
import { type PerfWatch, startPerfWatch } from '../../src/startPerfWatch.js';
import { captureLogger } from '../helpers/captureLogger.js';
import { tempDir } from '../helpers/tempDir.js';

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A scheduler whose tasks the test runs by their interval, so the 1 s notices run alone. */
function intervalScheduler(): Scheduler & { run(intervalMillis: number): void } {
  const tasks = new Map<() => void, number>();
  return {
    every(intervalMillis: number, task: () => void): ScheduledTask {
      tasks.set(task, intervalMillis);
      return { cancel: () => tasks.delete(task) };
    },
    run(intervalMillis: number) {
      for (const [task, interval] of [...tasks]) if (interval === intervalMillis) task();
    },
  };
}

async function startCentral(scheduler: Scheduler): Promise<PerfWatch> {
  const dir = await tempDir();
  cleanups.push(dir.cleanup);
  const perfwatch = await startPerfWatch({
    dbPath: dir.file('central.duckdb'),
    collectionIntervalMillis: 3_600_000,
    hostMetrics: false,
    runtimeMetrics: false,
    prometheusEnabled: false,
    regressionIntervalMinutes: 0,
    otlpReceiver: { port: 0 },
    scheduler,
    logger: captureLogger(),
  });
  cleanups.push(() => perfwatch.shutdown());
  return perfwatch;
}

function otlpJson(value: number) {
  return JSON.stringify({
    resourceMetrics: [
      {
        resource: { attributes: [{ key: 'service.name', value: { stringValue: 'remote' } }] },
        scopeMetrics: [
          {
            metrics: [
              {
                name: 'queue.depth',
                gauge: { dataPoints: [{ asDouble: value, timeUnixNano: String(Date.now() * 1e6) }] },
              },
            ],
          },
        ],
      },
    ],
  });
}

async function send(perfwatch: PerfWatch, value: number): Promise<number> {
  const response = await fetch(perfwatch.receiver!.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: otlpJson(value),
  });
  return response.status;
}

describe('startPerfWatch with otlpReceiver (what perfwatch serve runs)', () => {
  it('announces received writes to collection listeners at most once per notice interval', async () => {
    const scheduler = intervalScheduler();
    const perfwatch = await startCentral(scheduler);
    let notices = 0;
    perfwatch.onCollection(() => notices++);
    expect(await send(perfwatch, 3)).toBe(200);
    expect(await send(perfwatch, 4)).toBe(200);
    expect(notices).toBe(0);
    scheduler.run(1000);
    expect(notices).toBe(1);
    scheduler.run(1000);
    expect(notices).toBe(1);
    expect(perfwatch.receiver!.status()).toMatchObject({
      pointsWritten: 2,
      batchesWritten: 2,
      writeErrors: 0,
      pendingPoints: 0,
    });
  });

  it('GET health reports the receiver; GET events sends a collection event with the received counts', async () => {
    const scheduler = intervalScheduler();
    const perfwatch = await startCentral(scheduler);
    const server = await createApiServer(perfwatch, resolveApiConfig({ port: 0 }, {}));
    cleanups.push(() => server.close());
    expect(await send(perfwatch, 5)).toBe(200);

    const health = (await server.app.inject({ url: '/api/performance/health' })).json();
    expect(health.data.receiver).toMatchObject({
      url: perfwatch.receiver!.url,
      pointsWritten: 1,
      writeErrors: 0,
    });
    expect(health.data.pointsWritten).toBeGreaterThanOrEqual(1);
    // No collection of its own yet, but received points written: not "starting".
    expect(health.data.status).toBe('ok');
    const prometheus = (await server.app.inject({ url: '/api/performance/prometheus' })).json();
    expect(prometheus.error.code).toBe('PERFWATCH_PROMETHEUS_DISABLED');

    await server.app.listen({ host: '127.0.0.1', port: 0 });
    const { port } = server.app.server.address() as { port: number };
    const received = await new Promise<string>((resolve, reject) => {
      const request = get({ host: '127.0.0.1', port, path: '/api/performance/events' }, (response) => {
        let text = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => {
          text += chunk;
          if (text.includes('event: collection')) {
            request.destroy();
            resolve(text);
          }
        });
        // Attached once the headers arrived: now the notice runs.
        scheduler.run(1000);
      });
      request.on('error', (error) => {
        if (!(error as NodeJS.ErrnoException).code?.includes('ECONNRESET')) reject(error);
      });
    });
    const data = JSON.parse(/event: collection\ndata: (.*)\n/.exec(received)?.[1] as string);
    expect(data).toMatchObject({ receivedPointsWritten: 1, receivedBatchesWritten: 1 });
  });

  it('names the receiver option in configuration errors', async () => {
    const dir = await tempDir();
    cleanups.push(dir.cleanup);
    await expect(
      startPerfWatch({
        dbPath: dir.file('refused.duckdb'),
        hostMetrics: false,
        runtimeMetrics: false,
        prometheusEnabled: false,
        otlpReceiver: { host: '0.0.0.0' },
        logger: captureLogger(),
      }),
    ).rejects.toThrow(/^otlpReceiver\.host: "0\.0\.0\.0" is not a loopback interface/);
  });
});
