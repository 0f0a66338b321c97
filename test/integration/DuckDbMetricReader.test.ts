import { resourceFromAttributes } from '@opentelemetry/resources';
import { AggregationType, MeterProvider } from '@opentelemetry/sdk-metrics';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DuckDbMetricReader } from '../../src/reader/DuckDbMetricReader.js';
import type { MetricStore } from '../../src/store/MetricStore.js';
import { tempDir } from '../helpers/tempDir.js';

describe('DuckDbMetricReader', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let provider: MeterProvider;
  let reader: DuckDbMetricReader;
  let store: MetricStore;

  beforeEach(async () => {
    dir = await tempDir();
    reader = new DuckDbMetricReader({ path: dir.file('history.duckdb'), collectionIntervalMillis: 0 });
    provider = new MeterProvider({
      resource: resourceFromAttributes({
        'service.name': 'checkout',
        'service.version': '1.4.2',
        'host.name': 'web-1',
      }),
      readers: [reader],
      views: [
        { instrumentName: 'latency.exp', aggregation: { type: AggregationType.EXPONENTIAL_HISTOGRAM } },
      ],
    });
    store = await reader.ready();
  });

  afterEach(async () => {
    await provider.shutdown();
    await dir.cleanup();
  });

  it('stores the exact values of every instrument kind with attributes and resource', async () => {
    const meter = provider.getMeter('shop', '2.0.0');
    meter.createCounter('orders', { unit: '{order}', description: 'orders placed' }).add(3, { region: 'eu' });
    const queue = meter.createUpDownCounter('queue.depth');
    queue.add(5);
    queue.add(-2);
    meter.createGauge('temperature', { unit: 'Cel' }).record(21.5, { room: 'lab' });
    const latency = meter.createHistogram('latency', {
      unit: 'ms',
      advice: { explicitBucketBoundaries: [10, 100] },
    });
    for (const value of [5, 50, 500, 7]) latency.record(value, { route: '/pay' });
    const exp = meter.createHistogram('latency.exp');
    for (const value of [1, 2, 4, 1000]) exp.record(value);

    await reader.forceFlush();

    const numbers = await store.query(`
      SELECT s.metric_name, s.kind, s.unit, s.description, s.monotonic, s.temporality, s.attrs,
             s.service_name, s.service_version, s.host_name, s.scope_name, s.scope_version, p.value
      FROM points_number p JOIN series s USING (series_ref) ORDER BY s.metric_name`);
    expect(numbers).toEqual([
      expect.objectContaining({
        metric_name: 'orders',
        kind: 'sum',
        unit: '{order}',
        description: 'orders placed',
        monotonic: true,
        temporality: 'cumulative',
        attrs: { region: 'eu' },
        value: 3,
        service_name: 'checkout',
        service_version: '1.4.2',
        host_name: 'web-1',
        scope_name: 'shop',
        scope_version: '2.0.0',
      }),
      expect.objectContaining({ metric_name: 'queue.depth', kind: 'sum', monotonic: false, value: 3 }),
      expect.objectContaining({
        metric_name: 'temperature',
        kind: 'gauge',
        temporality: null,
        attrs: { room: 'lab' },
        value: 21.5,
      }),
    ]);

    const [histogram] = await store.query(`
      SELECT s.attrs, p.count, p.sum, p.min, p.max, p.bounds, p.counts
      FROM points_histogram p JOIN series s USING (series_ref) WHERE s.metric_name = 'latency'`);
    expect(histogram).toEqual({
      attrs: { route: '/pay' },
      count: 4n,
      sum: 562,
      min: 5,
      max: 500,
      bounds: [10, 100],
      counts: [2n, 1n, 1n],
    });

    const [expHistogram] = await store.query(`
      SELECT p.count, p.sum, p.min, p.max, p.zero_count, p.scale, p.positive_offset,
             list_sum(p.positive_counts) AS positive_total, len(p.negative_counts) AS negative_buckets
      FROM points_exp_histogram p JOIN series s USING (series_ref) WHERE s.metric_name = 'latency.exp'`);
    expect(expHistogram).toMatchObject({
      count: 4n,
      sum: 1007,
      min: 1,
      max: 1000,
      zero_count: 0n,
      positive_total: 4n,
      negative_buckets: 0n,
    });

    const [resource] = await store.query(`SELECT DISTINCT resource_attrs FROM series`);
    expect(resource?.resource_attrs).toMatchObject({
      'service.name': 'checkout',
      'service.version': '1.4.2',
    });
  });

  it('writes each collection once, with its own timestamp', async () => {
    const counter = provider.getMeter('shop').createCounter('orders');
    counter.add(1);
    await reader.forceFlush();
    counter.add(2);
    await reader.forceFlush();
    const rows = await store.query(
      `SELECT p.time, p.value FROM otel_metrics_sum p WHERE MetricName = 'orders' ORDER BY TimeUnix`
        .replace('p.time', 'TimeUnix AS time')
        .replace('p.value', 'Value AS value'),
    );
    expect(rows.map((row) => row.value)).toEqual([1, 3]);
    expect(new Set(rows.map((row) => (row.time as Date).getTime())).size).toBe(2);
  });

  it('serialises concurrent forceFlush calls without losing or duplicating collections', async () => {
    const counter = provider.getMeter('shop').createCounter('orders');
    counter.add(1);
    await Promise.all([reader.forceFlush(), reader.forceFlush(), reader.forceFlush(), reader.forceFlush()]);
    const rows = await store.query(`
      SELECT TimeUnix AS time, count(*) AS n FROM otel_metrics_sum WHERE MetricName = 'orders' GROUP BY TimeUnix`);
    // One running + one coalesced follow-up: two distinct collections, each written exactly once.
    expect(rows).toHaveLength(2);
    expect(rows.every((row) => row.n === 1n)).toBe(true);
    expect(reader.pendingCollections).toBe(0);
  });

  it('refuses to be built without exactly one of path or store, or with invalid numbers', () => {
    expect(() => new DuckDbMetricReader({})).toThrow(/exactly one of `path` or `store`/);
    expect(() => new DuckDbMetricReader({ store, collectionIntervalMillis: -1 })).toThrow(
      'collectionIntervalMillis: must be an integer between 0 and 2147483647, got -1',
    );
    expect(() => new DuckDbMetricReader({ store, writeBufferCollections: 1.5 })).toThrow(
      'writeBufferCollections: must be an integer between 0 and 100000, got 1.5',
    );
    expect(() => new DuckDbMetricReader({ store, cardinalityLimit: 0 })).toThrow(
      'cardinalityLimit: must be an integer between 1 and 1000000, got 0',
    );
  });
});
