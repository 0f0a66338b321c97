import { once } from 'node:events';
import { readFile } from 'node:fs/promises';
import { gzipSync } from 'node:zlib';
import { ValueType } from '@opentelemetry/api';
import { ExportResultCode } from '@opentelemetry/core';
import { OTLPMetricExporter as OtlpJsonExporter } from '@opentelemetry/exporter-metrics-otlp-http';
import { OTLPMetricExporter as OtlpProtoExporter } from '@opentelemetry/exporter-metrics-otlp-proto';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  AggregationTemporality,
  AggregationType,
  MeterProvider,
  type ResourceMetrics,
} from '@opentelemetry/sdk-metrics';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MetricStore } from '../../src/store/MetricStore.js';
import { expectedRows, type WireEncoding } from '../helpers/expectedStoredRows.js';
import { exportWith, ManualReader } from '../helpers/manualExport.js';
import { spawnCli, stderrContaining, stopCli } from '../helpers/runCli.js';
import { tempDir } from '../helpers/tempDir.js';

/*
 * The OTLP contract of `perfwatch serve`: what the official OpenTelemetry JS exporters send, over
 * http/json and http/protobuf, with either temporality, is what the history holds — every stored
 * field compared exactly with the SDK's own data. A new field or point kind joins this suite.
 */

/** Every attribute value type OTel allows, and the values a naive presence test loses. */
const EVERY_ATTRIBUTE_TYPE = {
  text: 'eu',
  empty: '',
  yes: true,
  no: false,
  zero: 0,
  int: 42,
  double: 2.5,
  strings: ['a', 'b'],
  numbers: [1, 0, -1.5],
  booleans: [true, false],
};

/**
 * Records every instrument kind with edge values; each call to `record` adds to the previous
 * ones, so two collections give delta points that differ from cumulative ones.
 */
function instrumentsOf(provider: MeterProvider) {
  const meter = provider.getMeter('conformance', '1.2.3');
  const counter = meter.createCounter('conf.counter', { unit: '{request}', description: 'requests' });
  const intCounter = meter.createCounter('conf.counter.int', { valueType: ValueType.INT });
  const upDown = meter.createUpDownCounter('conf.updown', { unit: 'By' });
  const gauge = meter.createGauge('conf.gauge', { unit: 'Cel', description: 'temperature' });
  const histogram = meter.createHistogram('conf.histogram', {
    unit: 's',
    advice: { explicitBucketBoundaries: [0, 0.25, 10] },
  });
  const exponential = meter.createHistogram('conf.exponential', { unit: 'ms' });
  let observed = 0;
  meter
    .createObservableCounter('conf.observable.counter')
    .addCallback((result) => result.observe(observed * 3, { phase: 'obs' }));
  meter
    .createObservableUpDownCounter('conf.observable.updown')
    .addCallback((result) => result.observe(-observed));
  meter.createObservableGauge('conf.observable.gauge').addCallback((result) => {
    result.observe(0, { edge: 'zero' });
    result.observe(-0, { edge: 'negative zero' });
    result.observe(1e-300 * (observed + 1), { edge: 'tiny' });
  });

  return (round: number) => {
    observed = round;
    counter.add(0);
    counter.add(round === 0 ? 0 : 5, EVERY_ATTRIBUTE_TYPE);
    counter.add(1e300, { edge: 'huge' });
    counter.add(1e-300, { edge: 'tiny' });
    intCounter.add(round === 0 ? 0 : 7, { flag: false });
    intCounter.add(2 ** 52, { code: 0 });
    upDown.add(round === 0 ? 0 : -5, { queue: 'mail' });
    upDown.add(-1e300, { edge: 'huge' });
    upDown.add(0, { empty: '' });
    gauge.record(0);
    gauge.record(-0, { edge: 'negative zero' });
    gauge.record(-12.5 - round, { edge: 'negative' });
    gauge.record(1e300, { edge: 'huge' });
    gauge.record(1e-300, { edge: 'tiny' });
    histogram.record(0, { route: '/zero' });
    for (const value of [0.1, 3, 12 + round]) histogram.record(value, { route: '/pay' });
    for (const value of [0, 1, 2, 4, 1000 * (round + 1)]) exponential.record(value);
  };
}

