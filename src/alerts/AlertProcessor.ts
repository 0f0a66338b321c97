import type { Counter, MeterProvider } from '@opentelemetry/api';
import { ShutdownError } from '../errors.js';
import type { Logger } from '../logging/Logger.js';
import { silentLogger } from '../logging/Logger.js';
import { RateLimitedWarning } from '../logging/RateLimitedWarning.js';
import {
  type AlertEventRecord,
  alertEventStatements,
  latestAlertEvents,
  type RuleStateUpdate,
} from '../store/alertEvents.js';
import type { Statement } from '../store/MetricStore.js';
import type { QueryRunner } from '../store/QueryRunner.js';
import type { RecentPoints } from '../store/RecentPoints.js';
import { SeriesMatchCache } from '../store/SeriesMatchCache.js';
import { PERFWATCH_VERSION } from '../version.js';
import type { AlertNotification, AlertNotifier } from './AlertNotifier.js';
import type { AlertRule } from './AlertRule.js';
import { alertNotification } from './alertNotification.js';
import {
  type AlertState,
  advance,
  INACTIVE,
  type SeriesState,
  type Transition,
  transitionOf,
} from './alertState.js';
import { evaluateRules, labelsKey, recentHorizonMillis } from './evaluateRule.js';

/** Where the processor reads the history and records transitions: the running MetricStore. */
export interface AlertStore extends QueryRunner {
  /** Runs statements in one transaction, in turn with collections (MetricStore.execute). */
  execute(statements: readonly Statement[]): Promise<void>;
  /** Holds the points of the series rules read in memory (MetricStore.keepRecentPoints). @default none */
  keepRecentPoints?(horizonMillis: number): Promise<RecentPoints>;
}

export interface AlertProcessorOptions {
  rules: readonly AlertRule[];
  store: AlertStore;
  /** Receivers (webhooks, Alertmanager); each queues and retries on its own. @default [] */
  notifiers?: readonly AlertNotifier[];
  /** Where `perfwatch.alerts.*` instruments are created. @default none (no self-metrics) */
  meterProvider?: MeterProvider;
  /** Evaluation clock, epoch ms. @default Date.now */
  now?: () => number;
  /** Lets queries skip inferring the interval from the data. @default inferred */
  collectionIntervalSeconds?: number;
  /** @default silentLogger */
  logger?: Logger;
}

/** One alert series as it stands now. */
export interface AlertStatus {
  readonly rule: string;
  readonly severity: AlertRule['severity'];
  readonly labels: Readonly<Record<string, string>>;
  readonly state: AlertState;
  readonly value: number | null;
  readonly activeAt: number | undefined;
  readonly firedAt: number | undefined;
}

export interface EvaluationSummary {
  readonly rules: number;
  readonly errors: number;
  readonly transitions: number;
}

interface TrackedSeries {
  labels: Readonly<Record<string, string>>;
  state: SeriesState;
  /** The evaluation that last stepped it (AlertProcessor.evaluations). */
  evaluated: number;
}

const STATE_ORDER: readonly AlertState[] = ['inactive', 'nodata', 'pending', 'firing'];
/** The placeholder series of a rule that has no data at all: its `nodata` must be visible too. */
const NO_GROUP = labelsKey({});

/**
 * Evaluates alert rules over the history after every collection (all rules' queries at once,
 * answered as queryTimeSeries answers them, from the store's recent points where it holds them),
 * tracks every alert series through inactive → pending → firing → resolved (and nodata), hands
 * firing and resolved alerts to the notifiers, then persists each transition. A failing rule or a
 * failing write is logged and counted; it never stops the other rules or collection.
 */
export class AlertProcessor {
  private rules: readonly AlertRule[];
  private readonly series = new Map<string, Map<string, TrackedSeries>>();
  private readonly now: () => number;
  private readonly logger: Logger;
  private readonly notifiers: readonly AlertNotifier[];
  private readonly errorWarning: RateLimitedWarning;
  private readonly evaluationErrors: Counter | undefined;
  private readonly matches = new SeriesMatchCache();
  private recent: RecentPoints | undefined;
  private chain: Promise<unknown> = Promise.resolve();
  private evaluations = 0;
  /** Per rule, the worst state and severity last written to alert_rule_state. */
  private readonly recordedSummaries = new Map<string, string>();
  /** Per rule, its answer's groups (the keys array) and their tracked series, in group order. */
  private readonly seriesByGroup = new Map<
    string,
    {
      keys: readonly string[];
      tracked: Map<string, TrackedSeries>;
      series: (TrackedSeries | undefined)[];
    }
  >();
  private stopped = false;

