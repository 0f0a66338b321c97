import { afterEach, describe, expect, it } from 'vitest';
import { compareBenchmark } from '../../src/analysis/compareBenchmark.js';
import { createBenchmark } from '../../src/analysis/createBenchmark.js';
import { deleteBenchmark } from '../../src/analysis/deleteBenchmark.js';
import { BenchmarkError } from '../../src/errors.js';
import { listBenchmarks, readBenchmark } from '../../src/store/benchmarkRecords.js';
import { MetricStore } from '../../src/store/MetricStore.js';
import { benchmarkFixture, MINUTE, T0 } from '../helpers/benchmarkFixture.js';
import { fixtureCollections } from '../helpers/fixtureCollection.js';
import { tempDir } from '../helpers/tempDir.js';

const cleanups: (() => Promise<void>)[] = [];
let store: MetricStore | undefined;
afterEach(async () => {
  await store?.close();
  store = undefined;
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

/** A history file with the fixture written, and a way to reopen it (a restart). */
async function history() {
  const dir = await tempDir();
  cleanups.push(dir.cleanup);
  const path = dir.file('history.duckdb');
  const s = await MetricStore.open(path);
  for (const collection of fixtureCollections(benchmarkFixture())) await s.writeCollection(collection);
  store = s;
  return {
    reopen: async () => {
      await store?.close();
      store = await MetricStore.open(path);
      return store;
    },
  };
}

const at = (minutes: number) => () => (T0 + minutes * MINUTE) * 1000;

async function errorOf(promise: Promise<unknown>): Promise<BenchmarkError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(BenchmarkError);
  return error as BenchmarkError;
}

describe('benchmarks', () => {
  it('captures a window per series, survives a restart and finds the +50 % latency step later', async () => {
    const { reopen } = await history();
    const created = await createBenchmark(store!, { name: 'baseline', services: ['checkout'], now: at(60) });
    expect(created.from.toISOString()).toBe(new Date(T0 * 1000).toISOString());
    expect(created.to.toISOString()).toBe(new Date((T0 + 60 * MINUTE) * 1000).toISOString());
    expect(created.resources).toEqual([{ service: 'checkout', versions: ['1.0.0'], hosts: ['web-1'] }]);
    const latency = created.series.find((s) => s.metric === 'app.request.latency')!;
    expect(latency).toMatchObject({
      statistic: 'value',
      service: 'checkout',
      labels: { 'http.route': '/pay' },
    });
    expect(latency.values).toHaveLength(60);
    expect(latency.stats.n).toBe(60);
    expect(latency.stats.mean).toBeCloseTo(100, 0);
    expect(latency.stats.p99).toBeGreaterThan(latency.stats.p90);
    expect(latency.overall).toBeCloseTo(latency.stats.mean, 6);
    const orders = created.series.find((s) => s.metric === 'app.orders')!;
    expect(orders.statistic).toBe('rate'); // a counter is compared as a rate, never as its running total
    expect(orders.stats.median).toBeCloseTo(10, 0);
    const p95 = created.series.find(
      (s) => s.metric === 'http.server.request.duration' && s.statistic === 'p95',
    )!;
    expect(p95.overall).toBeGreaterThan(0);
    expect(created.series.map((s) => s.statistic).sort()).toEqual([
      'error_rate', // of http.server.request.duration: no request failed
      'p50',
      'p95',
      'p99',
      'rate',
      'value',
      'value',
    ]);

    const window = { windowMillis: 10 * MINUTE * 1000, now: at(80) };
    const beforeRestart = await compareBenchmark(store!, 'baseline', window);
    const restarted = await reopen();
    const stored = await readBenchmark(restarted, 'baseline');
    expect(stored).toEqual(created);

    // After the restart the same comparison gives the same numbers.
    const comparison = await compareBenchmark(restarted, 'baseline', window);
    expect(comparison).toEqual(beforeRestart);
    expect(comparison.against).toMatchObject({ kind: 'window', name: null });
    expect(comparison.against.from.toISOString()).toBe(new Date((T0 + 70 * MINUTE) * 1000).toISOString());
    const worse = comparison.series.filter((s) => s.verdict === 'degraded');
    expect(worse.map((s) => `${s.statistic} ${s.metric}`)).toContain('value app.request.latency');
    const step = worse.find((s) => s.metric === 'app.request.latency')!;
    expect(step).toMatchObject({
      service: 'checkout',
      labels: { 'http.route': '/pay' },
      metricClass: 'latency',
    });
    expect(step.changePercent).toBeGreaterThan(40);
    expect(step.changePercent).toBeLessThan(60);
    expect(step.test!.pValue).toBeLessThan(0.01);
    expect(step.test!.shift).toBeGreaterThan(40);
    expect(step.test!.shiftLow).toBeLessThan(step.test!.shift);
    expect(step.welch!.pValue).toBeLessThan(0.01);
    expect(step.baseline!.n).toBe(60);
    expect(step.current!.n).toBe(10);
    // Memory fell: better for memory. Orders rose 30 %: throughput has no worse direction.
    const memory = comparison.series.find((s) => s.metric === 'process.memory.usage')!;
    expect(memory.verdict).toBe('improved');
    const rate = comparison.series.find((s) => s.metric === 'app.orders')!;
    expect(rate).toMatchObject({ verdict: 'stable', worse: 'none' });
    expect(rate.changePercent).toBeGreaterThan(20);
    expect(rate.reason).toMatch(/^informational/);
    expect(comparison.summary.degraded).toBe(worse.length);
    expect(Object.values(comparison.summary).reduce((a, b) => a + b, 0)).toBe(comparison.series.length);
    expect(comparison.series[0]!.verdict).toBe('degraded');

    // A window before the step: nothing degraded.
    const quiet = await compareBenchmark(restarted, 'baseline', {
      windowMillis: 10 * MINUTE * 1000,
      now: at(55),
    });
    expect(quiet.summary.degraded).toBe(0);
    expect(quiet.summary.stable).toBe(7);
    // Three minutes hold three values per series: too few for a verdict.
    const short = await compareBenchmark(restarted, 'baseline', {
      windowMillis: 3 * MINUTE * 1000,
      now: at(80),
    });
    expect(short.summary).toEqual({ degraded: 0, improved: 0, stable: 0, insufficient_data: 7 });
    expect(short.series[0]!.reason).toMatch(
      /^\d+ baseline and [0-3] current values; at least 5 on each side are needed$/,
    );
  });

  it('keeps names unique: re-creating needs replace, and a refused create changes nothing', async () => {
    await history();
    const first = await createBenchmark(store!, {
      name: 'release-1',
      durationMillis: 30 * MINUTE * 1000,
      now: at(60),
    });
    const error = await errorOf(createBenchmark(store!, { name: 'release-1', now: at(90) }));
    expect(error.code).toBe('PERFWATCH_BENCHMARK_EXISTS');
    expect(error.message).toMatch(/^name: a benchmark named "release-1" already exists .*--replace/);
    expect(await readBenchmark(store!, 'release-1')).toEqual(first);

    const replaced = await createBenchmark(store!, { name: 'release-1', replace: true, now: at(90) });
    expect(replaced.from.getTime()).toBe((T0 + 30 * MINUTE) * 1000);
    expect(await readBenchmark(store!, 'release-1')).toEqual(replaced);
    expect((await listBenchmarks(store!)).map((b) => b.name)).toEqual(['release-1']);
  });

  it('compares one service.version with another, and a benchmark with another benchmark', async () => {
    await history();
    const whole = { from: new Date(T0 * 1000), to: new Date((T0 + 90 * MINUTE) * 1000) };
    const v1 = await createBenchmark(store!, { name: 'v1', ...whole, version: '1.0.0', metrics: ['app.*'] });
    expect(v1.version).toBe('1.0.0');
    expect(v1.series.find((s) => s.metric === 'app.request.latency')!.stats.n).toBe(60);
    expect(v1.resources).toEqual([{ service: 'checkout', versions: ['1.0.0'], hosts: ['web-1'] }]);

    const byVersion = await compareBenchmark(store!, 'v1', { version: '1.1.0', now: at(90) });
    expect(byVersion.against).toMatchObject({ kind: 'version', version: '1.1.0' });
    expect(byVersion.against.from.getTime()).toBe((T0 + 60 * MINUTE) * 1000);
    const latency = byVersion.series.find((s) => s.metric === 'app.request.latency')!;
    expect(latency.verdict).toBe('degraded');
    expect(latency.current!.n).toBe(30);

    await createBenchmark(store!, { name: 'v2', ...whole, version: '1.1.0', metrics: ['app.*'] });
    const byBenchmark = await compareBenchmark(store!, 'v1', { with: 'v2' });
    expect(byBenchmark.against).toMatchObject({ kind: 'benchmark', name: 'v2', version: '1.1.0' });
    expect(byBenchmark.series.find((s) => s.metric === 'app.request.latency')!.verdict).toBe('degraded');
    // The other way round the same step is an improvement: the name given is the one used.
    const reverse = await compareBenchmark(store!, 'v2', { with: 'v1' });
    expect(reverse.benchmark.name).toBe('v2');
    expect(reverse.series.find((s) => s.metric === 'app.request.latency')!.verdict).toBe('improved');
  });

  it('refuses unknown names, empty windows, unknown services and versions, naming the field', async () => {
    await history();
    const unknown = await errorOf(compareBenchmark(store!, 'nope', { now: at(60) }));
    expect(unknown.code).toBe('PERFWATCH_BENCHMARK_NOT_FOUND');
    expect(unknown.message).toBe('name: no benchmark named "nope"; none has been created yet');

    const empty = await errorOf(createBenchmark(store!, { name: 'empty', now: at(-120) }));
    expect(empty.code).toBe('PERFWATCH_BENCHMARK_NO_DATA');
    expect(empty.message).toMatch(/^window: no data between .* and .*; nothing was stored$/);

    const service = await errorOf(
      createBenchmark(store!, { name: 'x', services: ['checkout', 'chekout'], now: at(60) }),
    );
    expect(service.message).toMatch(/for service\.name chekout; nothing was stored$/);
    expect(await listBenchmarks(store!)).toEqual([]);

    const badName = await errorOf(createBenchmark(store!, { name: 'a b', now: at(60) }));
    expect(badName.field).toBe('name');

    await createBenchmark(store!, { name: 'base', now: at(60) });
    const version = await errorOf(compareBenchmark(store!, 'base', { version: '9.9.9', now: at(90) }));
    expect(version.message).toBe('version: service.version "9.9.9" was never seen');
    await createBenchmark(store!, { name: 'coarse', stepSeconds: 300, now: at(60) });
    const steps = await errorOf(compareBenchmark(store!, 'base', { with: 'coarse' }));
    expect(steps.message).toBe(
      'with: "coarse" has 300 s buckets and "base" 60 s; benchmarks compare only with the same step (create one again with --step)',
    );
    const both = await errorOf(compareBenchmark(store!, 'base', { with: 'base', windowMillis: 60_000 }));
    expect(both.field).toBe('with');
    await deleteBenchmark(store!, 'base');
    expect((await listBenchmarks(store!)).map((b) => b.name)).toEqual(['coarse']);
    expect((await errorOf(deleteBenchmark(store!, 'base'))).code).toBe('PERFWATCH_BENCHMARK_NOT_FOUND');
  });

  it('captures the HTTP error rate (5xx or error.type over all requests) and finds it degraded', async () => {
    const dir = await tempDir();
    cleanups.push(dir.cleanup);
    store = await MetricStore.open(dir.file('history.duckdb'));
    // 60 minutes, 100 requests a minute: 2–3 % fail before minute 40 (5xx, or a client-side
    // error.type), 14–16 % after. Three series of the histogram, cumulative.
    const totals = { ok: 0, serverError: 0, timeout: 0 };
    const points = [];
    for (let i = 0; i < 60; i++) {
      const failing = i < 40 ? 2 + (i % 2) : 14 + (i % 3);
      totals.serverError += failing - 1;
      totals.timeout += 1;
      totals.ok += 100 - failing;
      for (const [attributes, count] of [
        [{ 'http.response.status_code': 200 }, totals.ok],
        [{ 'http.response.status_code': 503 }, totals.serverError],
        [{ 'http.response.status_code': 200, 'error.type': 'timeout' }, totals.timeout],
      ] as const) {
        points.push({
          metric: 'http.server.request.duration',
          kind: 'histogram' as const,
          unit: 's',
          time: T0 + i * MINUTE,
          startTime: T0 - 1,
          attributes,
          histogram: { bounds: [0.1, 1], counts: [count, 0, 0], sum: count * 0.05 },
          resource: { 'service.name': 'checkout' },
        });
      }
    }
    for (const collection of fixtureCollections(points)) await store.writeCollection(collection);

    const created = await createBenchmark(store, {
      name: 'errors',
      durationMillis: 30 * MINUTE * 1000,
      now: at(31),
    });
    const errorRate = created.series.find((s) => s.statistic === 'error_rate')!;
    expect(errorRate).toMatchObject({
      metric: 'http.server.request.duration',
      service: 'checkout',
      unit: '1',
    });
    expect(errorRate.stats.mean).toBeCloseTo(0.025, 3);
    expect(errorRate.overall).toBeCloseTo(0.025, 3);

    const later = await compareBenchmark(store, 'errors', { windowMillis: 15 * MINUTE * 1000, now: at(59) });
    const compared = later.series.find((s) => s.statistic === 'error_rate')!;
    expect(compared.metricClass).toBe('error_rate');
    expect(compared.verdict).toBe('degraded');
    expect(compared.current!.mean).toBeCloseTo(0.15, 2);
    const same = await compareBenchmark(store, 'errors', { windowMillis: 15 * MINUTE * 1000, now: at(38) });
    expect(same.series.find((s) => s.statistic === 'error_rate')!.verdict).toBe('stable');
  });
});