async function collectTwice(temporality: AggregationTemporality): Promise<ResourceMetrics[]> {
  const reader = new ManualReader({ aggregationTemporalitySelector: () => temporality });
  const provider = new MeterProvider({
    resource: resourceFromAttributes({
      'service.name': 'conformance',
      'service.version': '3.1.0',
      'service.instance.id': 'pod-7',
      'deployment.environment.name': '',
      'process.pid': 0,
      'feature.enabled': false,
    }),
    readers: [reader],
    views: [
      {
        instrumentName: 'conf.exponential',
        aggregation: { type: AggregationType.EXPONENTIAL_HISTOGRAM, options: { maxSize: 160 } },
      },
    ],
  });
  const record = instrumentsOf(provider);
  const collections: ResourceMetrics[] = [];
  for (const round of [0, 1]) {
    // Each collection in a millisecond of its own: two collections in one millisecond give
    // points with the same series, start time, time and value, which the store keeps once.
    const previous = Date.now();
    while (round > 0 && Date.now() === previous) await new Promise((resolve) => setImmediate(resolve));
    record(round);
    const { resourceMetrics, errors } = await reader.collect();
    expect(errors).toEqual([]);
    collections.push(resourceMetrics);
  }
  await provider.shutdown();
  return collections;
}

const SERIES = `s.metric_name, s.unit, s.description, s.service_name, s.resource_attrs, s.scope_name,
  s.scope_version, s.attrs, epoch_us(p.start_time) AS start_us, epoch_us(p.time) AS time_us`;
const ORDER = 'ORDER BY s.metric_name, s.attrs::VARCHAR, p.time';

async function storedRows(db: string) {
  const store = await MetricStore.open(db);
  try {
    const ours = "WHERE s.service_name = 'conformance'";
    return {
      numbers: await store.query(`
        SELECT ${SERIES}, s.kind, s.temporality, s.monotonic, p.value
        FROM points_number p JOIN series s USING (series_ref) ${ours} ${ORDER}`),
      histograms: await store.query(`
        SELECT ${SERIES}, s.temporality, p.count, p.sum, p.min, p.max, p.bounds, p.counts
        FROM points_histogram p JOIN series s USING (series_ref) ${ours} ${ORDER}`),
      exponential: await store.query(`
        SELECT ${SERIES}, s.temporality, p.count, p.sum, p.min, p.max, p.scale, p.zero_count,
               p.zero_threshold, p.positive_offset, p.positive_counts, p.negative_offset, p.negative_counts
        FROM points_exp_histogram p JOIN series s USING (series_ref) ${ours} ${ORDER}`),
    };
  } finally {
    await store.close();
  }
}

function sortedLike(rows: Record<string, unknown>[]): Record<string, unknown>[] {
  const key = (row: Record<string, unknown>) =>
    `${row.metric_name}\u0000${JSON.stringify(row.attrs)}\u0000${String(row.time_us).padStart(20, '0')}\u0000${String(row.value ?? row.count)}`;
  return [...rows].sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
}

let dir: Awaited<ReturnType<typeof tempDir>>;
beforeEach(async () => {
  dir = await tempDir();
});
afterEach(async () => {
  await dir.cleanup();
});

