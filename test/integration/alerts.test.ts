import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AlertProcessor } from '../../src/alerts/AlertProcessor.js';
import { parseRules } from '../../src/alerts/parseRules.js';
import { alertEventsSince, latestAlertEvents, ruleStates } from '../../src/store/alertEvents.js';
import { MetricStore } from '../../src/store/MetricStore.js';
import { captureLogger } from '../helpers/captureLogger.js';
import { type FixturePoint, fixtureCollections } from '../helpers/fixtureCollection.js';
import { recordingNotifier } from '../helpers/recordingNotifier.js';
import { tempDir } from '../helpers/tempDir.js';

const T0 = 1_800_000_000; // seconds; collections every 30 s from here

const RULES = parseRules(`
rules:
  - name: QueueBacklog
    selector: { metric: app.queue.depth, where: { service.name: fixture } }
    aggregation: avg
    window: 30s
    group_by: [queue]
    comparison: '>'
    threshold: 100
    clear_threshold: 80
    for: 1m
    severity: critical
    labels: { team: ops }
    annotations: { summary: 'queue {{ $labels.queue }} holds {{ $value }}' }
  - name: ErrorRate
    ratio:
      numerator: { metric: http.server.request.duration, matchers: ['http.response.status_code=~5..'] }
      denominator: { metric: http.server.request.duration }
    window: 1m
    comparison: '>'
    threshold: 0.05
  - name: Missing
    selector: { metric: not.recorded }
    comparison: '>'
    threshold: 0
  - name: Broken
    selector: { metric: app.queue.depth }
    aggregation: rate
    comparison: '>'
    threshold: 0
`);

function queuePoints(time: number, emails: number, sms: number): FixturePoint[] {
  return [
    { metric: 'app.queue.depth', kind: 'gauge', time, value: emails, attributes: { queue: 'emails' } },
    { metric: 'app.queue.depth', kind: 'gauge', time, value: sms, attributes: { queue: 'sms' } },
  ];
}

/** Cumulative request counts per status code at `time`, as one histogram per status. */
function requestPoints(time: number, ok: number, failed: number): FixturePoint[] {
  const point = (status: number, count: number): FixturePoint => ({
    metric: 'http.server.request.duration',
    kind: 'histogram',
    unit: 's',
    time,
    attributes: { 'http.response.status_code': status },
    histogram: { bounds: [0.1, 1], counts: [count, 0, 0], sum: count * 0.05 },
  });
  return [point(200, ok), point(500, failed)];
}

