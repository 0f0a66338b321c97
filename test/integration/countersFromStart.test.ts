import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  AggregationTemporality,
  DataPointType,
  type MetricData,
  type ResourceMetrics,
} from '@opentelemetry/sdk-metrics';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { OtlpReceiver } from '../../src/receiver/OtlpReceiver.js';
import { MetricStore } from '../../src/store/MetricStore.js';
import {
  queryHistogramDistribution,
  queryTimeSeries,
  type TimeSeriesQuery,
} from '../../src/store/queryTimeSeries.js';
import { queryWindows } from '../../src/store/queryWindows.js';
import { recentWindowValues } from '../../src/store/recentWindowRows.js';
import { tempDir } from '../helpers/tempDir.js';

// Issue 16, item 3: a cumulative point is the total since its start time, so the first point of a
// series (and the first after a restart) counts from zero when its start time lies after its
// predecessor and at most an hour before it; and the same point written twice counts once.

const T0 = 1_790_000_040; // a minute boundary
const at = (seconds: number) => new Date((T0 + seconds) * 1000);
const hr = (seconds: number): [number, number] => [Math.floor(seconds), Math.round((seconds % 1) * 1e9)];
const RESOURCE = resourceFromAttributes({ 'service.name': 'shop', 'host.name': 'h1' });
const BOUNDS = [0.1, 0.5, 1];

interface Point {
  /** Seconds from T0. */
  start: number;
  time: number;
  value: number;
}

interface HistogramPoint {
  start: number;
  time: number;
  counts: number[];
  sum: number;
}

type Temporality = 'cumulative' | 'delta';
const TEMPORALITY = {
  cumulative: AggregationTemporality.CUMULATIVE,
  delta: AggregationTemporality.DELTA,
} as const;

/** One SDK-shaped collection holding one point of a monotonic sum. */
function counterCollection(metric: string, temporality: Temporality, point: Point): ResourceMetrics {
  const data: MetricData = {
    descriptor: { name: metric, unit: '', description: '', valueType: 1 },
    aggregationTemporality: TEMPORALITY[temporality],
    dataPointType: DataPointType.SUM,
    isMonotonic: true,
    dataPoints: [
      {
        startTime: hr(T0 + point.start),
        endTime: hr(T0 + point.time),
        attributes: {},
        value: point.value,
      },
    ],
  };
  return { resource: RESOURCE, scopeMetrics: [{ scope: { name: 'test' }, metrics: [data] }] };
}

/** One SDK-shaped collection holding one histogram point. */
function histogramCollection(
  metric: string,
  temporality: Temporality,
  point: HistogramPoint,
): ResourceMetrics {
  const data: MetricData = {
    descriptor: { name: metric, unit: 's', description: '', valueType: 1 },
    aggregationTemporality: TEMPORALITY[temporality],
    dataPointType: DataPointType.HISTOGRAM,
    dataPoints: [
      {
        startTime: hr(T0 + point.start),
        endTime: hr(T0 + point.time),
        attributes: {},
        value: {
          buckets: { boundaries: BOUNDS, counts: point.counts },
          count: point.counts.reduce((a, b) => a + b, 0),
          sum: point.sum,
        },
      },
    ],
  };
  return { resource: RESOURCE, scopeMetrics: [{ scope: { name: 'test' }, metrics: [data] }] };
}

/** A gauge point long after the others, so rollUp finds the minutes before it complete. */
function lateGauge(time: number): ResourceMetrics {
  const data: MetricData = {
    descriptor: { name: 'clock', unit: '', description: '', valueType: 1 },
    aggregationTemporality: AggregationTemporality.CUMULATIVE,
    dataPointType: DataPointType.GAUGE,
    dataPoints: [{ startTime: hr(T0 + time), endTime: hr(T0 + time), attributes: {}, value: 0 }],
  };
  return { resource: RESOURCE, scopeMetrics: [{ scope: { name: 'test' }, metrics: [data] }] };
}

