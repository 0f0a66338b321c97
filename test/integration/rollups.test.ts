import { DuckDBInstance } from '@duckdb/node-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MetricStore } from '../../src/store/MetricStore.js';
import { queryTimeSeries, type TimeSeriesQuery } from '../../src/store/queryTimeSeries.js';
import { MIGRATIONS } from '../../src/store/schema.js';
import { type FixturePoint, fixtureCollections } from '../helpers/fixtureCollection.js';
import { tempDir } from '../helpers/tempDir.js';

const T0 = 1_790_006_400; // a whole hour
const HOURS = 3;
const at = (seconds: number) => new Date((T0 + seconds) * 1000);
/** The tests' wall clock, an hour after the fixture's last point: rollups never pass the clock. */
const NOW = at((HOURS + 1) * 3600).getTime();

/** 3 h at 10 s: a wavy gauge on two hosts, a counter with a reset, a histogram. */
function fixture(): FixturePoint[] {
  const points: FixturePoint[] = [];
  let counter = 0;
  const cumulative = [0, 0, 0];
  for (let t = 0; t < HOURS * 3600; t += 10) {
    const i = t / 10;
    for (const host of ['a', 'b']) {
      points.push({
        metric: 'app.load',
        kind: 'gauge',
        time: T0 + t,
        value: ((i * 37) % 101) + (host === 'b' ? 0.5 : 0),
        attributes: { host },
      });
    }
    counter = t === 5000 ? 3 : counter + (i % 7);
    points.push({ metric: 'app.requests', kind: 'counter', time: T0 + t, value: counter });
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
});
afterAll(async () => {
  await store.close();
  await dir.cleanup();
});

const run = (query: Partial<TimeSeriesQuery>) =>
  queryTimeSeries(store, {
    metric: 'app.load',
    from: at(0),
    to: at(HOURS * 3600),
    stepSeconds: 300,
    aggregation: 'avg',
    ...query,
  });

describe('1-minute rollups', () => {
  it('roll up every complete minute and report how far they are complete', async () => {
    const summary = await store.rollUp(NOW);
    // The newest point is at 2:59:50; minutes settle one minute after, so 2:58 is the last complete.
    expect(summary.completeUntil).toEqual(at(HOURS * 3600 - 120));
    expect(summary.rows).toBeGreaterThan(0);
    expect((await store.rollUp(NOW)).rows).toBe(0); // nothing new
  });

  const cases: [string, TimeSeriesQuery['aggregation'], string[]][] = [
    ['app.load', 'avg', ['host']],
    ['app.load', 'min', []],
    ['app.load', 'max', ['host']],
    ['app.load', 'sum', []],
    ['app.load', 'count', []],
    ['app.load', 'last', ['host']],
    ['app.requests', 'increase', []],
    ['app.requests', 'rate', []],
    // One series per group: at 1-minute steps each rollup row is its bucket (no aggregation).
    ['app.load', 'min', ['host']],
    ['app.load', 'sum', ['host']],
    ['app.load', 'count', ['host']],
    ['app.latency', 'p50', []],
    ['app.latency', 'p99', []],
    ['app.latency', 'count', []],
    ['app.latency', 'avg', []],
    ['app.latency', 'rate', []],
  ];
  it.each(cases)(
    '%s %s: rollups (+ raw tail) answer exactly as raw points do',
    async (metric, aggregation, groupBy) => {
      for (const stepSeconds of [60, 300, 3600]) {
        const raw = await run({ metric, aggregation, groupBy, stepSeconds, source: 'raw' });
        const rollup = await run({ metric, aggregation, groupBy, stepSeconds, source: 'rollup' });
        expect(raw.source).toBe('raw');
        expect(rollup.source).toBe('rollup');
        expect(rollup.series.length).toBe(raw.series.length);
        for (const [i, series] of rollup.series.entries()) {
          const expected = raw.series[i]!.points.map((p) => p.value);
          const actual = series.points.map((p) => p.value);
          expect(actual.length).toBe(expected.length);
          for (const [k, value] of actual.entries()) {
            if (expected[k] === null) expect(value).toBeNull();
            else expect(value).toBeCloseTo(expected[k]!, 9);
          }
        }
      }
    },
  );

  it('auto picks raw for short ranges and for sample quantiles, rollups when raw points are gone', async () => {
    expect((await run({ from: at(0), to: at(3600) })).source).toBe('raw');
    expect((await run({ aggregation: 'p95' })).source).toBe('raw');
    await expect(run({ aggregation: 'p95', source: 'rollup' })).rejects.toThrow(
      /^source: rollups answer whole-minute steps/,
    );
    const before = await run({
      metric: 'app.requests',
      aggregation: 'increase',
      stepSeconds: 3600,
      from: at(0),
      to: at(7200),
    });
    await store.deleteBefore(at(3 * 3600 - 600), { nowMillis: NOW }); // raw retention: only the last 10 minutes remain
    const after = await run({
      metric: 'app.requests',
      aggregation: 'increase',
      stepSeconds: 3600,
      from: at(0),
      to: at(7200),
    });
    expect(after.source).toBe('rollup');
    expect(after.series[0]!.points.map((p) => p.value)).toEqual(before.series[0]!.points.map((p) => p.value));
  });
});