describe.each([
  ['json', 'cumulative'],
  ['json', 'delta'],
  ['protobuf', 'cumulative'],
  ['protobuf', 'delta'],
] as const)('OTLP conformance: the official %s exporter, %s temporality', (encoding, temporalityName) => {
  const temporality =
    temporalityName === 'delta' ? AggregationTemporality.DELTA : AggregationTemporality.CUMULATIVE;

  it('stores every point of every instrument kind exactly as sent', async () => {
    const collections = await collectTwice(temporality);
    const db = dir.file('conformance.duckdb');
    const serve = spawnCli(['serve', '--db', db, '--port', '0']);
    try {
      const banner = await stderrContaining(serve, 'Ctrl-C to stop');
      const url = /at (http:\/\/\S+\/v1\/metrics)/.exec(banner)?.[1];
      expect(url).toBeDefined();
      const exporter =
        encoding === 'json'
          ? new OtlpJsonExporter({ url: url!, temporalityPreference: temporality })
          : new OtlpProtoExporter({ url: url!, temporalityPreference: temporality });
      for (const collection of collections) {
        // The JS exporters report a partial success as SUCCESS (with a log line): the stored rows
        // below are what shows whether anything was rejected.
        expect(await exportWith(exporter, collection)).toEqual({ code: ExportResultCode.SUCCESS });
      }
      await exporter.shutdown();
      const exited = once(serve, 'exit');
      await stopCli(serve, 'SIGTERM');
      expect((await exited)[0] ?? serve.exitCode).toBe(0);
    } finally {
      await stopCli(serve, 'SIGKILL');
    }

    const expected = expectedRows(collections, encoding as WireEncoding);
    const stored = await storedRows(db);
    expect(stored.numbers).toHaveLength(expected.numbers.length);
    expect(sortedLike(stored.numbers)).toEqual(sortedLike(expected.numbers));
    expect(sortedLike(stored.histograms)).toEqual(sortedLike(expected.histograms));
    expect(sortedLike(stored.exponential)).toEqual(sortedLike(expected.exponential));

    // The values a presence test on decoded objects used to lose are each their own series.
    const counterSeries = stored.numbers.filter((row) => row.metric_name === 'conf.counter.int');
    expect(new Set(counterSeries.map((row) => JSON.stringify(row.attrs)))).toEqual(
      new Set([JSON.stringify({ flag: 'false' }), JSON.stringify({ code: '0' })]),
    );
    expect(stored.numbers.filter((row) => row.value === 0).length).toBeGreaterThan(0);
    if (encoding === 'protobuf') {
      expect(stored.numbers.some((row) => Object.is(row.value, -0))).toBe(true);
    }
    expect(
      stored.histograms.find((row) => row.attrs && (row.attrs as { route: string }).route === '/zero'),
    ).toMatchObject({ count: 1n, sum: 0, min: 0, max: 0 });
  });
});

/*
 * Golden OTLP/JSON bodies written from the specification rather than by an SDK: enums as names and
 * as numbers, 64-bit integers as strings and as numbers, the zero values of every optional and
 * one-of field, every AnyValue kind, and a gzip-encoded body.
 */
