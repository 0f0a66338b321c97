import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MetricStore } from '../../src/store/MetricStore.js';
import type { QueryRunner } from '../../src/store/QueryRunner.js';
import {
  type Aggregation,
  queryTimeSeries,
  type TimeSeries,
  type TimeSeriesQuery,
} from '../../src/store/queryTimeSeries.js';
import { streamTimeSeries } from '../../src/store/streamTimeSeries.js';
import { type FixturePoint, fixtureCollections } from '../helpers/fixtureCollection.js';
import { tempDir } from '../helpers/tempDir.js';

const T0 = 1_790_006_400; // a whole hour
const HOURS = 8;
const at = (seconds: number) => new Date((T0 + seconds) * 1000);

/**
 * 8 h at 30 s: a gauge on six hosts in two zones (groups of three series), a counter per host with
 * a reset, a histogram; gaps in one host's history. Rolled up to 7 h, so rollup answers have a raw tail.
 */
function fixture(): FixturePoint[] {
  const points: FixturePoint[] = [];
  const counters = new Map<string, number>();
  const cumulative = [0, 0, 0];
  for (let t = 0; t < HOURS * 3600; t += 30) {
    const i = t / 30;
    for (let h = 0; h < 6; h++) {
      const host = `h${h}`;
      if (h === 5 && i % 50 < 20) continue; // gaps
      const attributes = { host, zone: h < 3 ? 'z1' : 'z2' };
      points.push({
        metric: 'app.load',
        kind: 'gauge',
        time: T0 + t,
        value: ((i * 37 + h * 11) % 101) / 7,
        attributes,
      });
      const counter = t === 14_400 && h === 2 ? 3 : (counters.get(host) ?? 0) + ((i + h) % 7);
      counters.set(host, counter);
      if (h < 2)
        points.push({ metric: 'app.loss', kind: 'gauge', time: T0 + t, value: (i % 13) * h, attributes });
      points.push({ metric: 'app.requests', kind: 'counter', time: T0 + t, value: counter, attributes });
    }
    cumulative[0]! += i % 3;
    cumulative[1]! += i % 5;
    cumulative[2]! += 1;
    points.push({
      metric: 'app.latency',
      kind: 'histogram',
      time: T0 + t,
      histogram: { bounds: [0.1, 0.5], counts: [...cumulative], sum: cumulative[1]! * 0.3 },
    });
  }
  return points;
}

let dir: Awaited<ReturnType<typeof tempDir>>;
let store: MetricStore;

beforeAll(async () => {
  dir = await tempDir();
  store = await MetricStore.open(dir.file('h.duckdb'));
  for (const collection of fixtureCollections(fixture())) await store.writeCollection(collection);
  await store.rollUp((T0 + 7 * 3600 + 90) * 1000);
});
afterAll(async () => {
  await store.close();
  await dir.cleanup();
});

async function collect(runner: QueryRunner, query: TimeSeriesQuery): Promise<TimeSeries[]> {
  const out: TimeSeries[] = [];
  for await (const { series } of streamTimeSeries(runner, [query])) out.push(series);
  return out;
}

/** What a caller sees of a series: its identity, times and values (null for no data). */
const shapeOf = (series: readonly TimeSeries[]) =>
  series.map((s) => ({
    metric: s.metric,
    labels: s.labels,
    times: s.times,
    values: s.values,
    samples: s.samples,
  }));

