import { resourceFromAttributes } from '@opentelemetry/resources';
import { AggregationTemporality, DataPointType, type ResourceMetrics } from '@opentelemetry/sdk-metrics';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MetricStore } from '../../src/store/MetricStore.js';
import type { QueryRunner } from '../../src/store/QueryRunner.js';
import {
  type Aggregation,
  queryTimeSeries,
  type TimeSeriesQuery,
  type TimeSeriesResult,
} from '../../src/store/queryTimeSeries.js';
import { queryWindows, queryWindowValues } from '../../src/store/queryWindows.js';
import { SeriesMatchCache } from '../../src/store/SeriesMatchCache.js';
import { HISTOGRAM_AGGREGATIONS, SAMPLE_AGGREGATIONS } from '../helpers/aggregations.js';
import { tempDir } from '../helpers/tempDir.js';

const T0 = 1_790_000_000;
const STEP = 10;
const resource = resourceFromAttributes({ 'service.name': 'recent' });

/** A deterministic pseudo-random sequence in [0, 1). */
function random(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state * 1_103_515_245 + 12_345) % 2_147_483_648;
    return state / 2_147_483_648;
  };
}

interface Point {
  metric: string;
  type: 'gauge' | 'counter' | 'delta' | 'histogram' | 'delta-histogram';
  attributes: Record<string, string>;
  time: number;
  value: number;
  histogram?: { bounds: number[]; counts: number[]; sum: number };
}

function collectionOf(points: readonly Point[]): ResourceMetrics {
  const byMetric = new Map<string, Point[]>();
  for (const point of points) byMetric.set(point.metric, [...(byMetric.get(point.metric) ?? []), point]);
  const metrics = [...byMetric].map(([name, own]) => {
    const type = own[0]!.type;
    const delta = type === 'delta' || type === 'delta-histogram';
    const dataPoints = own.map((p) => ({
      startTime: [delta ? p.time - STEP : T0 - 100, 0] as [number, number],
      endTime: [Math.floor(p.time), Math.round((p.time % 1) * 1e9)] as [number, number],
      attributes: p.attributes,
      value: p.value,
    }));
    const descriptor = { name, unit: '1', description: '', valueType: 1 };
    if (type === 'histogram' || type === 'delta-histogram')
      return {
        descriptor: { ...descriptor, unit: 's' },
        aggregationTemporality: delta ? AggregationTemporality.DELTA : AggregationTemporality.CUMULATIVE,
        dataPointType: DataPointType.HISTOGRAM as const,
        dataPoints: own.map((p, i) => ({
          ...dataPoints[i]!,
          value: {
            buckets: { boundaries: p.histogram!.bounds, counts: p.histogram!.counts },
            count: p.histogram!.counts.reduce((a, b) => a + b, 0),
            sum: p.histogram!.sum,
          },
        })),
      };
    if (type === 'gauge')
      return {
        descriptor,
        aggregationTemporality: AggregationTemporality.CUMULATIVE,
        dataPointType: DataPointType.GAUGE as const,
        dataPoints,
      };
    return {
      descriptor,
      aggregationTemporality:
        type === 'delta' ? AggregationTemporality.DELTA : AggregationTemporality.CUMULATIVE,
      dataPointType: DataPointType.SUM as const,
      isMonotonic: true,
      dataPoints,
    };
  });
  return { resource, scopeMetrics: [{ scope: { name: 'recent' }, metrics }] };
}

/**
 * The points of one collection at `time`: gauges on three hosts (one value NaN now and then,
 * host c missing now and then), a cumulative counter per route that restarts from zero at times
 * and stops for more than an hour on /old, and a delta counter.
 */