let dir: Awaited<ReturnType<typeof tempDir>>;
let store: MetricStore;

beforeEach(async () => {
  dir = await tempDir();
  store = await MetricStore.open(dir.file('h.duckdb'));
});
afterEach(async () => {
  await store.close();
  await dir.cleanup();
});

async function writeCounter(metric: string, temporality: Temporality, points: readonly Point[]) {
  for (const point of points) await store.writeCollection(counterCollection(metric, temporality, point));
}

/**
 * One figure of a one-bucket query over [from, to), by every path that answers it: raw points,
 * 1-minute rollups, the batched windows of alerts and regressions, and the points held in memory.
 */
async function everyPath(query: Omit<TimeSeriesQuery, 'stepSeconds'>) {
  const q: TimeSeriesQuery = { ...query, stepSeconds: (query.to.getTime() - query.from.getTime()) / 1000 };
  const value = (result: Awaited<ReturnType<typeof queryTimeSeries>> | Error) => {
    if (result instanceof Error) throw result;
    return result.series.length === 0 ? undefined : result.series[0]!.values[0];
  };
  const raw = value(await queryTimeSeries(store, { ...q, source: 'raw' }));
  const windows = value((await queryWindows(store, [q]))[0]!);
  // The held points, read from the file as after a restart or for a new rule.
  const recent = await store.keepRecentPoints(3 * 3_600_000);
  const [row] = await store.query('SELECT series_ref, kind FROM series WHERE metric_name = $1', [q.metric]);
  const ref = Number(row!.series_ref);
  recent.read(ref, row!.kind === 'histogram');
  await recent.fill();
  const held = recentWindowValues(recent, {
    query: q,
    kind: String(row!.kind),
    refs: [ref],
    gids: [0],
    groupCount: 1,
  });
  const memory = held === undefined ? 'not answered' : held.present[0] ? held.values[0] : undefined;
  await store.writeCollection(lateGauge(3 * 3600));
  await store.rollUp((T0 + 4 * 3600) * 1000);
  const rollup = value(await queryTimeSeries(store, { ...q, source: 'rollup' }));
  return { raw, windows, memory, rollup };
}

const same = (value: number | undefined) => ({ raw: value, windows: value, memory: value, rollup: value });

