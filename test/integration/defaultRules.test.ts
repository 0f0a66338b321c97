import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AlertProcessor } from '../../src/alerts/AlertProcessor.js';
import { loadRulesFile } from '../../src/alerts/parseRules.js';
import { DEFAULT_RULES_PATH } from '../../src/alerts/startAlerting.js';
import { MetricStore } from '../../src/store/MetricStore.js';
import { captureLogger } from '../helpers/captureLogger.js';
import { type FixturePoint, fixtureCollections } from '../helpers/fixtureCollection.js';
import { tempDir } from '../helpers/tempDir.js';

const T0 = 1_800_000_000;
const BOUNDS = [0.5, 1, 2.5, 5, 10];

/** One collection of an overloaded host and service, in the metric names perfwatch records. */
function overloaded(i: number): FixturePoint[] {
  const time = T0 + i * 30;
  const requests = (status: number, count: number): FixturePoint => ({
    metric: 'http.server.request.duration',
    kind: 'histogram',
    unit: 's',
    time,
    attributes: { 'http.request.method': 'GET', 'http.response.status_code': status },
    // Every request between 2.5 and 5 s: p95 interpolates to 4.875 s (above 1 s, below 5 s).
    histogram: { bounds: BOUNDS, counts: [0, 0, 0, count, 0, 0], sum: count * 3 },
  });
  return [
    ...[0, 1].flatMap((cpu): FixturePoint[] => [
      {
        metric: 'system.cpu.utilization',
        kind: 'gauge',
        time,
        value: 0.05,
        attributes: { 'system.cpu.logical_number': cpu, 'system.cpu.state': 'idle' },
      },
      {
        metric: 'system.cpu.utilization',
        kind: 'gauge',
        time,
        value: 0.9,
        attributes: { 'system.cpu.logical_number': cpu, 'system.cpu.state': 'user' },
      },
    ]),
    {
      metric: 'system.memory.utilization',
      kind: 'gauge',
      time,
      value: 0.97,
      attributes: { 'system.memory.state': 'used' },
    },
    {
      metric: 'system.memory.utilization',
      kind: 'gauge',
      time,
      value: 0.03,
      attributes: { 'system.memory.state': 'free' },
    },
    {
      metric: 'system.filesystem.utilization',
      kind: 'gauge',
      time,
      value: 0.96,
      attributes: { 'system.filesystem.mountpoint': '/' },
    },
    { metric: 'nodejs.eventloop.delay.p99', kind: 'gauge', unit: 's', time, value: 0.2 },
    requests(200, 90 * i),
    requests(500, 10 * i),
    {
      metric: 'perfwatch.regressions.active',
      kind: 'gauge',
      time,
      value: 1,
      attributes: { severity: 'critical', service: 'checkout' },
    },
    {
      metric: 'perfwatch.regressions.active',
      kind: 'gauge',
      time,
      value: 2,
      attributes: { severity: 'warning', service: 'search' },
    },
  ];
}

describe('the shipped default rules', () => {
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

  it('fire on an overloaded host and service, after their `for`, with the group labels', async () => {
    let now = 0;
    const logger = captureLogger();
    const processor = await AlertProcessor.create({
      rules: await loadRulesFile(DEFAULT_RULES_PATH),
      store,
      now: () => now,
      logger,
      collectionIntervalSeconds: 30,
    });
    const firingAt: Record<string, number> = {};
    for (let i = 0; i <= 12; i++) {
      for (const collection of fixtureCollections(overloaded(i))) await store.writeCollection(collection);
      now = (T0 + i * 30) * 1000;
      expect((await processor.evaluate()).errors).toBe(0);
      for (const status of processor.statuses()) {
        if (status.state === 'firing') firingAt[status.rule] ??= now / 1000 - T0;
      }
    }
    expect(logger.entries.filter((e) => e.level === 'warn')).toEqual([]);
    expect(firingAt).toEqual({
      PerfwatchRegression: 0,
      DiskSpaceCritical: 60,
      HighCpuUsage: 300,
      HighMemoryUsage: 300,
      DiskSpaceWarning: 300,
      EventLoopDelayHigh: 300,
      // Rates and histogram quantiles need a predecessor: their first value comes at 30 s.
      HttpLatencyHigh: 330,
      HttpErrorRateHigh: 330,
    });
    const byRule = Object.fromEntries(processor.statuses().map((s) => [s.rule, s]));
    expect(byRule.HighCpuUsage).toMatchObject({ labels: { 'host.name': 'fixture-host' }, value: 0.05 });
    expect(byRule.DiskSpaceCritical!.labels).toEqual({
      'host.name': 'fixture-host',
      'system.filesystem.mountpoint': '/',
    });
    expect(byRule.HttpLatencyHigh).toMatchObject({ labels: { 'service.name': 'fixture' }, value: 4.875 });
    expect(byRule.HttpLatencyCritical).toMatchObject({ state: 'inactive', value: 4.875 });
    expect(byRule.HttpErrorRateHigh!.value).toBeCloseTo(0.1, 10);
    expect(byRule.EventLoopDelayHigh!.labels).toEqual({ 'service.name': 'fixture' });
    expect(processor.statuses().filter((s) => s.rule === 'PerfwatchRegression')).toMatchObject([
      { labels: { service: 'checkout' }, value: 1 },
    ]);
  });
});
