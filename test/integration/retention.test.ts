import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { PeriodicTask } from '../../src/scheduling/PeriodicTask.js';
import {
  type AlertEventRecord,
  alertEventStatements,
  latestAlertEvents,
  ruleStates,
} from '../../src/store/alertEvents.js';
import { MetricStore } from '../../src/store/MetricStore.js';
import {
  listRegressions,
  type RegressionRecord,
  saveRegressions,
} from '../../src/store/regressionRecords.js';
import { captureLogger } from '../helpers/captureLogger.js';
import { type FixturePoint, fixtureCollections } from '../helpers/fixtureCollection.js';
import { manualScheduler } from '../helpers/manualScheduler.js';
import { tempDir } from '../helpers/tempDir.js';

const DAY = 86_400;
const T0 = 1_790_000_000;
/** The tests' wall clock, a day after the fixture's last point: rollups never pass the clock. */
const NOW = (T0 + 5 * DAY) * 1000;

let dir: Awaited<ReturnType<typeof tempDir>>;
let store: MetricStore;

/** `old` has points on day 0 only; `live` every 6 hours over days 0–3; one histogram too. */
function fixture(): FixturePoint[] {
  const points: FixturePoint[] = [];
  for (let hour = 0; hour < 24; hour += 6) {
    points.push({ metric: 'old.gauge', kind: 'gauge', time: T0 + hour * 3600, value: hour });
  }
  for (let hour = 0; hour < 96; hour += 6) {
    points.push({ metric: 'live.counter', kind: 'counter', time: T0 + hour * 3600, value: hour });
    points.push({
      metric: 'live.latency',
      kind: 'histogram',
      time: T0 + hour * 3600,
      histogram: { bounds: [1], counts: [hour, 1], sum: hour },
    });
  }
  return points;
}

beforeEach(async () => {
  dir = await tempDir();
  store = await MetricStore.open(dir.file('h.duckdb'), { lastSeenGranularityMillis: 0 });
  for (const collection of fixtureCollections(fixture())) await store.writeCollection(collection);
});
afterEach(async () => {
  await store.close();
  await dir.cleanup();
});

const count = async (sql: string) => Number((await store.query(sql))[0]?.n);

describe('MetricStore.deleteBefore', () => {
  it('removes exactly the points before the cut-off and the series left without points', async () => {
    const cutoff = new Date((T0 + 2 * DAY) * 1000);
    const expectedPoints =
      4 + // all of old.gauge
      8 * 2; // live.counter and live.latency at hours 0, 6, …, 42
    // Rollups outlive raw points; here they go too, so old.gauge is left with nothing.
    const summary = await store.deleteBefore(cutoff, {
      sliceMillis: 6 * 3_600_000,
      rollupCutoff: cutoff,
      nowMillis: NOW,
    });
    expect(summary.deletedPoints).toBe(expectedPoints);
    expect(summary.deletedRollups).toBeGreaterThan(0);
    expect(summary.deletedSeries).toBe(1);
    expect(summary.batches).toBe(8); // 48 h in 6 h slices

    expect(
      await count(`SELECT count(*) AS n FROM points_number WHERE time < to_timestamp(${T0 + 2 * DAY})`),
    ).toBe(0);
    expect(await count('SELECT count(*) AS n FROM points_number')).toBe(8);
    expect(await count('SELECT count(*) AS n FROM points_histogram')).toBe(8);
    expect(
      (await store.query('SELECT metric_name FROM series ORDER BY 1')).map((r) => r.metric_name),
    ).toEqual(['live.counter', 'live.latency']);
  });

  it('re-inserts a deleted series with the same id when it reports again', async () => {
    const [before] = await store.query(`SELECT series_id FROM series WHERE metric_name = 'old.gauge'`);
    await store.deleteBefore(new Date((T0 + 2 * DAY) * 1000), {
      rollupCutoff: new Date((T0 + 2 * DAY) * 1000),
      nowMillis: NOW,
    });
    for (const collection of fixtureCollections([
      { metric: 'old.gauge', kind: 'gauge', time: T0 + 4 * DAY, value: 1 },
    ])) {
      await store.writeCollection(collection);
    }
    const rows = await store.query(
      `SELECT series_id, Value AS v FROM series JOIN otel_metrics_gauge ON SeriesId = series_id`,
    );
    expect(rows).toEqual([{ series_id: before?.series_id, v: 1 }]);
  });

  it('does nothing on an empty history or when everything is newer', async () => {
    const summary = await store.deleteBefore(new Date((T0 - DAY) * 1000), { nowMillis: NOW });
    expect(summary).toMatchObject({ deletedPoints: 0, deletedRollups: 0, deletedSeries: 0, batches: 0 });
  });
});