  private constructor(private readonly options: AlertProcessorOptions) {
    this.rules = options.rules.filter((rule) => rule.enabled);
    this.now = options.now ?? Date.now;
    this.logger = options.logger ?? silentLogger;
    this.notifiers = options.notifiers ?? [];
    this.errorWarning = new RateLimitedWarning(this.logger, 60_000, this.now);
    const meter = options.meterProvider?.getMeter('perfwatch', PERFWATCH_VERSION);
    this.evaluationErrors = meter?.createCounter('perfwatch.alerts.evaluation_errors', {
      unit: '{error}',
      description:
        'Failed alert evaluations: a rule query (stage=query; the rule keeps its state) or recording the transitions (stage=record).',
    });
    meter
      ?.createObservableGauge('perfwatch.alerts.active', {
        unit: '{alert}',
        description: 'Alert series firing now, per rule.',
      })
      .addCallback((result) => {
        for (const rule of this.rules) {
          let firing = 0;
          for (const tracked of this.series.get(rule.name)?.values() ?? []) {
            if (tracked.state.state === 'firing') firing++;
          }
          result.observe(firing, { alertname: rule.name, severity: rule.severity });
        }
      });
  }

  /**
   * A processor that resumes where the history left off: pending and firing alerts recorded
   * before a restart keep their `for` progress and start time.
   */
  static async create(options: AlertProcessorOptions): Promise<AlertProcessor> {
    const processor = new AlertProcessor(options);
    processor.recent = await options.store.keepRecentPoints?.(
      recentHorizonMillis(processor.rules, options.collectionIntervalSeconds),
    );
    const byName = new Map(processor.rules.map((rule) => [rule.name, rule]));
    for (const event of await latestAlertEvents(options.store)) {
      if (!byName.has(event.rule)) continue;
      const state: AlertState = event.state === 'resolved' ? 'inactive' : (event.state as AlertState);
      processor.track(event.rule).set(event.seriesKey, {
        evaluated: 0,
        labels: event.labels,
        state: {
          state,
          value: event.value,
          ...(state === 'pending' || state === 'firing' ? { activeAt: event.activeAt } : {}),
          ...(state === 'firing' ? { firedAt: event.firedAt } : {}),
        },
      });
    }
    return processor;
  }

  /**
   * Evaluates every enabled rule once at `now()` and hands what changed to the receivers; it
   * resolves then, while the transitions are written to the history (`flushHistory` waits for
   * that; the next evaluation starts after it). Evaluations never overlap. Failures of a rule, of
   * the history write or of a receiver are logged and counted, not raised (`errors` counts the
   * rules that failed): it rejects only after shutdown.
   */
  evaluate(): Promise<EvaluationSummary> {
    if (this.stopped) return Promise.reject(new ShutdownError('AlertProcessor'));
    const run = this.chain.then(() => this.evaluateAll());
    this.chain = run.then(({ recorded }) => recorded).catch(() => undefined);
    return run.then(({ summary }) => summary);
  }

  /** Resolves once the transitions of every evaluation so far are in the history (or failed). */
  async flushHistory(): Promise<void> {
    await this.chain;
  }

  /**
   * Evaluates `rules` from now on, in turn with evaluations. A rule whose name persists keeps its
   * alert series and their state (a pending alert keeps its `for` progress, a firing one keeps
   * firing until the new definition clears it). A rule removed or disabled drops its series: each
   * one that was not inactive gets an event (`resolved` when it was firing, else `inactive`) and
   * the notifiers are told of the resolved ones, so no receiver is left with an alert nothing
   * will ever resolve.
   */
  replaceRules(rules: readonly AlertRule[]): Promise<void> {
    if (this.stopped) return Promise.reject(new ShutdownError('AlertProcessor'));
    const run = this.chain.then(() => this.swapRules(rules));
    this.chain = run.catch(() => undefined);
    return run;
  }

