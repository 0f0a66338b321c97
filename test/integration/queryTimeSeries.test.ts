import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { QueryError } from '../../src/errors.js';
import { MetricStore } from '../../src/store/MetricStore.js';
import { queryTimeSeries, type TimeSeriesQuery } from '../../src/store/queryTimeSeries.js';
import { type FixturePoint, fixtureCollections } from '../helpers/fixtureCollection.js';
import { tempDir } from '../helpers/tempDir.js';

const T0 = 1_790_000_040; // a minute boundary (divisible by 60)
const at = (seconds: number) => new Date((T0 + seconds) * 1000);

// Gauge samples every 10 s for 2 minutes, two hosts.
const gaugeA = [5, 7, 1, 9, 3, 8, 2, 6, 4, 10, 12, 11];
const gaugeB = [20, 22, 21, 25, 24, 23, 30, 31, 29, 28, 27, 26];
// Counter every 10 s, with a reset (process restart) at 50 s.
const counter = [0, 10, 20, 30, 40, 5, 15, 25, 35, 45, 55, 65];
// Histogram (bounds 0.1, 0.5, 1): cumulative counts at 0 s, 30 s, 60 s, 90 s.
const bounds = [0.1, 0.5, 1];
const histogramPoints: [number, number[], number][] = [
  [0, [0, 0, 0, 0], 0],
  [30, [10, 20, 5, 5], 16],
  [60, [20, 50, 20, 10], 45],
  [90, [25, 60, 30, 15], 62],
];

const fixture: FixturePoint[] = [
  ...gaugeA.map((value, i) => ({
    metric: 'app.queue.depth',
    kind: 'gauge' as const,
    time: T0 + i * 10,
    value,
    attributes: { host: 'a', queue: 'q1' },
  })),
  ...gaugeB.map((value, i) => ({
    metric: 'app.queue.depth',
    kind: 'gauge' as const,
    time: T0 + i * 10,
    value,
    attributes: { host: 'b', queue: 'q1' },
  })),
  ...gaugeA.map((value, i) => ({
    metric: 'app.queue.age',
    kind: 'gauge' as const,
    time: T0 + i * 10,
    value: value * 2,
    attributes: { host: 'a' },
  })),
  ...counter.map((value, i) => ({
    metric: 'app.requests',
    kind: 'counter' as const,
    time: T0 + i * 10,
    value,
    startTime: i < 5 ? T0 - 100 : T0 + 45,
  })),
  ...counter.map((value, i) => ({
    metric: 'app.inflight',
    kind: 'updown' as const,
    time: T0 + i * 10,
    value,
  })),
  ...histogramPoints.map(([offset, counts, sum]) => ({
    metric: 'http.server.request.duration',
    kind: 'histogram' as const,
    unit: 's',
    time: T0 + offset,
    histogram: { bounds, counts, sum },
    attributes: { 'http.route': '/pay' },
  })),
];

let dir: Awaited<ReturnType<typeof tempDir>>;
let store: MetricStore;

beforeAll(async () => {
  dir = await tempDir();
  store = await MetricStore.open(dir.file('h.duckdb'));
  for (const collection of fixtureCollections(fixture)) await store.writeCollection(collection);
});
afterAll(async () => {
  await store.close();
  await dir.cleanup();
});

const query = (overrides: Partial<TimeSeriesQuery>): Promise<Awaited<ReturnType<typeof queryTimeSeries>>> =>
  queryTimeSeries(store, {
    metric: 'app.queue.depth',
    from: at(0),
    to: at(120),
    stepSeconds: 60,
    aggregation: 'avg',
    ...overrides,
  });

/** Linear interpolation between closest ranks, as DuckDB's quantile_cont and numpy's default. */
function quantile(values: number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  const position = (sorted.length - 1) * q;
  const low = Math.floor(position);
  const high = Math.ceil(position);
  return sorted[low]! + (sorted[high]! - sorted[low]!) * (position - low);
}

const firstMinute = [...gaugeA.slice(0, 6), ...gaugeB.slice(0, 6)];
const secondMinute = [...gaugeA.slice(6), ...gaugeB.slice(6)];
const sum = (values: number[]) => values.reduce((a, b) => a + b, 0);

