import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { PerfWatchOptions } from '../../src/config/PerfWatchOptions.js';
import { type PerfWatch, startPerfWatch } from '../../src/startPerfWatch.js';
import { captureLogger } from '../helpers/captureLogger.js';
import { type FixturePoint, writeFixtureFile } from '../helpers/fixtureCollection.js';
import { tempDir } from '../helpers/tempDir.js';

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function start(options: PerfWatchOptions): Promise<PerfWatch> {
  const dir = await tempDir();
  cleanups.push(dir.cleanup);
  const perfwatch = await startPerfWatch({
    dbPath: dir.file('history.duckdb'),
    collectionIntervalMillis: 3_600_000,
    prometheusPort: 0,
    logger: captureLogger(),
    ...options,
  });
  cleanups.push(() => perfwatch.shutdown());
  return perfwatch;
}

async function latest(perfwatch: PerfWatch, metric: string, where = 'true'): Promise<number[]> {
  const rows = await perfwatch.store.query(
    `SELECT p.value FROM points_number p JOIN series s USING (series_ref)
     WHERE s.metric_name = $1 AND ${where} AND p.time = (SELECT max(time) FROM points_number)`,
    [metric],
  );
  return rows.map((row) => row.value as number);
}

describe('startPerfWatch: host, system and runtime metrics', () => {
  it('stores CPU, memory, event loop, load, disk, threads and file descriptors with sane values after one collection', async () => {
    const perfwatch = await start({ serviceName: 'host-test' });
    // The runtime instrumentation reports event-loop delay once its histogram holds 5 samples
    // (10 ms apart): collect until it has, rather than sleeping a fixed time.
    await vi.waitFor(
      async () => {
        await perfwatch.forceFlush();
        expect(await latest(perfwatch, 'nodejs.eventloop.delay.p99')).toHaveLength(1);
      },
      { timeout: 5000, interval: 20 },
    );

    const cpuUtilization = await latest(perfwatch, 'system.cpu.utilization');
    expect(cpuUtilization.length).toBeGreaterThan(0);
    for (const value of cpuUtilization) {
      expect(value).toBeGreaterThanOrEqual(0);
      expect(value).toBeLessThanOrEqual(1);
    }
    const [memoryUsed] = await latest(
      perfwatch,
      'system.memory.usage',
      "s.attrs['system.memory.state'] = 'used'",
    );
    expect(memoryUsed).toBeGreaterThan(0);
    const [rss] = await latest(perfwatch, 'process.memory.usage');
    expect(rss).toBeGreaterThan(10 * 1024 * 1024);
    const [delayP99] = await latest(perfwatch, 'nodejs.eventloop.delay.p99');
    expect(delayP99).toBeGreaterThanOrEqual(0);
    const [elu] = await latest(perfwatch, 'nodejs.eventloop.utilization');
    expect(elu).toBeGreaterThanOrEqual(0);
    expect(elu).toBeLessThanOrEqual(1);
    const heapUsed = await latest(perfwatch, 'v8js.memory.heap.used');
    expect(heapUsed.reduce((a, b) => a + b, 0)).toBeGreaterThan(0);

    const [load1m] = await latest(perfwatch, 'system.cpu.load_average.1m');
    expect(load1m).toBeGreaterThanOrEqual(0);
    const [diskUtilization] = await latest(perfwatch, 'system.filesystem.utilization');
    expect(diskUtilization).toBeGreaterThan(0);
    expect(diskUtilization).toBeLessThanOrEqual(1);
    const [diskFree] = await latest(
      perfwatch,
      'system.filesystem.usage',
      "s.attrs['system.filesystem.state'] = 'free'",
    );
    expect(diskFree).toBeGreaterThan(0);
    const [threads] = await latest(perfwatch, 'process.thread.count');
    expect(threads).toBeGreaterThanOrEqual(1);
    const [fds] = await latest(perfwatch, 'process.open_file_descriptor.count');
    expect(fds).toBeGreaterThanOrEqual(3);
    const loopbackBytes = await latest(
      perfwatch,
      'system.network.io',
      "s.attrs['network.interface.name'] = 'lo'",
    );
    expect(loopbackBytes).toHaveLength(2);

    const [resource] = await perfwatch.store.query('SELECT DISTINCT service_name, host_name FROM series');
    expect(resource).toMatchObject({ service_name: 'host-test' });
    expect(resource?.host_name).toBeTruthy();
  });

  it('records its own health: points written, collection duration and store size', async () => {
    const perfwatch = await start({ hostMetrics: false, runtimeMetrics: false });
    perfwatch.meter.createCounter('jobs').add(1);
    await perfwatch.forceFlush();
    await perfwatch.forceFlush();
    const [written] = await latest(perfwatch, 'perfwatch.store.points_written');
    expect(written).toBeGreaterThan(0);
    const [size] = await latest(perfwatch, 'perfwatch.store.size');
    expect(size).toBeGreaterThan(0);
    const durations = await perfwatch.store.query(
      `SELECT count FROM otel_metrics_histogram WHERE MetricName = 'perfwatch.collection.duration' ORDER BY TimeUnix DESC LIMIT 1`.replace(
        'SELECT count',
        'SELECT Count AS count',
      ),
    );
    expect(durations[0]?.count).toBeGreaterThanOrEqual(1n);
  });
});

