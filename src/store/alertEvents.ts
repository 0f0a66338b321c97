import { TIMESTAMP, timestampValue, VARCHAR } from '@duckdb/node-api';
import type { Statement } from './MetricStore.js';
import type { QueryRunner } from './QueryRunner.js';

/** One persisted alert transition. Times are epoch milliseconds. */
export interface AlertEventRecord {
  readonly time: number;
  readonly rule: string;
  readonly seriesKey: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly state: string;
  readonly previousState: string;
  readonly value: number | null;
  readonly severity: string;
  readonly activeAt: number | undefined;
  readonly firedAt: number | undefined;
}

/** A rule's summary after an evaluation that changed it; `fired` is how often it started firing then. */
export interface RuleStateUpdate {
  readonly rule: string;
  readonly state: string;
  readonly severity: string;
  readonly fired: number;
  readonly time: number;
}

export interface RuleStateRecord {
  readonly rule: string;
  readonly state: string;
  readonly severity: string;
  readonly triggerCount: number;
  readonly lastTriggered: Date | null;
  readonly updatedAt: Date;
}

/** Epoch microseconds, as `make_timestamp` takes them. */
const micros = (millis: number) => BigInt(Math.round(millis)) * 1000n;

/** The JSON structure of alertEventStatements' rows, for from_json. */
const EVENT_JSON_TYPE = JSON.stringify({
  t: 'BIGINT',
  r: 'VARCHAR',
  k: 'VARCHAR',
  lk: 'VARCHAR[]',
  lv: 'VARCHAR[]',
  s: 'VARCHAR',
  ps: 'VARCHAR',
  v: 'VARCHAR',
  sev: 'VARCHAR',
  a: 'BIGINT',
  f: 'BIGINT',
});

/** The JSON structure of alertEventStatements' rule summaries, for from_json. */
const RULE_JSON_TYPE = JSON.stringify({
  r: 'VARCHAR',
  s: 'VARCHAR',
  sev: 'VARCHAR',
  n: 'UBIGINT',
  t: 'BIGINT',
});

/**
 * The statements (for MetricStore.execute, one transaction) that append transitions and upsert
 * the rule summaries, each one statement over a JSON text: a first evaluation over many series
 * records thousands of transitions, and one INSERT per row would take seconds.
 */
export function alertEventStatements(
  events: readonly AlertEventRecord[],
  rules: readonly RuleStateUpdate[],
): Statement[] {
  const statements: Statement[] = [];
  if (events.length > 0) {
    // One JSON text rather than list parameters: binding converts each list element on its own
    // (about 10 µs each, 11 per event), while DuckDB parses the text in one pass. Values travel
    // as text so that infinities survive.
    const rows = events.map((e) => ({
      t: Math.round(e.time) * 1000,
      r: e.rule,
      k: e.seriesKey,
      lk: Object.keys(e.labels),
      lv: Object.values(e.labels),
      s: e.state,
      ps: e.previousState,
      v: e.value === null ? null : String(e.value),
      sev: e.severity,
      a: e.activeAt === undefined ? null : Math.round(e.activeAt) * 1000,
      f: e.firedAt === undefined ? null : Math.round(e.firedAt) * 1000,
    }));
    statements.push({
      sql: `INSERT INTO alert_events (time, rule, series_key, labels, state, previous_state, value, severity, active_at, fired_at)
       SELECT make_timestamp(e.t), e.r, e.k, map(e.lk, e.lv), e.s, e.ps, e.v::DOUBLE, e.sev,
              make_timestamp(e.a), make_timestamp(e.f)
       FROM (SELECT unnest(from_json($1, '[${EVENT_JSON_TYPE}]')) AS e)`,
      params: [JSON.stringify(rows)],
      types: [VARCHAR],
    });
  }
  if (rules.length > 0) {
    const rows = rules.map((rule) => ({
      r: rule.rule,
      s: rule.state,
      sev: rule.severity,
      n: rule.fired,
      t: Math.round(rule.time) * 1000,
    }));
    statements.push({
      sql: `INSERT INTO alert_rule_state (rule, state, severity, trigger_count, last_triggered, updated_at)
       SELECT e.r, e.s, e.sev, e.n, CASE WHEN e.n > 0 THEN make_timestamp(e.t) END, make_timestamp(e.t)
       FROM (SELECT unnest(from_json($1, '[${RULE_JSON_TYPE}]')) AS e)
       ON CONFLICT (rule) DO UPDATE SET
         state = excluded.state,
         severity = excluded.severity,
         trigger_count = alert_rule_state.trigger_count + excluded.trigger_count,
         last_triggered = coalesce(excluded.last_triggered, alert_rule_state.last_triggered),
         updated_at = excluded.updated_at`,
      params: [JSON.stringify(rows)],
      types: [VARCHAR],
    });
  }
  return statements;
}

/** The latest event of every alert series: its current state (and, after a restart, where to resume). */
export async function latestAlertEvents(db: QueryRunner): Promise<AlertEventRecord[]> {
  const rows = await db.query(
    `SELECT epoch_ms(time) AS time, rule, series_key, labels, state, previous_state, value, severity,
            epoch_ms(active_at) AS active_at, epoch_ms(fired_at) AS fired_at
     FROM alert_events
     QUALIFY row_number() OVER (PARTITION BY rule, series_key ORDER BY event_id DESC) = 1
     ORDER BY rule, series_key`,
  );
  return rows.map(toEvent);
}

/** Events at or after `since`, oldest first, optionally of one rule. */
export async function alertEventsSince(
  db: QueryRunner,
  since: Date,
  rule?: string,
): Promise<AlertEventRecord[]> {
  const rows = await db.query(
    `SELECT epoch_ms(time) AS time, rule, series_key, labels, state, previous_state, value, severity,
            epoch_ms(active_at) AS active_at, epoch_ms(fired_at) AS fired_at
     FROM alert_events
     WHERE time >= $1 AND ($2::VARCHAR IS NULL OR rule = $2)
     ORDER BY event_id`,
    [timestampValue(micros(since.getTime())), rule ?? null],
    [TIMESTAMP, VARCHAR],
  );
  return rows.map(toEvent);
}

/** Every rule's summary (worst state, trigger count, last triggered), by name. */
export async function ruleStates(db: QueryRunner): Promise<RuleStateRecord[]> {
  const rows = await db.query(
    'SELECT rule, state, severity, trigger_count, last_triggered, updated_at FROM alert_rule_state ORDER BY rule',
  );
  return rows.map((row) => ({
    rule: String(row.rule),
    state: String(row.state),
    severity: String(row.severity),
    triggerCount: Number(row.trigger_count),
    lastTriggered: (row.last_triggered ?? null) as Date | null,
    updatedAt: row.updated_at as Date,
  }));
}

function toEvent(row: Record<string, unknown>): AlertEventRecord {
  const optional = (value: unknown) => (value === null || value === undefined ? undefined : Number(value));
  return {
    time: Number(row.time),
    rule: String(row.rule),
    seriesKey: String(row.series_key),
    labels: (row.labels ?? {}) as Record<string, string>,
    state: String(row.state),
    previousState: String(row.previous_state),
    value: (row.value ?? null) as number | null,
    severity: String(row.severity),
    activeAt: optional(row.active_at),
    firedAt: optional(row.fired_at),
  };
}