function pointsAt(time: number, next: () => number, counters: Map<string, number>): Point[] {
  const points: Point[] = [];
  for (const host of ['a', 'b', 'c']) {
    if (host === 'c' && next() < 0.3) continue;
    const value = next() < 0.02 ? Number.NaN : Math.round(next() * 1000) / 10;
    points.push({
      metric: 'app.load',
      type: 'gauge',
      attributes: { host, pool: host === 'a' ? 'x' : 'y' },
      time,
      value,
    });
  }
  for (const route of ['/pay', '/cart', '/old']) {
    const offline = route === '/old' && time > T0 + 3_000 && time < T0 + 7_000;
    if (offline) continue;
    const restart = next() < 0.05;
    const total = restart ? Math.round(next() * 5) : (counters.get(route) ?? 0) + Math.round(next() * 20);
    counters.set(route, total);
    points.push({
      metric: 'app.requests',
      type: 'counter',
      attributes: { 'http.route': route },
      time,
      value: total,
    });
  }
  points.push({ metric: 'app.bytes', type: 'delta', attributes: {}, time, value: Math.round(next() * 500) });
  // Request durations per route: cumulative, restarting at times; /old changes its buckets once.
  for (const route of ['/pay', '/cart', '/old']) {
    const bounds = route === '/old' && time > T0 + 7_420 ? [0.1, 0.5, 1, 2] : [0.1, 0.5, 1];
    const key = `${route}:${bounds.length}`;
    const before = histograms.get(key);
    const restart = before === undefined || next() < 0.05;
    const increase = [...bounds, Number.POSITIVE_INFINITY].map(() => Math.round(next() * 8));
    const counts = increase.map((c, k) => (restart ? 0 : before!.counts[k]!) + c);
    const sum = (restart ? 0 : before!.sum) + increase.reduce((a, c, k) => a + c * (k + 0.5) * 0.2, 0);
    histograms.set(key, { counts, sum });
    points.push({
      metric: 'http.server.request.duration',
      type: 'histogram',
      attributes: { 'http.route': route, 'http.response.status_code': route === '/pay' ? '500' : '200' },
      time,
      value: 0,
      histogram: { bounds, counts, sum },
    });
  }
  points.push({
    metric: 'queue.wait',
    type: 'delta-histogram',
    attributes: {},
    time,
    value: 0,
    histogram: {
      bounds: [1, 10],
      counts: [Math.round(next() * 3), Math.round(next() * 3), 0],
      sum: next() * 20,
    },
  });
  return points;
}

/** Each route's cumulative histogram so far, per bucket layout. */
const histograms = new Map<string, { counts: number[]; sum: number }>();

/** Windows ending at `now` (ms) as alert rules read them, on every metric, grouped or not. */
function windows(now: number): TimeSeriesQuery[] {
  const queries: TimeSeriesQuery[] = [];
  const window = (metric: string, aggregation: Aggregation, seconds: number, groupBy: string[]) =>
    queries.push({
      metric,
      from: new Date(now + 1 - seconds * 1000),
      to: new Date(now + 1),
      stepSeconds: seconds,
      aggregation,
      groupBy,
      source: 'raw',
      ifMissing: 'empty',
      collectionIntervalSeconds: STEP,
    });
  for (const seconds of [10, 60, 300, 600]) {
    for (const groupBy of [[], ['host'], ['pool']])
      for (const aggregation of SAMPLE_AGGREGATIONS) window('app.load', aggregation, seconds, groupBy);
    for (const groupBy of [[], ['http.route']])
      for (const aggregation of ['rate', 'increase', 'avg', 'last'] as const)
        window('app.requests', aggregation, seconds, groupBy);
    for (const aggregation of ['rate', 'increase', 'max'] as const)
      window('app.bytes', aggregation, seconds, []);
    for (const aggregation of HISTOGRAM_AGGREGATIONS) {
      for (const groupBy of [[], ['http.route']])
        window('http.server.request.duration', aggregation, seconds, groupBy);
      window('queue.wait', aggregation, seconds, []);
    }
  }
  return queries;
}

function comparable(answer: TimeSeriesResult | Error) {
  if (answer instanceof Error) return { error: answer.message };
  return answer.series.map((series) => ({
    labels: series.labels,
    // Sums in another order may differ in the last bits.
    values: series.values.map((value) => (value === null ? null : Number(value.toPrecision(12)))),
  }));
}