  private async swapRules(rules: readonly AlertRule[]): Promise<void> {
    const now = this.now();
    const next = rules.filter((rule) => rule.enabled);
    const kept = new Set(next.map((rule) => rule.name));
    const events: AlertEventRecord[] = [];
    const ruleUpdates: RuleStateUpdate[] = [];
    const changed: AlertNotification[] = [];
    for (const rule of this.rules) {
      if (kept.has(rule.name)) continue;
      for (const [key, series] of this.series.get(rule.name) ?? []) {
        const from = series.state.state;
        if (from === 'inactive') continue;
        const event = from === 'firing' ? 'resolved' : 'inactive';
        events.push({
          time: now,
          rule: rule.name,
          seriesKey: key,
          labels: series.labels,
          state: event,
          previousState: from,
          value: series.state.value,
          severity: rule.severity,
          activeAt: undefined,
          firedAt: undefined,
        });
        if (from === 'firing')
          changed.push(alertNotification(rule, series.labels, series.state, 'resolved', now));
      }
      if (this.series.has(rule.name))
        ruleUpdates.push({
          rule: rule.name,
          state: 'inactive',
          severity: rule.severity,
          fired: 0,
          time: now,
        });
      this.series.delete(rule.name);
      this.seriesByGroup.delete(rule.name);
      this.recordedSummaries.delete(rule.name);
    }
    this.rules = next;
    this.recent?.extendHorizon(recentHorizonMillis(next, this.options.collectionIntervalSeconds));
    if (events.length > 0 || ruleUpdates.length > 0) {
      try {
        await this.options.store.execute(alertEventStatements(events, ruleUpdates));
      } catch (error) {
        this.evaluationErrors?.add(1, { stage: 'record' });
        this.errorWarning.warn(
          { err: error, events: events.length },
          'recording the removed rules’ alerts as resolved failed; they are not in the history',
        );
      }
    }
    this.notify(now, changed);
  }

  /** Every tracked alert series, by rule and labels. */
  statuses(): AlertStatus[] {
    return this.rules.flatMap((rule) =>
      [...(this.series.get(rule.name)?.values() ?? [])].map((tracked) => ({
        rule: rule.name,
        severity: rule.severity,
        labels: tracked.labels,
        state: tracked.state.state,
        value: tracked.state.value,
        activeAt: tracked.state.activeAt,
        firedAt: tracked.state.firedAt,
      })),
    );
  }

  async forceFlush(): Promise<void> {
    await this.chain;
    await Promise.all(this.notifiers.map((notifier) => notifier.forceFlush()));
  }

  /** Waits for a running evaluation, then delivers what is queued. Idempotent. */
  async shutdown(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    await this.chain;
    await Promise.all(this.notifiers.map((notifier) => notifier.shutdown()));
  }

  private track(rule: string): Map<string, TrackedSeries> {
    let map = this.series.get(rule);
    if (map === undefined) {
      map = new Map();
      this.series.set(rule, map);
    }
    return map;
  }