describe('schema migration', () => {
  it('upgrades a version 1 file to the current version and keeps its data', async () => {
    const path = dir.file('v1.duckdb');
    const instance = await DuckDBInstance.create(path);
    const connection = await instance.connect();
    await connection.run(MIGRATIONS[0]!);
    await connection.run(`INSERT INTO perfwatch_schema (version, perfwatch_version) VALUES (1, '0.1.0')`);
    await connection.run(`INSERT INTO points_number VALUES (1, NULL, TIMESTAMP '2026-01-01 00:00:00', 42)`);
    connection.closeSync();
    instance.closeSync();

    const upgraded = await MetricStore.open(path);
    try {
      expect(await upgraded.schemaVersion()).toBe(MIGRATIONS.length);
      expect(await upgraded.query('SELECT value FROM points_number')).toEqual([{ value: 42 }]);
      expect(await upgraded.query('SELECT count(*) AS n FROM rollup_number_1m')).toEqual([{ n: 0n }]);
    } finally {
      await upgraded.close();
    }
  });
});

describe('rollups and queries at the edges', () => {
  let edge: MetricStore;
  beforeAll(async () => {
    edge = await MetricStore.open(dir.file('edge.duckdb'));
  });
  afterAll(async () => {
    await edge.close();
  });

  it('treats a drop in any bucket as a histogram reset, without failing', async () => {
    const points: FixturePoint[] = [
      [0, [0, 3, 0]],
      [60, [5, 0, 0]], // restarted: the count grew, one bucket dropped
      [120, [6, 1, 0]],
      [180, [6, 1, 0]],
    ].map(([t, counts]) => ({
      metric: 'reset.latency',
      kind: 'histogram' as const,
      time: T0 + (t as number),
      histogram: { bounds: [1, 2], counts: counts as number[], sum: 0 },
    }));
    for (const collection of fixtureCollections(points)) await edge.writeCollection(collection);
    await edge.rollUp(NOW);
    const query = {
      metric: 'reset.latency',
      from: at(0),
      to: at(240),
      stepSeconds: 60,
      aggregation: 'count' as const,
    };
    const raw = await queryTimeSeries(edge, { ...query, source: 'raw' });
    expect(raw.series[0]!.points.map((p) => p.value)).toEqual([null, 5, 2, 0]);
    const rollup = await queryTimeSeries(edge, { ...query, source: 'rollup' });
    expect(rollup.series[0]!.points.map((p) => p.value)).toEqual([null, 5, 2, 0]);
  });

  it('never rolls up past the wall clock, whatever a point claims', async () => {
    const now = (T0 + 3600) * 1000;
    for (const collection of fixtureCollections([
      { metric: 'future', kind: 'gauge', time: T0 + 3 * 86_400, value: 1 },
    ])) {
      await edge.writeCollection(collection);
    }
    const summary = await edge.rollUp(now);
    expect(summary.completeUntil!.getTime()).toBeLessThanOrEqual(now);
  });

  it('rolls each minute up once when two runs race', async () => {
    const race = await MetricStore.open(dir.file('race.duckdb'));
    try {
      const points: FixturePoint[] = Array.from({ length: 60 }, (_, i) => ({
        metric: 'g',
        kind: 'gauge',
        time: T0 + i * 10,
        value: i,
      }));
      for (const collection of fixtureCollections(points)) await race.writeCollection(collection);
      await Promise.all([race.rollUp(NOW), race.rollUp(NOW)]);
      const [row] = await race.query(
        'SELECT count(*) AS rows, count(DISTINCT minute) AS minutes FROM rollup_number_1m',
      );
      expect(row?.rows).toBe(row?.minutes);
    } finally {
      await race.close();
    }
  });

  it('refuses an answer over 1,000,000 points instead of cutting it', async () => {
    const points: FixturePoint[] = Array.from({ length: 100 }, (_, i) => ({
      metric: 'wide',
      kind: 'gauge',
      time: T0,
      value: i,
      attributes: { id: String(i) },
    }));
    for (const collection of fixtureCollections(points)) await edge.writeCollection(collection);
    const query = {
      metric: 'wide',
      from: at(0),
      to: at(10_900),
      stepSeconds: 1,
      aggregation: 'avg' as const,
    };
    await expect(
      queryTimeSeries(edge, { ...query, groupBy: ['id'], collectionIntervalSeconds: 1 }),
    ).rejects.toThrow(/^group-by: the answer would hold 100 series × 10900 points, more than 1000000/);
    const total = await queryTimeSeries(edge, { ...query, collectionIntervalSeconds: 1 });
    expect(total.series[0]!.points[0]!.value).toBe(49.5);
  });

  it('answers from raw points when the range does not end on a whole minute, and refuses a zero step', async () => {
    const result = await run({ to: new Date(at(HOURS * 3600 - 120).getTime() + 15_000) });
    expect(result.source).toBe('raw');
    await expect(run({ stepSeconds: 0.0000001 })).rejects.toThrow(/^step: must be at least 1 ms/);
  });
});