describe('queryTimeSeries over gauges', () => {
  it.each([
    ['avg', (v: number[]) => sum(v) / v.length],
    ['min', (v: number[]) => Math.min(...v)],
    ['max', (v: number[]) => Math.max(...v)],
    ['sum', sum],
    ['count', (v: number[]) => v.length],
    ['p50', (v: number[]) => quantile(v, 0.5)],
    ['p90', (v: number[]) => quantile(v, 0.9)],
    ['p95', (v: number[]) => quantile(v, 0.95)],
    ['p99', (v: number[]) => quantile(v, 0.99)],
  ] as const)(
    '%s over all samples of the bucket equals the independent computation',
    async (aggregation, expected) => {
      const result = await query({ aggregation });
      expect(result.series).toHaveLength(1);
      const values = result.series[0]!.points.map((p) => p.value!);
      expect(values[0]).toBeCloseTo(expected(firstMinute), 10);
      expect(values[1]).toBeCloseTo(expected(secondMinute), 10);
      expect(result.series[0]!.points.map((p) => p.time)).toEqual([at(0), at(60)]);
      expect(result.source).toBe('raw');
    },
  );

  it('last is the newest sample of the bucket', async () => {
    const result = await query({ aggregation: 'last', where: { host: 'a' } });
    expect(result.series[0]!.points.map((p) => p.value)).toEqual([gaugeA[5], gaugeA[11]]);
  });

  it('groups by an attribute and filters with where, falling back to resource attributes', async () => {
    const grouped = await query({ aggregation: 'max', groupBy: ['host'] });
    expect(grouped.series.map((s) => [s.labels, s.points.map((p) => p.value)])).toEqual([
      [{ host: 'a' }, [9, 12]],
      [{ host: 'b' }, [25, 31]],
    ]);
    const filtered = await query({ aggregation: 'min', where: { host: 'b', 'service.name': 'fixture' } });
    expect(filtered.series[0]!.points.map((p) => p.value)).toEqual([20, 26]);
    const none = await query({ where: { host: 'nowhere' } });
    expect(none.series).toEqual([]);
  });

  it('filters with Prometheus-style matchers; an absent attribute counts as empty', async () => {
    const max = async (matchers: TimeSeriesQuery['matchers']) =>
      (await query({ aggregation: 'max', matchers })).series.map((s) => s.points.map((p) => p.value));
    expect(await max([{ key: 'host', op: '!=', value: 'a' }])).toEqual([[25, 31]]);
    expect(await max([{ key: 'host', op: '=~', value: '[ab]' }])).toEqual([[25, 31]]);
    expect(await max([{ key: 'host', op: '!~', value: 'b|c' }])).toEqual([[9, 12]]);
    // The regex must match the whole value, as in PromQL.
    expect(await max([{ key: 'host', op: '=~', value: 'a.' }])).toEqual([]);
    expect(
      await max([
        { key: 'service.name', op: '=', value: 'fixture' },
        { key: 'host', op: '=', value: 'a' },
      ]),
    ).toEqual([[9, 12]]);
    expect(await max([{ key: 'missing', op: '=', value: '' }])).toEqual([[25, 31]]);
    expect(await max([{ key: 'missing', op: '!=', value: '' }])).toEqual([]);
  });

  it('answers an unknown metric with no series when asked to (alert rules: no data)', async () => {
    expect((await query({ metric: 'not.recorded', ifMissing: 'empty' })).series).toEqual([]);
    await expect(query({ metric: 'not.recorded' })).rejects.toThrow(/no metric named "not.recorded"/);
  });

  it('pages through groups in (metric, labels) order', async () => {
    const all = await query({ aggregation: 'max', groupBy: ['host'] });
    const first = await query({ aggregation: 'max', groupBy: ['host'], groupPage: { offset: 0, limit: 1 } });
    const second = await query({ aggregation: 'max', groupBy: ['host'], groupPage: { offset: 1, limit: 1 } });
    const beyond = await query({ aggregation: 'max', groupBy: ['host'], groupPage: { offset: 2, limit: 1 } });
    expect([first.totalGroups, second.totalGroups, beyond.totalGroups, all.totalGroups]).toEqual([
      2, 2, 2, 2,
    ]);
    expect([...first.series, ...second.series]).toEqual(all.series);
    expect(beyond.series).toEqual([]);
    await expect(query({ groupPage: { offset: -1, limit: 1 } })).rejects.toThrow(
      'group-page: offset must be an integer >= 0, got -1',
    );
  });

  it('makes empty buckets explicit as null', async () => {
    const result = await query({ from: at(-60), to: at(180) });
    expect(result.series[0]!.points.map((p) => p.value === null)).toEqual([true, false, false, true]);
    // The typed copy for bulk readers: NaN where the bucket is empty, the same values elsewhere,
    // and not part of the serialized answer.
    const { samples, values } = result.series[0]!;
    expect(Array.from(samples!, (v) => (Number.isNaN(v) ? null : v))).toEqual(values);
    expect(Object.keys(result.series[0]!)).not.toContain('samples');
  });

  it('answers a glob with one series per matching metric', async () => {
    const result = await query({ metric: 'app.queue.*', aggregation: 'max' });
    expect(result.series.map((s) => [s.metric, s.points.map((p) => p.value)])).toEqual([
      ['app.queue.age', [18, 24]],
      ['app.queue.depth', [25, 31]],
    ]);
  });
});

