import { once } from 'node:events';
import { writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AlertProcessor } from '../../src/alerts/AlertProcessor.js';
import { parseRules } from '../../src/alerts/parseRules.js';
import { DuckDbMetricReader } from '../../src/reader/DuckDbMetricReader.js';
import { startPerfWatch } from '../../src/startPerfWatch.js';
import { MetricStore } from '../../src/store/MetricStore.js';
import { captureLogger } from '../helpers/captureLogger.js';
import { fixtureCollections } from '../helpers/fixtureCollection.js';
import { tempDir } from '../helpers/tempDir.js';

let dir: Awaited<ReturnType<typeof tempDir>>;
beforeEach(async () => {
  dir = await tempDir();
});
afterEach(async () => {
  await dir.cleanup();
});

describe('alert evaluation failures never break collection', () => {
  it('a failing after-collection step is logged; the collection still succeeds', async () => {
    const logger = captureLogger();
    let calls = 0;
    const reader = new DuckDbMetricReader({
      path: dir.file('h.duckdb'),
      collectionIntervalMillis: 0,
      logger,
      onCollectionWritten: async () => {
        calls++;
        throw new Error('rule engine exploded');
      },
    });
    const provider = new MeterProvider({ readers: [reader] });
    provider.getMeter('t').createCounter('app.orders').add(1);
    await reader.forceFlush();
    await reader.forceFlush();
    expect(calls).toBe(2);
    expect(logger.entries.filter((e) => e.message === 'processing after a collection failed')).toHaveLength(
      2,
    );
    const store = await reader.ready();
    expect(await store.query("SELECT count(*) AS n FROM series WHERE metric_name = 'app.orders'")).toEqual([
      { n: 1n },
    ]);
    await provider.shutdown();
  });

  it('a failing history write is logged and counted; alert states still advance', async () => {
    const store = await MetricStore.open(dir.file('h.duckdb'));
    try {
      for (const collection of fixtureCollections([
        { metric: 'app.queue.depth', kind: 'gauge', time: 1_800_000_000, value: 500 },
      ])) {
        await store.writeCollection(collection);
      }
      const logger = captureLogger();
      const failingStore = Object.assign(Object.create(store) as MetricStore, {
        execute: () => Promise.reject(new Error('disk full')),
      });
      const processor = await AlertProcessor.create({
        rules: parseRules(
          "rules: [{name: Deep, selector: {metric: app.queue.depth}, comparison: '>', threshold: 1}]",
        ),
        store: failingStore,
        now: () => 1_800_000_000_000,
        logger,
      });
      // The states are settled and the receivers told before the history write fails.
      expect(await processor.evaluate()).toEqual({ rules: 1, errors: 0, transitions: 1 });
      expect(processor.statuses()).toMatchObject([{ rule: 'Deep', state: 'firing', value: 500 }]);
      await processor.flushHistory();
      expect(logger.entries.map((e) => e.message)).toContain(
        'recording alert transitions failed; they are not in the history',
      );
    } finally {
      await store.close();
    }
  });

  it('a webhook that refuses the payload is given up, logged and counted', async () => {
    const server = createServer((request, response) => {
      request.resume();
      response.statusCode = 400;
      response.end('bad payload');
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    await writeFile(
      dir.file('rules.yaml'),
      "rules: [{name: Always, selector: {metric: app.queue.depth}, aggregation: last, comparison: '>=', threshold: 0}]",
    );
    const logger = captureLogger();
    const perfwatch = await startPerfWatch({
      dbPath: dir.file('pw.duckdb'),
      collectionIntervalMillis: 3_600_000,
      prometheusEnabled: false,
      hostMetrics: false,
      runtimeMetrics: false,
      defaultAlertRules: false,
      alertRulesPath: dir.file('rules.yaml'),
      webhookUrls: [`http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`],
      logger,
    });
    try {
      perfwatch.registerCollector('queue', {
        metrics: { 'app.queue.depth': {} },
        collect: () => [{ metric: 'app.queue.depth', value: 1 }],
      });
      await perfwatch.forceFlush(); // fires; the webhook answers 400: not retried
      await perfwatch.forceFlush(); // records the counter
      expect(logger.entries.map((e) => e.message)).toContain(
        'alert notification could not be delivered; gave up',
      );
      const rows = await perfwatch.store.query(
        `SELECT Attributes AS attrs, Value AS value FROM otel_metrics_sum
         WHERE MetricName = 'perfwatch.alerts.notifications_failed' ORDER BY TimeUnix DESC LIMIT 1`,
      );
      expect(rows).toEqual([{ attrs: { receiver: 'webhook', reason: 'retries_exhausted' }, value: 1 }]);
    } finally {
      await perfwatch.shutdown();
      server.close();
    }
  });
});