const base = { from: at(0), to: at(HOURS * 3600) };
const cases: [string, TimeSeriesQuery][] = [];
for (const aggregation of ['avg', 'min', 'max', 'sum', 'count', 'last'] as Aggregation[]) {
  for (const groupBy of [[], ['zone'], ['host', 'zone']]) {
    cases.push([
      `app.load ${aggregation} by [${groupBy}] from rollups`,
      { ...base, metric: 'app.load', aggregation, groupBy, stepSeconds: 60 },
    ]);
  }
  cases.push([
    `app.load ${aggregation} by host, 5 min raw`,
    { ...base, metric: 'app.load', aggregation, groupBy: ['host'], stepSeconds: 300, source: 'raw' },
  ]);
}
for (const aggregation of ['rate', 'increase'] as Aggregation[]) {
  for (const source of ['rollup', 'raw'] as const) {
    cases.push([
      `app.requests ${aggregation} by host from ${source}`,
      { ...base, metric: 'app.requests', aggregation, groupBy: ['host'], stepSeconds: 120, source },
    ]);
  }
}
cases.push(
  [
    'app.load p95 (sample quantile, raw)',
    { ...base, metric: 'app.load', aggregation: 'p95', groupBy: ['zone'], stepSeconds: 600 },
  ],
  [
    'app.latency p99 (histogram, page by page)',
    { ...base, metric: 'app.latency', aggregation: 'p99', stepSeconds: 60 },
  ],
  [
    'a glob over two gauges, by host',
    { ...base, metric: 'app.lo*', aggregation: 'avg', groupBy: ['host'], stepSeconds: 60 },
  ],
  [
    'where and matchers',
    {
      ...base,
      metric: 'app.load',
      aggregation: 'max',
      groupBy: ['host'],
      stepSeconds: 60,
      where: { zone: 'z2' },
      matchers: [{ key: 'host', op: '!=', value: 'h4' }],
    },
  ],
  [
    'no matching series',
    { ...base, metric: 'app.load', aggregation: 'avg', stepSeconds: 60, where: { zone: 'none' } },
  ],
);

describe('streamTimeSeries', () => {
  it.each(cases)('gives the series queryTimeSeries gives: %s', async (_, query) => {
    const expected = shapeOf((await queryTimeSeries(store, query)).series);
    expect(shapeOf(await collect(store, query))).toEqual(expected);
  });

  it('merges consecutive queries of one statement into batches, split anywhere, in query order', async () => {
    const queries: TimeSeriesQuery[] = [
      { ...base, metric: 'app.load', aggregation: 'avg', groupBy: ['host'], stepSeconds: 60 },
      { ...base, metric: 'app.loss', aggregation: 'avg', groupBy: ['host'], stepSeconds: 60 },
      { ...base, metric: 'app.requests', aggregation: 'rate', groupBy: ['host'], stepSeconds: 60 },
      { ...base, metric: 'app.latency', aggregation: 'p99', stepSeconds: 60 },
      { ...base, metric: 'app.load', aggregation: 'max', groupBy: ['zone'], stepSeconds: 60 },
      {
        ...base,
        metric: 'app.load',
        aggregation: 'max',
        groupBy: ['host'],
        stepSeconds: 60,
        where: { zone: 'none' },
      },
      { ...base, metric: 'app.loss', aggregation: 'max', groupBy: ['host'], stepSeconds: 60 },
    ];
    const expected: { queryIndex: number; series: ReturnType<typeof shapeOf>[number] }[] = [];
    for (const [queryIndex, query] of queries.entries()) {
      for (const series of shapeOf((await queryTimeSeries(store, query)).series))
        expected.push({ queryIndex, series });
    }
    // 480 buckets: one series per batch, two and a half, or everything in one.
    for (const pointsPerBatch of [1, 1200, 4_000_000]) {
      const streamed: typeof expected = [];
      for await (const { queryIndex, series } of streamTimeSeries(store, queries, { pointsPerBatch }))
        streamed.push({ queryIndex, series: shapeOf([series])[0]! });
      expect(streamed, `pointsPerBatch ${pointsPerBatch}`).toEqual(expected);
    }
  });

  it('ends its statement when the reader stops early, and the store still closes', async () => {
    const query: TimeSeriesQuery = {
      ...base,
      metric: 'app.load',
      aggregation: 'avg',
      groupBy: ['host'],
      stepSeconds: 60,
    };
    for await (const { series } of streamTimeSeries(store, [query])) {
      expect(series.labels.host).toBe('h0');
      break;
    }
    const other = await MetricStore.open(dir.file('other.duckdb'));
    for (const collection of fixtureCollections(fixture().slice(0, 2000)))
      await other.writeCollection(collection);
    const stream = streamTimeSeries(other, [{ ...query, source: 'raw' }]);
    expect((await stream.next()).done).toBe(false);
    await other.close();
    // What was read is handed out; a statement after the close fails as a shutdown, never hangs.
    const rest = (async () => {
      for (let result = await stream.next(); !result.done; result = await stream.next());
    })();
    await rest.catch((error: unknown) => expect(String(error)).toMatch(/shut down/i));
  });
});