describe('counters count from their start time', () => {
  // 63 sent: 11, then 19, 15 and 18 more.
  const cumulative: Point[] = [
    { start: 5, time: 10, value: 11 },
    { start: 5, time: 20, value: 30 },
    { start: 5, time: 30, value: 45 },
    { start: 5, time: 40, value: 63 },
  ];
  const delta: Point[] = [
    { start: 5, time: 10, value: 11 },
    { start: 10, time: 20, value: 19 },
    { start: 20, time: 30, value: 15 },
    { start: 30, time: 40, value: 18 },
  ];

  it('a cumulative counter reads the 63 sent, as the same sent delta does', async () => {
    await writeCounter('orders.cumulative', 'cumulative', cumulative);
    await writeCounter('orders.delta', 'delta', delta);
    for (const metric of ['orders.cumulative', 'orders.delta']) {
      expect(await everyPath({ metric, from: at(0), to: at(120), aggregation: 'increase' })).toEqual(
        same(63),
      );
    }
    const rate = await queryTimeSeries(store, {
      metric: 'orders.cumulative',
      from: at(0),
      to: at(60),
      stepSeconds: 60,
      aggregation: 'rate',
    });
    expect(rate.series[0]!.values).toEqual([63 / 60]);
  });

  it('add(1) before the first collection reads 1, not 0 forever', async () => {
    // The SDK's start time of a synchronous counter is its first measurement.
    await writeCounter('orders', 'cumulative', [
      { start: 1, time: 30, value: 1 },
      { start: 1, time: 60, value: 1 },
      { start: 1, time: 90, value: 1 },
    ]);
    expect(await everyPath({ metric: 'orders', from: at(0), to: at(120), aggregation: 'increase' })).toEqual(
      same(1),
    );
    // In buckets: the count is where its point is.
    const buckets = await queryTimeSeries(store, {
      metric: 'orders',
      from: at(0),
      to: at(120),
      stepSeconds: 60,
      aggregation: 'increase',
    });
    expect(buckets.series[0]!.values).toEqual([1, 0]);
  });

  it('a cumulative histogram of one collection shows in queries', async () => {
    await store.writeCollection(
      histogramCollection('http.server.request.duration', 'cumulative', {
        start: 2,
        time: 30,
        counts: [0, 1, 2, 0],
        sum: 1.6,
      }),
    );
    const window = { metric: 'http.server.request.duration', from: at(0), to: at(60) };
    expect(await everyPath({ ...window, aggregation: 'count' })).toEqual(same(3));
    const p50 = await everyPath({ ...window, aggregation: 'p50' });
    // Prometheus' histogram_quantile: rank 1.5 of 3, in (0.5, 1] holding ranks 2 and 3, after 1 below.
    const expected = 0.5 + 0.5 * ((1.5 - 1) / 2);
    expect(p50).toEqual(same(expected));
    expect(await queryHistogramDistribution(store, window)).toEqual([
      { metric: 'http.server.request.duration', labels: {}, bounds: BOUNDS, counts: [0, 1, 2, 0] },
    ]);
  });

  it('a restart in the window counts from its new start time, above or below the old value', async () => {
    await writeCounter('up', 'cumulative', [
      { start: 5, time: 10, value: 10 },
      { start: 5, time: 20, value: 20 },
      { start: 5, time: 30, value: 30 },
      // Restarted at 35 s, and counted more by 40 s than the old process had.
      { start: 35, time: 40, value: 40 },
      { start: 35, time: 50, value: 45 },
    ]);
    await writeCounter('down', 'cumulative', [
      { start: 5, time: 10, value: 10 },
      { start: 5, time: 20, value: 20 },
      { start: 5, time: 30, value: 30 },
      { start: 35, time: 40, value: 5 },
      { start: 35, time: 50, value: 12 },
    ]);
    const window = { from: at(0), to: at(60), aggregation: 'increase' as const };
    expect(await everyPath({ metric: 'up', ...window })).toEqual(same(10 + 10 + 10 + 40 + 5));
    expect(await everyPath({ metric: 'down', ...window })).toEqual(same(10 + 10 + 10 + 5 + 7));
  });

  it('points held in memory as they are written count from their start time too', async () => {
    await writeCounter('orders', 'cumulative', [{ start: 5, time: 10, value: 11 }]);
    const recent = await store.keepRecentPoints(3_600_000);
    const [row] = await store.query(`SELECT series_ref FROM series WHERE metric_name = 'orders'`);
    const ref = Number(row!.series_ref);
    recent.read(ref);
    await recent.fill();
    // Then a restart, held as it is written.
    await writeCounter('orders', 'cumulative', [
      { start: 5, time: 20, value: 30 },
      { start: 25, time: 30, value: 40 },
      { start: 25, time: 40, value: 41 },
    ]);
    const query: TimeSeriesQuery = {
      metric: 'orders',
      from: at(0),
      to: at(60),
      stepSeconds: 60,
      aggregation: 'increase',
    };
    const held = recentWindowValues(recent, { query, kind: 'sum', refs: [ref], gids: [0], groupCount: 1 });
    expect(held?.values[0]).toBe(30 + 40 + 1);
    expect((await queryTimeSeries(store, query)).series[0]!.values).toEqual([30 + 40 + 1]);
  });

  it('a histogram restart counts its buckets from the new start time', async () => {
    const points: HistogramPoint[] = [
      { start: 5, time: 10, counts: [1, 0, 0, 0], sum: 0.05 },
      { start: 5, time: 20, counts: [1, 2, 0, 0], sum: 0.65 },
      // Restarted: more in the top bucket, nothing went down.
      { start: 25, time: 30, counts: [1, 2, 4, 0], sum: 3 },
    ];
    for (const point of points)
      await store.writeCollection(histogramCollection('latency', 'cumulative', point));
    const window = { metric: 'latency', from: at(0), to: at(60) };
    expect(await queryHistogramDistribution(store, window)).toEqual([
      { metric: 'latency', labels: {}, bounds: BOUNDS, counts: [2, 4, 4, 0] },
    ]);
    expect(await everyPath({ ...window, aggregation: 'count' })).toEqual(same(10));
  });

  it('a start time over an hour before the point only sets a baseline, as before', async () => {
    await writeCounter('old', 'cumulative', [
      { start: -7200, time: 10, value: 50 },
      { start: -7200, time: 20, value: 60 },
    ]);
    expect(await everyPath({ metric: 'old', from: at(0), to: at(60), aggregation: 'increase' })).toEqual(
      same(10),
    );
  });

  it('a start time less than an hour before the window counts like a predecessor there would', async () => {
    // A process started ten minutes before the window: its first point's counts are in its bucket,
    // whatever the window, so increases over adjacent windows add up.
    await writeCounter('recent', 'cumulative', [
      { start: -600, time: 10, value: 50 },
      { start: -600, time: 70, value: 60 },
    ]);
    const increase = async (from: number, to: number) =>
      (await everyPath({ metric: 'recent', from: at(from), to: at(to), aggregation: 'increase' })).raw;
    expect(await increase(0, 60)).toBe(50);
    expect(await increase(60, 120)).toBe(10);
    expect(await increase(0, 120)).toBe(60);
  });

  it('a point stamped with its own time as start (an observable counter’s first) is no increase', async () => {
    // The OTel JS SDK starts an observable counter at its first observation; the value is a total
    // since boot or process start.
    await writeCounter('cpu.time', 'cumulative', [
      { start: 10, time: 10, value: 1000 },
      { start: 10, time: 20, value: 1010 },
    ]);
    expect(await everyPath({ metric: 'cpu.time', from: at(0), to: at(60), aggregation: 'increase' })).toEqual(
      same(10),
    );
  });
});

