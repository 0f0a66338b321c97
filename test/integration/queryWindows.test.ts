import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { evaluateRules } from '../../src/alerts/evaluateRule.js';
import { parseRules } from '../../src/alerts/parseRules.js';
import { MetricStore } from '../../src/store/MetricStore.js';
import {
  type Aggregation,
  queryTimeSeries,
  type TimeSeriesQuery,
  type TimeSeriesResult,
} from '../../src/store/queryTimeSeries.js';
import { queryWindows, queryWindowValues } from '../../src/store/queryWindows.js';
import { SeriesMatchCache } from '../../src/store/SeriesMatchCache.js';
import { HISTOGRAM_AGGREGATIONS, SAMPLE_AGGREGATIONS } from '../helpers/aggregations.js';
import { type FixturePoint, fixtureCollections } from '../helpers/fixtureCollection.js';
import { tempDir } from '../helpers/tempDir.js';

const T0 = 1_790_000_040;
const at = (seconds: number) => new Date((T0 + seconds) * 1000);
const bounds = [0.1, 0.5, 1];

// Gauges every 10 s on two hosts (host b 1 s later, so `last` over both has no tie; one NaN), a counter
// with a reset, an up-down counter, and histograms on two routes with a reset on /pay.
const fixture: FixturePoint[] = [];
for (let i = 0; i < 24; i++) {
  for (const [host, offset, scale] of [
    ['a', 0, 1],
    ['b', 1, 3],
  ] as const) {
    fixture.push({
      metric: 'app.queue.depth',
      kind: 'gauge',
      time: T0 + i * 10 + offset,
      // One NaN (DuckDB orders it above every number: min passes over it, max and avg are NaN).
      value: host === 'b' && i === 20 ? Number.NaN : ((i * 7) % 11) * scale + offset,
      attributes: { host, queue: 'q1' },
    });
  }
  fixture.push({
    metric: 'app.requests',
    kind: 'counter',
    time: T0 + i * 10,
    value: i < 9 ? i * 10 : (i - 9) * 4,
    startTime: i < 9 ? T0 - 100 : T0 + 85,
    attributes: { 'http.route': '/pay' },
  });
  fixture.push({
    metric: 'app.requests',
    kind: 'counter',
    time: T0 + i * 10,
    value: i * 3,
    attributes: { 'http.route': '/cart' },
  });
  fixture.push({ metric: 'app.inflight', kind: 'updown', time: T0 + i * 10, value: (i * 5) % 9 });
}
for (let i = 0; i < 8; i++) {
  for (const route of ['/pay', '/cart']) {
    const n = route === '/pay' && i >= 5 ? i - 5 : i;
    fixture.push({
      metric: 'http.server.request.duration',
      kind: 'histogram',
      unit: 's',
      time: T0 + i * 30,
      startTime: route === '/pay' && i >= 5 ? T0 + 140 : 0,
      histogram: { bounds, counts: [n * 3, n * 5, n * 2 + (i % 2), n], sum: n * 4.5 },
      attributes: { 'http.route': route, 'http.response.status_code': route === '/pay' ? 500 : 200 },
    });
  }
}

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

/** A one-bucket window ending at `end` seconds, as alert rules read. */
function windowQuery(
  metric: string,
  aggregation: Aggregation,
  seconds: number,
  end: number,
  extra: Partial<TimeSeriesQuery> = {},
): TimeSeriesQuery {
  return {
    metric,
    from: at(end - seconds),
    to: at(end),
    stepSeconds: seconds,
    aggregation,
    source: 'raw',
    ifMissing: 'empty',
    collectionIntervalSeconds: 10,
    ...extra,
  };
}

/** queryTimeSeries' answer, or the error it throws, as the batch gives them. */
async function oneByOne(query: TimeSeriesQuery): Promise<TimeSeriesResult | Error> {
  try {
    return await queryTimeSeries(store, query);
  } catch (error) {
    return error as Error;
  }
}

function comparable(answer: TimeSeriesResult | Error) {
  if (answer instanceof Error) return { error: answer.constructor.name, message: answer.message };
  return {
    totalGroups: answer.totalGroups,
    source: answer.source,
    series: answer.series.map((series) => ({
      metric: series.metric,
      labels: series.labels,
      times: series.times,
      // Sums of many terms may differ in the last bits with the order of addition.
      values: series.values.map((value) => (value === null ? null : Number(value.toPrecision(12)))),
    })),
  };
}

function batch(): TimeSeriesQuery[] {
  const queries: TimeSeriesQuery[] = [];
  for (const [seconds, end] of [
    [60, 120],
    [120, 240],
    [30, 200],
    [240, 240],
  ] as const) {
    for (const groupBy of [[], ['host'], ['queue']]) {
      for (const aggregation of SAMPLE_AGGREGATIONS) {
        queries.push(windowQuery('app.queue.depth', aggregation, seconds, end, { groupBy }));
        queries.push(windowQuery('app.inflight', aggregation, seconds, end, { groupBy }));
      }
    }
    for (const groupBy of [[], ['http.route']]) {
      for (const aggregation of ['rate', 'increase', 'avg', 'last'] as const)
        queries.push(windowQuery('app.requests', aggregation, seconds, end, { groupBy }));
      for (const aggregation of HISTOGRAM_AGGREGATIONS) {
        queries.push(windowQuery('http.server.request.duration', aggregation, seconds, end, { groupBy }));
        queries.push(
          windowQuery('http.server.request.duration', aggregation, seconds, end, {
            groupBy,
            matchers: [{ key: 'http.response.status_code', op: '=~', value: '5..' }],
          }),
        );
      }
    }
    queries.push(windowQuery('app.*', 'max', seconds, end, { where: { host: 'a' } }));
    queries.push(windowQuery('app.queue.depth', 'avg', seconds, end, { where: { host: 'b' } }));
  }
  return queries;
}