  private async evaluateAll(): Promise<{ summary: EvaluationSummary; recorded: Promise<void> }> {
    const now = this.now();
    const stamp = ++this.evaluations;
    const notify = this.notifiers.length > 0;
    const events: AlertEventRecord[] = [];
    const ruleUpdates: RuleStateUpdate[] = [];
    const changed: AlertNotification[] = [];
    let errors = 0;
    let answers: Awaited<ReturnType<typeof evaluateRules>>;
    try {
      answers = await evaluateRules(
        this.options.store,
        this.rules,
        now,
        this.options.collectionIntervalSeconds,
        this.matches,
        this.recent,
      );
    } catch (error) {
      // Not even the series catalog could be read: every rule keeps its state.
      answers = this.rules.map(() => (error instanceof Error ? error : new Error(String(error))));
    }
    for (const [i, rule] of this.rules.entries()) {
      const answer = answers[i]!;
      if (answer instanceof Error) {
        errors++;
        this.evaluationErrors?.add(1, { alertname: rule.name, stage: 'query' });
        this.errorWarning.warn(
          { err: answer, rule: rule.name },
          'alert rule evaluation failed; it keeps its state',
        );
        continue;
      }
      const tracked = this.track(rule.name);
      const { keys, labels, present, values } = answer;
      let hasData = false;
      let hasGroups = false;
      let noGroupPresent = false;
      for (let g = 0; g < keys.length; g++) {
        if (!present[g]) continue;
        hasGroups = true;
        hasData ||= !Number.isNaN(values[g]!);
        noGroupPresent ||= keys[g] === NO_GROUP;
      }
      let fired = 0;
      let ruleChanged = false;
      const record = (
        key: string,
        labels: Readonly<Record<string, string>>,
        state: SeriesState,
        transition: Transition,
      ) => {
        ruleChanged = true;
        if (transition.to === 'firing') fired++;
        events.push({
          time: now,
          rule: rule.name,
          seriesKey: key,
          labels,
          state: transition.event,
          previousState: transition.from,
          value: state.value,
          severity: rule.severity,
          activeAt: state.activeAt,
          firedAt: state.firedAt,
        });
      };
      // Data arrived for real groups: the rule-level "no data" placeholder has served its purpose.
      const placeholder = tracked.get(NO_GROUP);
      if (placeholder && hasData && !noGroupPresent) {
        tracked.delete(NO_GROUP);
        this.seriesByGroup.delete(rule.name);
        record(
          NO_GROUP,
          {},
          { state: 'inactive', value: null },
          { from: placeholder.state.state, to: 'inactive', event: 'inactive' },
        );
      }
      const step = (key: string, series: TrackedSeries, value: number | null) => {
        series.evaluated = stamp;
        const previous = series.state;
        const next = advance(rule, previous, value, now);
        series.state = next;
        const transition = transitionOf(previous, next);
        if (transition === undefined) return;
        record(key, series.labels, next, transition);
        if (!notify) return;
        if (transition.to === 'firing')
          changed.push(alertNotification(rule, series.labels, next, 'firing', now));
        else if (transition.from === 'firing') {
          changed.push(
            alertNotification(
              rule,
              series.labels,
              { ...previous, value: next.value },
              transition.to === 'nodata' ? 'nodata' : 'resolved',
              now,
            ),
          );
        }
      };
      // A rule without any data still has one alert series, to show its nodata.
      if (!hasGroups && tracked.size === 0) {
        const series: TrackedSeries = { labels: {}, state: INACTIVE, evaluated: 0 };
        tracked.set(NO_GROUP, series);
        step(NO_GROUP, series, null);
      }
      // Each group's alert series, looked up by key only when the rule's groups changed.
      let byGroup = this.seriesByGroup.get(rule.name);
      if (byGroup === undefined || byGroup.keys !== keys || byGroup.tracked !== tracked) {
        byGroup = { keys, tracked, series: new Array(keys.length) };
        this.seriesByGroup.set(rule.name, byGroup);
      }
      for (let g = 0; g < keys.length; g++) {
        if (!present[g]) continue;
        const key = keys[g]!;
        let series = byGroup.series[g];
        if (series === undefined) {
          series = tracked.get(key);
          if (series === undefined) {
            series = { labels: labels[g]!, state: INACTIVE, evaluated: 0 };
            tracked.set(key, series);
          }
          byGroup.series[g] = series;
        }
        const value = values[g]!;
        step(key, series, Number.isNaN(value) ? null : value);
      }
      // Series not in the answer have no data now.
      for (const [key, series] of tracked) if (series.evaluated !== stamp) step(key, series, null);
      if (ruleChanged) {
        // The rule's summary changes when it fired again or its worst state (or severity) changed,
        // not with every transition of one of its series.
        const state = this.worstState(tracked);
        const summary = `${state}:${rule.severity}`;
        if (fired > 0 || this.recordedSummaries.get(rule.name) !== summary) {
          ruleUpdates.push({ rule: rule.name, state, severity: rule.severity, fired, time: now });
          this.recordedSummaries.set(rule.name, summary);
        }
      }
    }
    // Receivers first: a slow or failing history write delays no alert.
    this.notify(now, changed);
    const recorded = events.length > 0 ? this.record(events, ruleUpdates) : Promise.resolve();
    return { summary: { rules: this.rules.length, errors, transitions: events.length }, recorded };
  }

  /** Writes an evaluation's transitions and rule summaries; a failure is logged and counted. */
  private async record(events: readonly AlertEventRecord[], ruleUpdates: readonly RuleStateUpdate[]) {
    try {
      await this.options.store.execute(alertEventStatements(events, ruleUpdates));
    } catch (error) {
      // Not recorded: the next evaluation writes every changed rule's summary again.
      this.recordedSummaries.clear();
      this.evaluationErrors?.add(1, { stage: 'record' });
      this.errorWarning.warn(
        { err: error, events: events.length },
        'recording alert transitions failed; they are not in the history',
      );
    }
  }

  /** Hands the receivers what changed and every alert firing now. */
  private notify(now: number, changed: readonly AlertNotification[]): void {
    if (this.notifiers.length === 0) return;
    const firing = this.rules.flatMap((rule) =>
      [...(this.series.get(rule.name)?.values() ?? [])]
        .filter((tracked) => tracked.state.state === 'firing')
        .map((tracked) => alertNotification(rule, tracked.labels, tracked.state, 'firing', now)),
    );
    for (const notifier of this.notifiers) {
      try {
        notifier.send({ now, changed, firing });
      } catch (error) {
        this.errorWarning.warn(
          { err: error, receiver: notifier.name },
          'handing alerts to a receiver failed',
        );
      }
    }
  }

  private worstState(tracked: Map<string, TrackedSeries>): AlertState {
    let worst = 0;
    for (const series of tracked.values()) worst = Math.max(worst, STATE_ORDER.indexOf(series.state.state));
    return STATE_ORDER[worst]!;
  }
}