describe('retention of analysis records', () => {
  const at = (days: number) => (T0 + days * DAY) * 1000;
  const event = (
    rule: string,
    series: string,
    days: number,
    state: string,
    previousState: string,
  ): AlertEventRecord => ({
    time: at(days),
    rule,
    seriesKey: series,
    labels: { queue: series },
    state,
    previousState,
    value: 1,
    severity: 'warning',
    activeAt: undefined,
    firedAt: undefined,
  });
  const regression = (id: string, status: 'open' | 'resolved', resolvedDays: number | null) => {
    const window = {
      from: new Date(at(0)),
      to: new Date(at(0.5)),
      n: 10,
      mean: 1,
      median: 1,
      stddev: 0,
      p95: 1,
    };
    return {
      id,
      seriesKey: id,
      metric: 'live.counter',
      statistic: 'rate',
      unit: '1',
      service: null,
      labels: {},
      metricClass: 'other',
      kind: 'regression',
      severity: 'warning',
      status,
      direction: 'up',
      changeTime: new Date(at(0.5)),
      versionBefore: null,
      versionAfter: null,
      baseline: window,
      current: window,
      absoluteChange: 1,
      relativeChange: 1,
      effectLow: 0.5,
      effectHigh: 1.5,
      effectKind: 'relative',
      minEffect: 0.1,
      pValue: 0.001,
      test: 'mann-whitney',
      explanation: 'x',
      distribution: null,
      firstSeen: new Date(at(0.5)),
      lastSeen: new Date(at(1)),
      resolvedAt: resolvedDays === null ? null : new Date(at(resolvedDays)),
    } as unknown as RegressionRecord;
  };

  it('prunes alert transitions and resolved regressions before the cut-off; current alert states, trigger counts and open regressions stay', async () => {
    await store.execute(
      alertEventStatements(
        [
          // emails: fired and resolved long ago — all of it goes.
          event('Backlog', 'emails', 0, 'pending', 'inactive'),
          event('Backlog', 'emails', 0.1, 'firing', 'pending'),
          event('Backlog', 'emails', 0.5, 'resolved', 'firing'),
          // sms: firing since day 0 — its latest event stays (a restart resumes from it).
          event('Backlog', 'sms', 0, 'pending', 'inactive'),
          event('Backlog', 'sms', 0.2, 'firing', 'pending'),
          // push: recent transitions stay whatever they are.
          event('Backlog', 'push', 2.5, 'firing', 'inactive'),
          event('Backlog', 'push', 3, 'resolved', 'firing'),
        ],
        [{ rule: 'Backlog', state: 'firing', severity: 'warning', fired: 3, time: at(3) }],
      ),
    );
    await saveRegressions(store, [
      regression('old-resolved', 'resolved', 1),
      regression('recent-resolved', 'resolved', 2.5),
      regression('old-open', 'open', null),
    ]);
    const summary = await store.deleteBefore(new Date(at(2)), { nowMillis: NOW });
    expect(summary).toMatchObject({ deletedAlertEvents: 4, deletedRegressions: 1 });
    const left = await store.query('SELECT series_key, state FROM alert_events ORDER BY event_id');
    expect(left).toEqual([
      { series_key: 'sms', state: 'firing' },
      { series_key: 'push', state: 'firing' },
      { series_key: 'push', state: 'resolved' },
    ]);
    expect((await latestAlertEvents(store)).map((e) => [e.seriesKey, e.state])).toEqual([
      ['push', 'resolved'],
      ['sms', 'firing'],
    ]);
    expect(await ruleStates(store)).toMatchObject([{ rule: 'Backlog', triggerCount: 3 }]);
    expect((await listRegressions(store, { since: new Date(0) })).map((r) => r.id).sort()).toEqual([
      'old-open',
      'recent-resolved',
    ]);
  });
});

describe('retention and rollups', () => {
  it('rolls up before deleting, so no raw minute is lost from the rollup history', async () => {
    const summary = await store.deleteBefore(new Date((T0 + 2 * DAY) * 1000), { nowMillis: NOW });
    expect(summary.rolledUp).toBeGreaterThan(0);
    const rollups = await store.query(
      `SELECT count(*) AS n FROM rollup_number_1m r JOIN series s USING (series_ref) WHERE s.metric_name = 'old.gauge'`,
    );
    expect(rollups).toEqual([{ n: 4n }]);
    expect(await count(`SELECT count(*) AS n FROM series WHERE metric_name = 'old.gauge'`)).toBe(1);
  });

  it('jumps over gaps instead of walking every empty hour', async () => {
    for (const collection of fixtureCollections([
      { metric: 'ancient', kind: 'gauge', time: 1_000_000_000, value: 1 },
    ])) {
      await store.writeCollection(collection);
    }
    const summary = await store.deleteBefore(new Date((T0 + DAY) * 1000), { nowMillis: NOW });
    expect(summary.batches).toBeLessThan(20); // not the ~220,000 hours since 2001
    expect(await count(`SELECT count(*) AS n FROM points_number WHERE time < to_timestamp(${T0})`)).toBe(0);
  });
});

describe('scheduled retention', () => {
  it('applies the retention period on each scheduled run, with an injected clock', async () => {
    const scheduler = manualScheduler();
    const logger = captureLogger();
    const now = () => (T0 + 4 * DAY) * 1000;
    const task = new PeriodicTask({
      name: 'retention',
      intervalMillis: 3_600_000,
      run: () => store.deleteBefore(new Date(now() - 2 * DAY * 1000), { nowMillis: now() }),
      scheduler,
      logger,
    });
    task.start();
    expect(scheduler.tasks).toBe(1);
    scheduler.tick();
    const summary = await task.runNow(); // joins the run the tick started
    expect(summary?.deletedPoints).toBe(20);
    await task.shutdown();
    expect(scheduler.tasks).toBe(0);
  });
});