describe('OTLP conformance: golden OTLP/JSON bodies', () => {
  const START = 1_767_225_600_000_000n;
  const TIME = 1_767_225_660_000_000n;
  const series = {
    service_name: 'golden',
    scope_name: 'golden.scope',
    start_us: START,
    time_us: TIME,
  };

  async function golden(name: string): Promise<Uint8Array> {
    return readFile(new URL(`../fixtures/otlp/${name}.json`, import.meta.url));
  }

  it('stores each field of the golden bodies as the specification reads it', async () => {
    const db = dir.file('golden.duckdb');
    const serve = spawnCli(['serve', '--db', db, '--port', '0']);
    try {
      const banner = await stderrContaining(serve, 'Ctrl-C to stop');
      const url = /at (http:\/\/\S+\/v1\/metrics)/.exec(banner)![1]!;
      const plain = await fetch(url, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: await golden('names-and-strings'),
      });
      expect(await plain.json()).toEqual({});
      expect(plain.status).toBe(200);
      const gzipped = await fetch(url, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', 'Content-Encoding': 'gzip' },
        body: gzipSync(await golden('numbers-and-histograms')),
      });
      expect(await gzipped.json()).toEqual({});
      expect(gzipped.status).toBe(200);
      await stopCli(serve, 'SIGTERM');
      expect(serve.exitCode).toBe(0);
    } finally {
      await stopCli(serve, 'SIGKILL');
    }

    const store = await MetricStore.open(db);
    try {
      const numbers = await store.query(`
        SELECT s.metric_name, s.kind, s.unit, s.temporality, s.monotonic, s.service_name, s.scope_name,
               s.attrs, epoch_us(p.start_time) AS start_us, epoch_us(p.time) AS time_us, p.value
        FROM points_number p JOIN series s USING (series_ref)
        WHERE s.service_name = 'golden' ORDER BY s.metric_name, s.attrs::VARCHAR`);
      const requests = { metric_name: 'golden.requests', kind: 'sum', unit: '{request}' };
      const cumulativeMonotonic = { temporality: 'cumulative', monotonic: true };
      expect(sortedLike(numbers)).toEqual(
        sortedLike([
          {
            metric_name: 'golden.queue.depth',
            kind: 'sum',
            unit: '{item}',
            temporality: 'delta',
            monotonic: false,
            ...series,
            attrs: {},
            value: -3,
          },
          { ...requests, ...cumulativeMonotonic, ...series, attrs: {}, value: 0 },
          {
            ...requests,
            ...cumulativeMonotonic,
            ...series,
            attrs: {
              big: '-9223372036854775808',
              list: '["a",2,false]',
              map: '{"k":"v"}',
              ratio: '0',
              raw: 'AAEC',
            },
            value: 1e-300,
          },
          { ...requests, ...cumulativeMonotonic, ...series, attrs: { code: '0' }, value: 0 },
          { ...requests, ...cumulativeMonotonic, ...series, attrs: { empty: '' }, value: 0 },
          // The value column is DOUBLE, as Prometheus' samples and the Collector's ClickHouse tables
          // are: an integer above 2^53 is kept as the nearest double.
          {
            ...requests,
            ...cumulativeMonotonic,
            ...series,
            attrs: { flag: 'false' },
            value: Number(9007199254740993n),
          },
          {
            metric_name: 'golden.temperature',
            kind: 'gauge',
            unit: 'Cel',
            temporality: null,
            monotonic: null,
            ...series,
            start_us: null,
            attrs: {},
            value: -12.5,
          },
          {
            metric_name: 'golden.temperature',
            kind: 'gauge',
            unit: 'Cel',
            temporality: null,
            monotonic: null,
            ...series,
            start_us: null,
            attrs: { edge: 'huge' },
            value: 1e300,
          },
        ]),
      );
      const [resource] = await store.query(
        "SELECT resource_attrs, scope_version FROM series WHERE metric_name = 'golden.requests' LIMIT 1",
      );
      expect(resource).toEqual({
        resource_attrs: {
          'service.name': 'golden',
          'deployment.environment.name': '',
          'process.pid': '0',
          'feature.enabled': 'false',
        },
        scope_version: '0.0.1',
      });

      expect(
        await store.query(`
          SELECT s.metric_name, s.temporality, s.attrs, epoch_us(p.start_time) AS start_us,
                 epoch_us(p.time) AS time_us, p.count, p.sum, p.min, p.max, p.bounds, p.counts
          FROM points_histogram p JOIN series s USING (series_ref)
          WHERE s.service_name = 'golden' ORDER BY p.count`),
      ).toEqual([
        {
          metric_name: 'golden.latency',
          temporality: 'cumulative',
          attrs: {},
          start_us: START,
          time_us: TIME,
          count: 1n,
          sum: 0,
          min: 0,
          max: 0,
          bounds: [-1, 1],
          counts: [0n, 1n, 0n],
        },
        {
          metric_name: 'golden.latency',
          temporality: 'cumulative',
          attrs: { route: '/no-stats' },
          start_us: START,
          time_us: TIME,
          count: 4n,
          sum: null,
          min: null,
          max: null,
          bounds: [0.5],
          counts: [1n, 3n],
        },
      ]);
      expect(
        await store.query(`
          SELECT s.metric_name, s.temporality, p.count, p.sum, p.min, p.max, p.scale, p.zero_count,
                 p.zero_threshold, p.positive_offset, p.positive_counts, p.negative_offset, p.negative_counts
          FROM points_exp_histogram p JOIN series s USING (series_ref) WHERE s.service_name = 'golden'`),
      ).toEqual([
        {
          metric_name: 'golden.size',
          temporality: 'delta',
          count: 7n,
          sum: 0,
          min: -4,
          max: 4,
          scale: -1,
          zero_count: 1n,
          zero_threshold: 0.001,
          positive_offset: -2,
          positive_counts: [1n, 2n],
          negative_offset: 1,
          negative_counts: [3n],
        },
      ]);
      expect(
        await store.query(`
          SELECT s.metric_name, p.count, p.sum, p.quantiles, p.quantile_values
          FROM points_summary p JOIN series s USING (series_ref) WHERE s.service_name = 'golden'`),
      ).toEqual([
        { metric_name: 'golden.summary', count: 0n, sum: 0, quantiles: [0, 0.99], quantile_values: [0, 0] },
      ]);
    } finally {
      await store.close();
    }
  });
});