describe('startPerfWatch: custom collectors', () => {
  it('stores what collectors report and isolates a failing one', async () => {
    const logger = captureLogger();
    const perfwatch = await start({ hostMetrics: false, runtimeMetrics: false, logger });
    perfwatch.registerCollector('queues', {
      metrics: { 'app.queue.depth': { unit: '{message}', description: 'messages waiting' } },
      collect: async () => [
        { metric: 'app.queue.depth', value: 3, attributes: { queue: 'emails' } },
        { metric: 'app.queue.depth', value: 8, attributes: { queue: 'sms' } },
      ],
    });
    perfwatch.registerCollector('broken', {
      metrics: { 'app.broken': {} },
      collect: () => {
        throw new Error('database unreachable');
      },
    });
    perfwatch.registerCollector('sloppy', {
      metrics: { 'app.sloppy': {} },
      collect: () => [{ metric: 'app.undeclared', value: 1 }],
    });
    expect(() => perfwatch.registerCollector('queues', { metrics: { x: {} }, collect: () => [] })).toThrow(
      /already registered/,
    );
    expect(() =>
      perfwatch.registerCollector('other', { metrics: { 'app.queue.depth': {} }, collect: () => [] }),
    ).toThrow(/already reported by collector "queues"/);

    await perfwatch.forceFlush();
    const depths = await perfwatch.store.query(
      `SELECT Attributes['queue'] AS queue, Value AS value, MetricUnit AS unit FROM otel_metrics_gauge
       WHERE MetricName = 'app.queue.depth' ORDER BY queue`,
    );
    expect(depths).toEqual([
      { queue: 'emails', value: 3, unit: '{message}' },
      { queue: 'sms', value: 8, unit: '{message}' },
    ]);
    const errors = await perfwatch.store.query(
      `SELECT Attributes['collector'] AS collector, Value AS value FROM otel_metrics_sum
       WHERE MetricName = 'perfwatch.collector.errors' ORDER BY collector`,
    );
    expect(errors).toEqual([
      { collector: 'broken', value: 1 },
      { collector: 'sloppy', value: 1 },
    ]);
    const warnings = logger.entries.filter((entry) => entry.level === 'warn').map((entry) => entry.message);
    expect(warnings).toContain('custom collector "broken" failed: Error: database unreachable');
    expect(warnings).toContain(
      'custom collector "sloppy" failed: sample names undeclared metric "app.undeclared"',
    );
  });
});