describe('alert evaluation over a real history file', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let store: MetricStore;
  let now: number;

  beforeEach(async () => {
    dir = await tempDir();
    store = await MetricStore.open(dir.file('history.duckdb'));
  });
  afterEach(async () => {
    await store.close();
    await dir.cleanup();
  });

  async function collect(store: MetricStore, points: FixturePoint[]): Promise<void> {
    for (const collection of fixtureCollections(points)) await store.writeCollection(collection);
    now = points[0]!.time * 1000;
  }

  it('moves per-series alerts through pending, firing and resolved, persisting every transition', async () => {
    const logger = captureLogger();
    const notifier = recordingNotifier();
    const processor = await AlertProcessor.create({
      rules: RULES,
      store,
      notifiers: [notifier],
      now: () => now,
      logger,
      collectionIntervalSeconds: 30,
    });
    const depths: [number, number][] = [
      [50, 10], // t0: both inactive
      [150, 10], // t30: emails pending
      [160, 10], // t60: pending for 30 s
      [170, 10], // t90: pending for 60 s → firing
      [90, 10], // t120: below 100 but above the clear threshold 80: still firing
      [70, 10], // t150: below 80 → resolved
    ];
    const states: string[] = [];
    for (const [i, [emails, sms]] of depths.entries()) {
      const t = T0 + i * 30;
      await collect(store, [...queuePoints(t, emails, sms), ...requestPoints(t, 100 * i, 10 * i)]);
      const summary = await processor.evaluate();
      expect(summary.errors).toBe(1); // Broken: rate of a gauge, every time
      states.push(
        processor.statuses().find((s) => s.rule === 'QueueBacklog' && s.labels.queue === 'emails')!.state,
      );
    }
    expect(states).toEqual(['inactive', 'pending', 'pending', 'firing', 'firing', 'inactive']);
    expect(processor.statuses().find((s) => s.labels.queue === 'sms')!.state).toBe('inactive');
    expect(logger.entries.some((e) => e.message.includes('alert rule evaluation failed'))).toBe(true);

    await processor.flushHistory();
    const events = await alertEventsSince(store, new Date(T0 * 1000), 'QueueBacklog');
    expect(events.map((e) => [e.time / 1000 - T0, e.labels, e.previousState, e.state, e.value])).toEqual([
      [30, { queue: 'emails' }, 'inactive', 'pending', 150],
      [90, { queue: 'emails' }, 'pending', 'firing', 170],
      [150, { queue: 'emails' }, 'firing', 'resolved', 70],
    ]);
    const [queueRule] = (await ruleStates(store)).filter((r) => r.rule === 'QueueBacklog');
    expect(queueRule).toMatchObject({ state: 'inactive', severity: 'critical', triggerCount: 1 });
    expect(queueRule!.lastTriggered).toEqual(new Date((T0 + 90) * 1000));

    // Firing at t90, resolved at t150: one notification each, with templates filled in.
    const changed = notifier.batches.flatMap((b) =>
      b.changed.filter((a) => a.labels.alertname === 'QueueBacklog'),
    );
    expect(changed.map((a) => [a.status, a.labels, a.annotations.summary, a.startsAt, a.endsAt])).toEqual([
      [
        'firing',
        { queue: 'emails', team: 'ops', alertname: 'QueueBacklog', severity: 'critical' },
        'queue emails holds 170',
        (T0 + 90) * 1000,
        undefined,
      ],
      [
        'resolved',
        { queue: 'emails', team: 'ops', alertname: 'QueueBacklog', severity: 'critical' },
        'queue emails holds 70',
        (T0 + 90) * 1000,
        (T0 + 150) * 1000,
      ],
    ]);
  });

  it('computes an error-rate ratio from histogram counts and reports missing metrics as nodata', async () => {
    const processor = await AlertProcessor.create({
      rules: RULES,
      store,
      now: () => now,
      collectionIntervalSeconds: 30,
    });
    // 10 % of requests fail from the second collection on.
    for (let i = 0; i < 4; i++) {
      const t = T0 + i * 30;
      await collect(store, [...queuePoints(t, 0, 0), ...requestPoints(t, 90 * i, 10 * i)]);
      await processor.evaluate();
    }
    const byRule = Object.fromEntries(processor.statuses().map((s) => [s.rule, s]));
    expect(byRule.ErrorRate).toMatchObject({ state: 'firing', labels: {} });
    expect(byRule.ErrorRate!.value).toBeCloseTo(0.1, 10);
    expect(byRule.Missing).toMatchObject({ state: 'nodata', value: null, labels: {} });
    await processor.flushHistory();
    const latest = await latestAlertEvents(store);
    expect(latest.find((e) => e.rule === 'Missing')).toMatchObject({
      state: 'nodata',
      previousState: 'inactive',
    });
  });

  it('resumes firing alerts after a restart without firing them again', async () => {
    const path = store.path;
    const first = await AlertProcessor.create({
      rules: RULES,
      store,
      now: () => now,
      collectionIntervalSeconds: 30,
    });
    for (let i = 0; i < 4; i++) {
      await collect(store, queuePoints(T0 + i * 30, 200, 0));
      await first.evaluate();
    }
    await first.shutdown();
    await store.close();

    store = await MetricStore.open(path);
    const second = await AlertProcessor.create({
      rules: RULES,
      store,
      now: () => now,
      collectionIntervalSeconds: 30,
    });
    const emails = () =>
      second.statuses().find((s) => s.rule === 'QueueBacklog' && s.labels.queue === 'emails');
    expect(emails()).toMatchObject({ state: 'firing', activeAt: T0 * 1000, firedAt: (T0 + 60) * 1000 });
    await collect(store, queuePoints(T0 + 120, 200, 0));
    await second.evaluate();
    expect(emails()!.state).toBe('firing');
    await second.flushHistory();
    const [queueRule] = (await ruleStates(store)).filter((r) => r.rule === 'QueueBacklog');
    expect(queueRule!.triggerCount).toBe(1);
  });
});
