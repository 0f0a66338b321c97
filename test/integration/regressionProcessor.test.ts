import { afterEach, describe, expect, it } from 'vitest';
import { RegressionProcessor } from '../../src/analysis/RegressionProcessor.js';
import { MetricStore } from '../../src/store/MetricStore.js';
import { listDeployVerdicts, listRegressions } from '../../src/store/regressionRecords.js';
import { captureLogger } from '../helpers/captureLogger.js';
import { type FixturePoint, fixtureCollections } from '../helpers/fixtureCollection.js';
import { tempDir } from '../helpers/tempDir.js';

const MINUTE = 60;
/** 2026-11-29T00:00:00Z in seconds. */
const T0 = Date.UTC(2026, 10, 29) / 1000;

/** Deterministic noise: a seeded LCG and Box–Muller. */
function noise(seed: number): () => number {
  let state = seed;
  const uniform = () => {
    state = (state * 16807) % 2147483647;
    return state / 2147483647;
  };
  return () => Math.sqrt(-2 * Math.log(uniform())) * Math.cos(2 * Math.PI * uniform());
}

/** A gauge sampled every minute for `minutes`, `level(i)` plus Gaussian noise of `spread`. */
function gauge(
  metric: string,
  minutes: number,
  level: (i: number) => number,
  spread: number,
  extra: Partial<FixturePoint> = {},
  seed = 7,
): FixturePoint[] {
  const next = noise(seed);
  return Array.from({ length: minutes }, (_, i) => ({
    metric,
    kind: 'gauge' as const,
    time: T0 + i * MINUTE,
    value: level(i) + spread * next(),
    ...extra,
  }));
}

const cleanups: (() => Promise<void>)[] = [];

async function openTempStore(name = 'history.duckdb'): Promise<MetricStore> {
  const dir = await tempDir();
  cleanups.push(dir.cleanup);
  return MetricStore.open(dir.file(name));
}

async function storeWith(points: readonly FixturePoint[]): Promise<MetricStore> {
  const store = await openTempStore();
  for (const collection of fixtureCollections(points)) await store.writeCollection(collection);
  return store;
}