describe('startPerfWatch: OTLP/HTTP export', () => {
  async function receiver(status = 200) {
    const requests: { url: string; headers: IncomingMessage['headers']; body: string }[] = [];
    const server: Server = createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        requests.push({
          url: request.url ?? '',
          headers: request.headers,
          body: Buffer.concat(chunks).toString('utf8'),
        });
        response.writeHead(status, { 'content-type': 'application/json' }).end('{}');
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    cleanups.push(() => new Promise((resolve) => server.close(resolve)));
    return { requests, base: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
  }

  it('pushes the recorded metric with the resource service.name to /v1/metrics', async () => {
    const otlp = await receiver();
    const perfwatch = await start({
      hostMetrics: false,
      runtimeMetrics: false,
      serviceName: 'orders-api',
      otlpEndpoint: otlp.base,
      otlpHeaders: { 'x-tenant': 'acme' },
    });
    perfwatch.meter.createCounter('orders.created').add(5, { channel: 'web' });
    await perfwatch.forceFlush();

    expect(otlp.requests.length).toBeGreaterThanOrEqual(1);
    const request = otlp.requests[0]!;
    expect(request.url).toBe('/v1/metrics');
    expect(request.headers['x-tenant']).toBe('acme');
    const resourceMetrics = JSON.parse(request.body).resourceMetrics[0];
    expect(resourceMetrics.resource.attributes).toContainEqual({
      key: 'service.name',
      value: { stringValue: 'orders-api' },
    });
    const metrics = resourceMetrics.scopeMetrics.flatMap((scope: { metrics: unknown[] }) => scope.metrics);
    const created = metrics.find((metric: { name: string }) => metric.name === 'orders.created');
    const point = created.sum.dataPoints[0];
    expect(Number(point.asDouble ?? point.asInt)).toBe(5);
    expect(point.attributes).toContainEqual({ key: 'channel', value: { stringValue: 'web' } });
  });

  it('keeps writing DuckDB and logs one warning when the Collector rejects every export', async () => {
    // 400 is not retried by the exporter, so each export fails at once.
    const otlp = await receiver(400);
    const logger = captureLogger();
    const perfwatch = await start({
      hostMetrics: false,
      runtimeMetrics: false,
      otlpEndpoint: otlp.base,
      logger,
    });
    const counter = perfwatch.meter.createCounter('ticks');
    for (let i = 0; i < 3; i++) {
      counter.add(1);
      await perfwatch.forceFlush().catch(() => undefined);
    }
    expect(await latest(perfwatch, 'ticks')).toEqual([3]);
    expect(otlp.requests.length).toBeGreaterThanOrEqual(3);
    const otlpWarnings = logger.entries.filter((entry) =>
      entry.message.startsWith('OTLP metric export failed'),
    );
    expect(otlpWarnings).toHaveLength(1);
  });

  it('does not hold up the DuckDB history when the Collector is unreachable', async () => {
    const closed = await receiver();
    const unreachable = closed.base;
    await cleanups.pop()!(); // close the receiver: its port now refuses connections
    // The export timeout follows the export interval (capped at 10 s); keep it short here.
    const perfwatch = await start({
      hostMetrics: false,
      runtimeMetrics: false,
      otlpEndpoint: unreachable,
      otlpExportIntervalMillis: 300,
    });
    perfwatch.meter.createCounter('ticks').add(1);
    await perfwatch.forceFlush();
    expect(await latest(perfwatch, 'ticks')).toEqual([1]);
  });
});

describe('startPerfWatch: shutdown', () => {
  it('writes the last collection and closes the file', async () => {
    const dir = await tempDir();
    cleanups.push(dir.cleanup);
    const options = {
      dbPath: dir.file('h.duckdb'),
      prometheusEnabled: false,
      hostMetrics: false,
      runtimeMetrics: false,
      logger: captureLogger(),
    };
    const first = await startPerfWatch(options);
    first.meter.createCounter('final').add(42);
    await first.shutdown();
    await first.shutdown(); // idempotent

    const second = await startPerfWatch(options);
    cleanups.push(() => second.shutdown());
    const rows = await second.store.query(
      `SELECT Value AS value FROM otel_metrics_sum WHERE MetricName = 'final'`,
    );
    expect(rows).toEqual([{ value: 42 }]);
  });
});

describe('startPerfWatch: views and cardinality', () => {
  it('gives http.server.request.duration the semconv buckets and caps series per metric with an overflow series', async () => {
    const perfwatch = await start({ hostMetrics: false, runtimeMetrics: false, cardinalityLimit: 3 });
    perfwatch.meter
      .createHistogram('http.server.request.duration', { unit: 's' })
      .record(0.2, { 'http.route': '/a' });
    const users = perfwatch.meter.createCounter('app.logins');
    for (let i = 0; i < 10; i++) users.add(1, { user: `u${i}` });
    await perfwatch.forceFlush();

    const [histogram] = await perfwatch.store.query(
      `SELECT ExplicitBounds AS bounds FROM otel_metrics_histogram WHERE MetricName = 'http.server.request.duration'`,
    );
    expect(histogram?.bounds).toEqual([
      0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10,
    ]);

    const series = await perfwatch.store.query(
      `SELECT Attributes AS attrs, Value AS value FROM otel_metrics_sum WHERE MetricName = 'app.logins' ORDER BY Value`,
    );
    expect(series).toHaveLength(3); // 2 kept attribute sets + the SDK's overflow series
    expect(series.at(-1)).toEqual({ attrs: { 'otel.metric.overflow': 'true' }, value: 8 });
  });
});

describe('startPerfWatch: regressions', () => {
  it('runs regression cycles over its history and exposes perfwatch.regressions.active to Prometheus', async () => {
    const dir = await tempDir();
    cleanups.push(dir.cleanup);
    const t0 = Date.UTC(2026, 10, 29) / 1000;
    const points: FixturePoint[] = Array.from({ length: 180 }, (_, i) => ({
      metric: 'process.memory.usage',
      kind: 'gauge',
      unit: 'By',
      time: t0 + i * 60,
      value: (i < 120 ? 200e6 : 300e6) + ((i * 7) % 5) * 1e6,
      resource: { 'service.name': 'checkout' },
    }));
    await writeFixtureFile(dir.file('history.duckdb'), points);
    const perfwatch = await startPerfWatch({
      dbPath: dir.file('history.duckdb'),
      collectionIntervalMillis: 3_600_000,
      prometheusPort: 0,
      hostMetrics: false,
      runtimeMetrics: false,
      regressionIntervalMinutes: 0,
      logger: captureLogger(),
      now: () => (t0 + 180 * 60) * 1000,
    });
    cleanups.push(() => perfwatch.shutdown());

    const summary = await perfwatch.regressions.runCycle();
    expect(summary).toMatchObject({ seriesAnalysed: 1, opened: 1 });
    const scrape = await (await fetch(`${perfwatch.prometheusUrl}`)).text();
    expect(scrape).toContain('# TYPE perfwatch_regressions_active gauge');
    expect(scrape).toMatch(
      /^perfwatch_regressions_active\{severity="critical",service="checkout"[^}]*\} 1( \d+)?$/m,
    );
  });
});