describe('queryWindows answers as queryTimeSeries does', () => {
  it('every aggregation on gauges, counters, up-down counters and histograms, grouped or not', async () => {
    const queries = batch();
    const cache = new SeriesMatchCache();
    const batched = await queryWindows(store, queries, cache);
    const again = await queryWindows(store, queries, cache);
    for (const [i, query] of queries.entries()) {
      const expected = comparable(await oneByOne(query));
      expect(comparable(batched[i]!), JSON.stringify(query)).toEqual(expected);
      expect(comparable(again[i]!)).toEqual(expected);
    }
    // The values the alert rules read are the same answers, group by group.
    const values = await queryWindowValues(store, queries, cache);
    for (const [i, answer] of batched.entries()) {
      const own = values[i]!;
      if (answer instanceof Error) {
        expect(own).toEqual(answer);
        continue;
      }
      if (own instanceof Error) throw own;
      const present = own.groups.flatMap((group, g) =>
        own.present[g]
          ? [{ metric: group.metric, value: Number.isNaN(own.values[g]!) ? null : own.values[g] }]
          : [],
      );
      expect(present).toEqual(
        answer.series.map((series) => ({ metric: series.metric, value: series.values[0] })),
      );
    }
    // The fixture exercises answers with data, not only empty ones.
    const withData = batched.filter((answer) => !(answer instanceof Error) && answer.series.length > 0);
    expect(withData.length).toBeGreaterThan(queries.length * 0.8);
  });

  it('gives each query the error queryTimeSeries would throw, and the others their answers', async () => {
    const queries = [
      windowQuery('app.queue.depth', 'rate', 60, 120),
      windowQuery('http.server.request.duration', 'max', 60, 120),
      windowQuery('app.queue.depth', 'avg', 60, 120, { matchers: [{ key: 'host', op: '=~', value: '(' }] }),
      windowQuery('no.such.metric', 'avg', 60, 120),
      windowQuery('no.such.metric', 'avg', 60, 120, { ifMissing: 'error' }),
      windowQuery('app.queue.depth', 'p95', 60, 120, { groupBy: ['host'] }),
      // Longer ranges and several buckets are passed on to queryTimeSeries.
      { ...windowQuery('app.queue.depth', 'avg', 120, 240), stepSeconds: 60 },
      { ...windowQuery('app.requests', 'rate', 240, 240), source: 'auto' as const },
    ];
    const batched = await queryWindows(store, queries, new SeriesMatchCache());
    for (const [i, query] of queries.entries())
      expect(comparable(batched[i]!)).toEqual(comparable(await oneByOne(query)));
    expect(batched.filter((answer) => answer instanceof Error)).toHaveLength(4);
  });

  it('matches series again once the catalog changed', async () => {
    const cache = new SeriesMatchCache();
    const query = windowQuery('app.late', 'last', 60, 240, { groupBy: ['host'] });
    expect(comparable((await queryWindows(store, [query], cache))[0]!)).toMatchObject({ series: [] });
    for (const collection of fixtureCollections([
      { metric: 'app.late', kind: 'gauge', time: T0 + 230, value: 4, attributes: { host: 'c' } },
    ]))
      await store.writeCollection(collection);
    const [answer] = await queryWindows(store, [query], cache);
    expect(comparable(answer!)).toMatchObject({ series: [{ labels: { host: 'c' }, values: [4] }] });
  });
});

describe('alert rules read through the batch', () => {
  it('a ratio rule divides the summed numerators by the denominator per group, as from queryTimeSeries', async () => {
    const [rule] = parseRules(`rules:
  - name: Errors
    ratio:
      numerator:
        - { metric: http.server.request.duration, matchers: ['http.response.status_code=~5..'] }
        - { metric: app.requests, where: { http.route: /cart } }
      denominator: { metric: http.server.request.duration }
    aggregation: increase
    window: 2m
    group_by: [http.route]
    comparison: '>'
    threshold: 0.05`);
    const now = (T0 + 200) * 1000;
    const [answer] = await evaluateRules(store, [rule!], now, 10);
    const read = async (query: Partial<TimeSeriesQuery>) =>
      (
        await queryTimeSeries(store, {
          ...windowQuery('http.server.request.duration', 'increase', 120, 0),
          from: new Date(now + 1 - 120_000),
          to: new Date(now + 1),
          groupBy: ['http.route'],
          ...query,
        })
      ).series;
    const denominator = await read({});
    const errors = await read({ matchers: [{ key: 'http.response.status_code', op: '=~', value: '5..' }] });
    const cart = await read({ metric: 'app.requests', where: { 'http.route': '/cart' } });
    const expected = new Map(
      denominator.map((series) => {
        const route = series.labels['http.route']!;
        const numerator = [...errors, ...cart]
          .filter((other) => other.labels['http.route'] === route)
          .reduce((sum, other) => sum + (other.values[0] ?? 0), 0);
        const total = series.values[0] ?? null;
        return [route, total === null || total === 0 ? null : numerator / total];
      }),
    );
    expect(expected.size).toBe(2);
    expect([...expected.values()].some((value) => value !== null && value > 0)).toBe(true);
    if (answer instanceof Error) throw answer;
    const got = new Map<string | undefined, number | null>();
    for (const [g, labels] of answer!.labels.entries()) {
      if (answer!.present[g])
        got.set(labels['http.route'], Number.isNaN(answer!.values[g]!) ? null : answer!.values[g]!);
    }
    expect(got).toEqual(expected);
  });
});