describe('queryTimeSeries over counters', () => {
  it('increase and rate are reset-aware (a drop restarts from zero)', async () => {
    // Deltas at 10…110 s: 10,10,10,10, reset→5, 10,10,10,10,10,10 (the point at 0 s is the baseline).
    const increase = await query({ metric: 'app.requests', aggregation: 'increase' });
    expect(increase.series[0]!.points.map((p) => p.value)).toEqual([10 + 10 + 10 + 10 + 5, 10 * 6]);
    const rate = await query({ metric: 'app.requests', aggregation: 'rate' });
    expect(rate.series[0]!.points.map((p) => p.value)).toEqual([45 / 60, 60 / 60]);
  });

  it('uses the point before the range as the baseline', async () => {
    const result = await query({
      metric: 'app.requests',
      aggregation: 'increase',
      from: at(60),
      to: at(120),
    });
    expect(result.series[0]!.points.map((p) => p.value)).toEqual([60]);
  });

  it('refuses rate on a gauge or a non-monotonic sum', async () => {
    await expect(query({ aggregation: 'rate' })).rejects.toThrow(
      'agg: rate needs a monotonic counter, but app.queue.depth is a gauge',
    );
    await expect(query({ metric: 'app.inflight', aggregation: 'increase' })).rejects.toThrow(
      /non-monotonic sum/,
    );
  });
});

describe('queryTimeSeries over histograms', () => {
  // Increases per 60 s bucket: [0,60): 0→30 s only → [10,20,5,5] (60 s is in the next bucket);
  // [60,120): 30→60 and 60→90 → [10,30,15,5] + [5,10,10,5] = [15,40,25,10].
  const firstCounts = [10, 20, 5, 5];
  const secondCounts = [15, 40, 25, 10];

  it.each([0.5, 0.9, 0.95, 0.99] as const)(
    'p%s interpolates bucket increases like histogram_quantile',
    async (q) => {
      const aggregation = `p${Math.round(q * 100)}` as TimeSeriesQuery['aggregation'];
      const result = await query({ metric: 'http.server.request.duration', aggregation });
      const expected = [firstCounts, secondCounts].map((counts) => promqlQuantile(q, bounds, counts));
      expect(result.series[0]!.points.map((p) => p.value)).toEqual(expected);
    },
  );

  it('hand-checked: the median of the second minute', async () => {
    // 90 observations, rank 45: cumulative 15, 55 → bucket (0.1, 0.5], 30 of 40 → 0.1 + 0.4 × 30/40 = 0.4
    const result = await query({ metric: 'http.server.request.duration', aggregation: 'p50' });
    expect(result.series[0]!.points[1]!.value).toBeCloseTo(0.4, 12);
  });

  it('count, sum, avg and rate come from the count and sum increases', async () => {
    const get = async (aggregation: TimeSeriesQuery['aggregation']) =>
      (await query({ metric: 'http.server.request.duration', aggregation })).series[0]!.points.map(
        (p) => p.value,
      );
    expect(await get('count')).toEqual([40, 90]);
    expect(await get('sum')).toEqual([16, 46]);
    expect(await get('avg')).toEqual([16 / 40, 46 / 90]);
    expect(await get('rate')).toEqual([40 / 60, 90 / 60]);
    await expect(get('max')).rejects.toThrow(/max is not defined for histograms/);
  });
});

describe('queryTimeSeries refuses impossible queries with the argument named', () => {
  it.each([
    [
      { metric: 'app.queue.dept' },
      'metric: no metric named "app.queue.dept" in the history; did you mean app.queue.depth?',
    ],
    [{ metric: 'app.[queue' }, 'metric: "app.[queue" is not a valid glob (unclosed "[")'],
    [{ from: at(60), to: at(0) }, /^from: .* is not before --to/],
    [
      { stepSeconds: 2 },
      'step: 2 s is less than half the collection interval (10 s); use a step of at least 10 s',
    ],
    [
      { stepSeconds: 10, from: at(0), to: at(120_000) },
      /^step: 10 s over this range gives 12000 points per series, more than 11000/,
    ],
    [{ aggregation: 'median' as never }, /^agg: must be one of avg, min, max/],
    [{ metric: 'app.*' }, /^metric: "app.\*" matches metrics of different kinds/],
  ])('%j', async (overrides, message) => {
    const error = await query(overrides).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(QueryError);
    expect((error as QueryError).code).toBe('PERFWATCH_QUERY_INVALID');
    if (typeof message === 'string') expect((error as Error).message).toBe(message);
    else expect((error as Error).message).toMatch(message);
  });
});

/** Independent re-statement of Prometheus' bucketQuantile for the test. */
function promqlQuantile(q: number, upperBounds: number[], counts: number[]): number {
  const cumulative = counts.map((_, i) => sum(counts.slice(0, i + 1)));
  const total = cumulative.at(-1)!;
  const rank = q * total;
  const index = cumulative.findIndex((c, i) => i < upperBounds.length && c >= rank);
  if (index === -1) return upperBounds.at(-1)!;
  const lower = index === 0 ? 0 : upperBounds[index - 1]!;
  const below = index === 0 ? 0 : cumulative[index - 1]!;
  return lower + (upperBounds[index]! - lower) * ((rank - below) / counts[index]!);
}
