import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  AggregationTemporality,
  DataPointType,
  MeterProvider,
  type ResourceMetrics,
} from '@opentelemetry/sdk-metrics';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  InvalidCollectionError,
  ShutdownError,
  SqlRefusedError,
  StoreLockedError,
} from '../../src/errors.js';
import { DuckDbMetricReader } from '../../src/reader/DuckDbMetricReader.js';
import { startPerfWatch } from '../../src/startPerfWatch.js';
import { MetricStore } from '../../src/store/MetricStore.js';
import { captureLogger } from '../helpers/captureLogger.js';
import { tempDir } from '../helpers/tempDir.js';

let dir: Awaited<ReturnType<typeof tempDir>>;
beforeEach(async () => {
  dir = await tempDir();
});
afterEach(async () => {
  await dir.cleanup();
});

function gaugeCollection(value: number, extra: object = {}): ResourceMetrics {
  return {
    resource: resourceFromAttributes({ 'service.name': 'robust' }),
    scopeMetrics: [
      {
        scope: { name: 'test' },
        metrics: [
          {
            descriptor: { name: 'g', unit: '', description: '', valueType: 1 },
            aggregationTemporality: AggregationTemporality.CUMULATIVE,
            dataPointType: DataPointType.GAUGE,
            dataPoints: [
              { startTime: [1, 0], endTime: [1_790_000_000 + value, 0], attributes: {}, value, ...extra },
            ],
          },
        ],
      },
    ],
  };
}

describe('store robustness', () => {
  it('lets only one of two concurrent opens of the same file through', async () => {
    const path = dir.file('h.duckdb');
    const results = await Promise.allSettled([MetricStore.open(path), MetricStore.open(path)]);
    const opened = results.filter((r) => r.status === 'fulfilled');
    const refused = results.filter((r) => r.status === 'rejected');
    expect(opened).toHaveLength(1);
    expect(refused).toHaveLength(1);
    expect((refused[0] as PromiseRejectedResult).reason).toBeInstanceOf(StoreLockedError);
    await (opened[0] as PromiseFulfilledResult<MetricStore>).value.close();
  });

  it('refuses a malformed collection with InvalidCollectionError and keeps writing good ones', async () => {
    const store = await MetricStore.open(dir.file('h.duckdb'));
    try {
      const broken = gaugeCollection(1);
      // A histogram point without buckets cannot be converted.
      const metric = broken.scopeMetrics[0]!.metrics[0]! as unknown as Record<string, unknown>;
      metric.dataPointType = DataPointType.HISTOGRAM;
      await expect(store.writeCollection(broken)).rejects.toBeInstanceOf(InvalidCollectionError);
      await store.writeCollection(gaugeCollection(2));
      expect(await store.query('SELECT Value AS v FROM otel_metrics_gauge')).toEqual([{ v: 2 }]);
    } finally {
      await store.close();
    }
  });

  it('stores attribute values OTel does not allow as text instead of failing the collection', async () => {
    const reader = new DuckDbMetricReader({ path: dir.file('h.duckdb'), collectionIntervalMillis: 0 });
    const provider = new MeterProvider({ readers: [reader] });
    const gauge = provider.getMeter('m').createObservableGauge('weird');
    gauge.addCallback((result) => result.observe(1, { fn: (() => 1) as never, sym: Symbol('s') as never }));
    await reader.forceFlush();
    provider.getMeter('m').createCounter('after').add(1);
    await reader.forceFlush();
    const store = await reader.ready();
    const rows = await store.query(
      `SELECT MetricName AS m FROM otel_metrics_gauge UNION ALL SELECT MetricName FROM otel_metrics_sum ORDER BY 1`,
    );
    expect(rows.map((r) => r.m)).toEqual(['after', 'weird', 'weird']);
    await provider.shutdown();
  });

  it('runs only single SELECT statements through MetricStore.query', async () => {
    const store = await MetricStore.open(dir.file('h.duckdb'));
    try {
      await expect(store.query('DROP VIEW otel_metrics_gauge')).rejects.toBeInstanceOf(SqlRefusedError);
      await expect(store.query('SELECT 1; DELETE FROM series')).rejects.toThrow(/exactly one statement/);
      expect(await store.query('SELECT $1::INTEGER + 1 AS n', [41])).toEqual([{ n: 42 }]);
    } finally {
      await store.close();
    }
  });

  it('closes while a query runs: the query is interrupted, close completes', async () => {
    const store = await MetricStore.open(dir.file('h.duckdb'));
    const running = store.query('SELECT count(*) AS n FROM range(100000000000)');
    const outcome = running.then(
      () => 'finished',
      () => 'interrupted',
    );
    await store.close();
    expect(await outcome).toBe('interrupted');
  });
});

describe('startPerfWatch shutdown', () => {
  it('calls the collectors once more for the final collection, then refuses forceFlush', async () => {
    const perfwatch = await startPerfWatch({
      dbPath: dir.file('h.duckdb'),
      prometheusEnabled: false,
      hostMetrics: false,
      runtimeMetrics: false,
      collectionIntervalMillis: 3_600_000,
      logger: captureLogger(),
    });
    let calls = 0;
    perfwatch.registerCollector('calls', {
      metrics: { 'app.calls': {} },
      collect: () => [{ metric: 'app.calls', value: ++calls }],
    });
    await perfwatch.forceFlush();
    await perfwatch.shutdown();
    await expect(perfwatch.forceFlush()).rejects.toBeInstanceOf(ShutdownError);

    const store = await MetricStore.open(dir.file('h.duckdb'));
    try {
      const values = await store.query(
        `SELECT Value AS v FROM otel_metrics_gauge WHERE MetricName = 'app.calls' ORDER BY TimeUnix`,
      );
      expect(values).toEqual([{ v: 1 }, { v: 2 }]);
    } finally {
      await store.close();
    }
  });
});