describe('the same point written twice counts once', () => {
  const pointRows = async (table = 'points_number') =>
    Number((await store.query(`SELECT count(*) AS n FROM ${table}`))[0]!.n);
  const increase = async (metric: string) =>
    (
      await queryTimeSeries(store, {
        metric,
        from: at(0),
        to: at(120),
        stepSeconds: 120,
        aggregation: 'increase',
      })
    ).series[0]!.values[0];

  it('a delta point sent again, in a later write or in the same one, is stored once', async () => {
    const first = counterCollection('orders', 'delta', { start: 0, time: 10, value: 4 });
    const second = counterCollection('orders', 'delta', { start: 10, time: 20, value: 3 });
    expect((await store.writeCollection(first)).points).toBe(1);
    expect((await store.writeCollection(second)).points).toBe(1);
    // The Collector did not get the first answer and sends the request again.
    expect((await store.writeCollection(first)).points).toBe(0);
    // Twice within one write, and once more already stored.
    const third = counterCollection('orders', 'delta', { start: 20, time: 30, value: 5 });
    expect((await store.writeCollections([third, third, second])).points).toBe(1);
    expect(await pointRows()).toBe(3);
    expect(await increase('orders')).toBe(4 + 3 + 5);
  });

  it('a cumulative point sent again changes nothing', async () => {
    const points: Point[] = [
      { start: 5, time: 10, value: 11 },
      { start: 5, time: 20, value: 30 },
    ];
    await writeCounter('orders', 'cumulative', points);
    await writeCounter('orders', 'cumulative', points);
    await store.writeCollections(points.map((point) => counterCollection('orders', 'cumulative', point)));
    expect(await pointRows()).toBe(2);
    expect(await increase('orders')).toBe(30);
  });

  it('keeps a point of the same identity with another value: two collections within one millisecond', async () => {
    await writeCounter('orders', 'cumulative', [
      { start: 5, time: 10, value: 11 },
      { start: 5, time: 10, value: 12 },
    ]);
    await store.writeCollections([
      counterCollection('orders', 'cumulative', { start: 5, time: 20, value: 20 }),
      counterCollection('orders', 'cumulative', { start: 5, time: 20, value: 21 }),
      counterCollection('orders', 'cumulative', { start: 5, time: 20, value: 21 }),
    ]);
    expect(await pointRows()).toBe(4);
    expect(await increase('orders')).toBe(21);
    // NaN repeats NaN.
    const nan = lateGauge(60);
    (nan.scopeMetrics[0]!.metrics[0]!.dataPoints[0] as { value: number }).value = Number.NaN;
    await store.writeCollection(nan);
    await store.writeCollection(nan);
    expect(await pointRows()).toBe(5);
  });

  it('a delta histogram point sent again counts once', async () => {
    const point = histogramCollection('latency', 'delta', {
      start: 0,
      time: 10,
      counts: [1, 2, 0, 0],
      sum: 0.7,
    });
    await store.writeCollection(point);
    await store.writeCollection(point);
    expect(await pointRows('points_histogram')).toBe(1);
    expect(await increase('latency')).toBe(3);
  });

  it('keeps late points and other start times; after a reopen it still knows what is stored', async () => {
    await writeCounter('orders', 'delta', [
      { start: 0, time: 10, value: 1 },
      { start: 20, time: 30, value: 3 },
    ]);
    // A late point (its request was retried after a later one) is new, not a repeat.
    await writeCounter('orders', 'delta', [{ start: 10, time: 20, value: 2 }]);
    // The same time from another start is another point.
    await writeCounter('orders', 'delta', [{ start: 25, time: 30, value: 10 }]);
    expect(await pointRows()).toBe(4);
    await store.close();
    store = await MetricStore.open(dir.file('h.duckdb'));
    // Every point again, and one new: only the new one is stored.
    await store.writeCollections(
      [
        { start: 0, time: 10, value: 1 },
        { start: 10, time: 20, value: 2 },
        { start: 20, time: 30, value: 3 },
        { start: 25, time: 30, value: 10 },
        { start: 30, time: 40, value: 4 },
      ].map((point) => counterCollection('orders', 'delta', point)),
    );
    expect(await pointRows()).toBe(5);
    await writeCounter('orders', 'delta', [{ start: 20, time: 30, value: 3 }]);
    expect(await pointRows()).toBe(5);
    expect(await increase('orders')).toBe(1 + 2 + 3 + 10 + 4);
  });

  it('an OTLP request sent twice through the receiver is counted once', async () => {
    const receiver = new OtlpReceiver({ store, port: 0, maxRequestBytes: 64 * 1024 });
    const url = await receiver.start();
    try {
      const nanos = (seconds: number) => `${BigInt(T0 + seconds) * 1_000_000_000n}`;
      const request = {
        resourceMetrics: [
          {
            resource: { attributes: [{ key: 'service.name', value: { stringValue: 'shop' } }] },
            scopeMetrics: [
              {
                metrics: [
                  {
                    name: 'orders',
                    sum: {
                      aggregationTemporality: 1,
                      isMonotonic: true,
                      dataPoints: [{ startTimeUnixNano: nanos(0), timeUnixNano: nanos(10), asInt: '7' }],
                    },
                  },
                ],
              },
            ],
          },
        ],
      };
      for (let i = 0; i < 2; i++) {
        const answer = await fetch(url, {
          method: 'POST',
          headers: { 'Content-Type': 'application/json' },
          body: JSON.stringify(request),
        });
        expect(answer.status).toBe(200);
      }
    } finally {
      await receiver.shutdown();
    }
    expect(await pointRows()).toBe(1);
    expect(await increase('orders')).toBe(7);
  });
});