/** The store, counting the statements that read points. */
function counting(store: MetricStore): { db: QueryRunner; reads: () => number } {
  let reads = 0;
  const db: QueryRunner = {
    query: (sql, params, types) => {
      if (sql.includes('points_')) reads++;
      return store.query(sql, params, types);
    },
    queryNumbers: (sql, params, types) => {
      if (sql.includes('points_')) reads++;
      return store.queryNumbers(sql, params, types);
    },
  };
  return { db, reads: () => reads };
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

describe('alert windows answered from the points held in memory', () => {
  it('give the answers DuckDB gives, collection after collection, without reading points', async () => {
    const next = random(7);
    const counters = new Map<string, number>();
    // Two hours of history before anything is held: the first read fills from DuckDB.
    let time = T0;
    for (; time < T0 + 7_200; time += STEP)
      await store.writeCollection(collectionOf(pointsAt(time, next, counters)));
    const recent = await store.keepRecentPoints(11 * 60_000);
    const matches = new SeriesMatchCache();
    const { db, reads } = counting(store);
    let compared = 0;
    for (let round = 0; round < 30; round++) {
      const points = pointsAt(time, next, counters);
      // A late point now and then: written after newer ones of its series.
      if (round % 7 === 3) points.push({ ...points[0]!, time: time - 25, value: 42 });
      await store.writeCollection(collectionOf(points));
      const now = time * 1000;
      const queries = windows(now);
      const before = reads();
      const held = await queryWindows(db, queries, matches, recent);
      const fromDuckDb = await queryWindows(store, queries, matches);
      // Windows over /old's two bucket layouts are errors, which only the SQL path raises.
      if (round > 0 && !fromDuckDb.some((answer) => answer instanceof Error))
        expect(reads() - before, `round ${round}`).toBe(0);
      for (const [i, query] of queries.entries()) {
        expect(comparable(held[i]!), `round ${round}: ${JSON.stringify(query)}`).toEqual(
          comparable(fromDuckDb[i]!),
        );
        if (!(held[i] instanceof Error) && held[i]!.series.length > 0) compared++;
        // And as queryTimeSeries answers alone, for the one-point windows where a NaN is a series' only value.
        if (query.stepSeconds === STEP && round % 4 === 0)
          expect(comparable(held[i]!), `round ${round}: ${JSON.stringify(query)}`).toEqual(
            comparable(await queryTimeSeries(store, query).catch((error: Error) => error)),
          );
      }
      time += STEP;
    }
    expect(compared).toBeGreaterThan(30 * windows(0).length * 0.8);
    // Eleven minutes at 10 s of the 11 series (and each one's predecessor), not the whole history.
    expect(recent.seriesCount).toBe(11);
    expect(recent.pointCount).toBeLessThanOrEqual(11 * (66 + 2));
  }, 60_000);

  it('answer a counter after more than an hour without points as DuckDB does', async () => {
    const next = random(11);
    const counters = new Map<string, number>();
    const recent = await store.keepRecentPoints(11 * 60_000);
    const matches = new SeriesMatchCache();
    // Held from the start (an empty store): /old stops at 3,000 s and comes back at 7,000 s.
    for (let time = T0; time < T0 + 7_400; time += STEP) {
      await store.writeCollection(collectionOf(pointsAt(time, next, counters)));
      if ((time - T0) % 200 !== 0) continue;
      const queries = windows(time * 1000).filter((query) => query.metric !== 'app.load');
      const held = await queryWindows(store, queries, matches, recent);
      const fromDuckDb = await queryWindows(store, queries, matches);
      for (const [i, query] of queries.entries())
        expect(comparable(held[i]!), `${time - T0}: ${JSON.stringify(query)}`).toEqual(
          comparable(fromDuckDb[i]!),
        );
    }
  }, 60_000);

  it('read DuckDB again for series whose held points retention deleted, and agree with it', async () => {
    const next = random(3);
    const counters = new Map<string, number>();
    const recent = await store.keepRecentPoints(11 * 60_000);
    const matches = new SeriesMatchCache();
    let time = T0;
    for (; time < T0 + 1_200; time += STEP)
      await store.writeCollection(collectionOf(pointsAt(time, next, counters)));
    const queries = windows(time * 1000);
    await queryWindowValues(store, queries, matches, recent);
    const watched = recent.seriesCount;
    expect(watched).toBe(11);
    // Deleting points a series holds unwatches it: what it holds is no longer all the store has.
    await store.deleteBefore(new Date((T0 + 1_190) * 1000), { nowMillis: time * 1000 });
    expect(recent.seriesCount).toBeLessThan(watched);
    await store.writeCollection(collectionOf(pointsAt(time, next, counters)));
    const after = windows(time * 1000);
    const held = await queryWindows(store, after, matches, recent);
    const fromDuckDb = await queryWindows(store, after, matches);
    for (const [i, query] of after.entries())
      expect(comparable(held[i]!), JSON.stringify(query)).toEqual(comparable(fromDuckDb[i]!));
    expect(recent.seriesCount).toBe(11);
  });
});