let store: MetricStore | undefined;
afterEach(async () => {
  await store?.close();
  store = undefined;
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

function processorAt(
  s: MetricStore,
  minutes: number,
  extra: Partial<ConstructorParameters<typeof RegressionProcessor>[0]> = {},
) {
  let now = (T0 + minutes * MINUTE) * 1000;
  const processor = new RegressionProcessor({
    store: s,
    logger: captureLogger(),
    lookbackMillis: 24 * 3_600_000,
    now: () => now,
    ...extra,
  });
  return { processor, advance: (more: number) => (now += more * MINUTE * 1000) };
}

describe('RegressionProcessor', () => {
  it('reports a CPU step up as a critical regression with an explanation, once per change', async () => {
    store = await storeWith(
      gauge('process.cpu.utilization', 360, (i) => (i < 240 ? 0.3 : 0.45), 0.01, { unit: '1' }),
    );
    const { processor, advance } = processorAt(store, 360);
    const first = await processor.runCycle();
    expect(first.opened).toBe(1);
    const [record] = await listRegressions(store);
    expect(record).toMatchObject({
      metric: 'process.cpu.utilization',
      statistic: 'value',
      service: 'fixture',
      kind: 'regression',
      severity: 'critical',
      status: 'open',
      direction: 'up',
      metricClass: 'cpu',
      test: 'mann-whitney',
    });
    expect(Math.abs(record!.changeTime.getTime() / 1000 - (T0 + 240 * MINUTE))).toBeLessThanOrEqual(
      2 * MINUTE,
    );
    expect(record!.relativeChange).toBeCloseTo(0.5, 1);
    expect(record!.baseline.n).toBeGreaterThan(200);
    expect(record!.current.n).toBeGreaterThan(100);
    expect(record!.pValue).toBeLessThan(1e-6);
    expect(record!.explanation).toMatch(
      /^process\.cpu\.utilization for fixture rose (49|5\d)(\.\d)? % \(95 % CI .*\) from 30(\.\d)? % to 4[45](\.\d)? % at 04:0\d UTC — a regression\.$/,
    );
    expect(processor.activeCounts()).toEqual([{ severity: 'critical', service: 'fixture', count: 1 }]);

    // The next cycle sees the same change: the record is updated, not reported again.
    advance(10);
    const second = await processor.runCycle();
    expect(second.opened).toBe(0);
    expect(second.updated).toBe(1);
    const records = await listRegressions(store);
    expect(records.map((r) => r.id)).toEqual([record!.id]);
    expect(records[0]!.firstSeen).toEqual(record!.firstSeen);
    expect(records[0]!.lastSeen.getTime()).toBeGreaterThan(record!.lastSeen.getTime());
  });

  it('records a latency drop as an improvement, never as a regression', async () => {
    store = await storeWith(
      gauge('nodejs.eventloop.delay.p99', 360, (i) => (i < 200 ? 0.08 : 0.04), 0.004, { unit: 's' }),
    );
    const { processor } = processorAt(store, 360);
    await processor.runCycle();
    const records = await listRegressions(store);
    expect(records).toHaveLength(1);
    expect(records[0]).toMatchObject({
      kind: 'improvement',
      severity: 'info',
      direction: 'down',
      metricClass: 'latency',
    });
    expect(records[0]!.explanation).toContain('fell');
    expect(records[0]!.explanation).toMatch(
      /from 80(\.\d)? ms to 40(\.\d)? ms at 03:(19|2\d) UTC — an improvement\.$/,
    );
    expect(processor.activeCounts()).toEqual([]);
  });

  it('stays quiet on stationary noise and on changes below half the minimum effect', async () => {
    store = await storeWith([
      ...gauge('process.memory.usage', 720, () => 200e6, 5e6, { unit: 'By' }, 3),
      // +5 %: significant, but under half of memory's 15 % minimum effect.
      ...gauge('system.memory.usage', 720, (i) => (i < 400 ? 8e9 : 8.4e9), 2e7, { unit: 'By' }, 5),
    ]);
    const { processor } = processorAt(store, 720);
    const summary = await processor.runCycle();
    expect(summary.seriesAnalysed).toBe(2);
    expect(await listRegressions(store)).toEqual([]);
  });

  it('resolves a regression once the metric returns to its baseline', async () => {
    store = await storeWith(
      gauge('process.cpu.utilization', 600, (i) => (i < 240 || i >= 420 ? 0.3 : 0.45), 0.01, { unit: '1' }),
    );
    // Cycle at minute 400: the regression is open.
    const early = await openTempStore('early.duckdb');
    try {
      const points = gauge('process.cpu.utilization', 400, (i) => (i < 240 ? 0.3 : 0.45), 0.01, {
        unit: '1',
      });
      for (const collection of fixtureCollections(points)) await early.writeCollection(collection);
      const { processor } = processorAt(early, 400);
      await processor.runCycle();
      expect((await listRegressions(early)).map((r) => r.status)).toEqual(['open']);
    } finally {
      await early.close();
    }
    // Over the whole history the level came back at minute 420: recorded, but resolved.
    const { processor } = processorAt(store, 600);
    await processor.runCycle();
    const records = await listRegressions(store, { kind: 'regression' });
    expect(records).toHaveLength(1);
    expect(records[0]!.status).toBe('resolved');
    expect(records[0]!.resolvedAt).not.toBeNull();
    // The return is not an improvement of its own.
    expect(await listRegressions(store, { kind: 'improvement' })).toEqual([]);
    expect(processor.activeCounts()).toEqual([]);
  });

  it('names the deploy that came with a change and gives the deploy a verdict', async () => {
    const v1 = { 'service.name': 'checkout', 'service.version': '1.4.0' };
    const v2 = { 'service.name': 'checkout', 'service.version': '1.5.0' };
    const points = gauge('http.server.active_requests', 360, (i) => (i < 240 ? 10 : 20), 0.5).map((p, i) => ({
      ...p,
      resource: i < 240 ? v1 : v2,
    }));
    store = await storeWith(points);
    const { processor } = processorAt(store, 360);
    const summary = await processor.runCycle();
    expect(summary.deploys).toBe(1);
    const [record] = await listRegressions(store);
    expect(record).toMatchObject({
      service: 'checkout',
      kind: 'regression',
      versionBefore: '1.4.0',
      versionAfter: '1.5.0',
    });
    expect(record!.explanation).toContain('right after service.version 1.4.0 → 1.5.0');
    const [verdict] = await listDeployVerdicts(store);
    expect(verdict).toMatchObject({
      service: 'checkout',
      versionBefore: '1.4.0',
      versionAfter: '1.5.0',
      verdict: 'regressed',
      seriesCompared: 1,
      regressions: 1,
    });
    expect(verdict!.summary).toMatch(
      /^checkout 1\.4\.0 → 1\.5\.0: regressed \(1 of 1 series worse, 0 better\); worst: /,
    );
  });

  it('derives the HTTP error rate from request counts by status', async () => {
    const bounds = [0.1, 1];
    const points: FixturePoint[] = [];
    let ok = 0;
    let failed = 0;
    for (let i = 0; i < 360; i++) {
      ok += 100;
      failed += i < 240 ? 1 : 20; // 1 % → about 17 % errors
      for (const [status, count] of [
        [200, ok],
        [500, failed],
      ] as const) {
        points.push({
          metric: 'http.server.request.duration',
          kind: 'histogram',
          unit: 's',
          time: T0 + i * MINUTE,
          attributes: { 'http.response.status_code': status, 'http.request.method': 'GET' },
          histogram: { bounds, counts: [count, 0, 0], sum: count * 0.05 },
        });
      }
    }
    store = await storeWith(points);
    const { processor } = processorAt(store, 360);
    await processor.runCycle();
    const [record] = await listRegressions(store, { kind: 'regression' });
    expect(record).toMatchObject({
      statistic: 'error_rate',
      metricClass: 'error_rate',
      effectKind: 'absolute',
      minEffect: 0.05,
      severity: 'critical',
    });
    expect(record!.explanation).toMatch(
      /^error rate of http\.server\.request\.duration for fixture rose 1\d(\.\d)? percentage points/,
    );
  });

  it('tests a latency histogram regression on the whole distribution too', async () => {
    const bounds = [0.05, 0.1, 0.25, 0.5, 1];
    const next = noise(17);
    const cumulative = [0, 0, 0, 0, 0, 0];
    const points: FixturePoint[] = [];
    for (let i = 0; i < 360; i++) {
      // 100 requests a minute, mostly 50–100 ms; from minute 240 on, mostly 100–250 ms.
      const slow = i >= 240;
      const jitter = Math.round(3 * next());
      const perMinute = slow
        ? [5, 20 + jitter, 65 - jitter, 8, 2, 0]
        : [20 + jitter, 65 - jitter, 12, 2, 1, 0];
      for (const [b, count] of perMinute.entries()) cumulative[b]! += count;
      points.push({
        metric: 'http.server.request.duration',
        kind: 'histogram',
        unit: 's',
        time: T0 + i * MINUTE,
        attributes: { 'http.route': '/pay', 'http.response.status_code': 200 },
        histogram: { bounds, counts: [...cumulative], sum: 0 },
      });
    }
    store = await storeWith(points);
    const { processor } = processorAt(store, 360);
    await processor.runCycle();
    const records = await listRegressions(store, { kind: 'regression' });
    const p50 = records.find((r) => r.statistic === 'p50');
    expect(p50).toMatchObject({ metricClass: 'latency', direction: 'up', labels: { 'http.route': '/pay' } });
    expect(p50!.distribution!.pValue).toBeLessThan(1e-6);
    // Most requests moved up a bucket: one after the change exceeds one before most of the time.
    expect(p50!.distribution!.superiority).toBeGreaterThan(0.75);
    expect(p50!.explanation).toMatch(
      /; an observation after it is above one before \d+ % of the time \(distribution p=.*\) — a regression\.$/,
    );
  });

  it('follows rules: a disabled metric is not analysed, and a rule can make throughput directional', async () => {
    store = await storeWith([
      ...gauge('process.cpu.utilization', 360, (i) => (i < 240 ? 0.3 : 0.45), 0.01, { unit: '1' }),
      ...gauge('queue.throughput', 360, (i) => (i < 240 ? 100 : 60), 2, {}, 11),
    ]);
    const { processor } = processorAt(store, 360, {
      rules: [
        { metric: 'process.*', enabled: false },
        { metric: 'queue.throughput', worse: 'down' },
      ],
    });
    await processor.runCycle();
    const records = await listRegressions(store);
    expect(records.map((r) => [r.metric, r.kind, r.severity])).toEqual([
      ['queue.throughput', 'regression', 'critical'],
    ]);
  });
});
