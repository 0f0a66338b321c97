import {
  DOUBLE,
  type DuckDBConnection,
  LIST,
  listValue,
  TIMESTAMP,
  timestampValue,
  UBIGINT,
  VARCHAR,
} from '@duckdb/node-api';
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

const micros = (millis: number) => timestampValue(BigInt(Math.round(millis)) * 1000n);
const optionalMicros = (millis: number | undefined) => (millis === undefined ? null : micros(millis));

/**
 * Appends transitions and upserts the rule summaries on the writer connection; the caller (the
 * store) wraps it in its write serialisation and a transaction.
 */
export async function insertAlertEvents(
  connection: DuckDBConnection,
  events: readonly AlertEventRecord[],
  rules: readonly RuleStateUpdate[],
): Promise<void> {
  for (const event of events) {
    const keys = Object.keys(event.labels);
    await connection.run(
      `INSERT INTO alert_events (time, rule, series_key, labels, state, previous_state, value, severity, active_at, fired_at)
       VALUES ($1, $2, $3, map($4, $5), $6, $7, $8, $9, $10, $11)`,
      [
        micros(event.time),
        event.rule,
        event.seriesKey,
        listValue(keys),
        listValue(keys.map((key) => event.labels[key]!)),
        event.state,
        event.previousState,
        event.value,
        event.severity,
        optionalMicros(event.activeAt),
        optionalMicros(event.firedAt),
      ],
      [
        TIMESTAMP,
        VARCHAR,
        VARCHAR,
        LIST(VARCHAR),
        LIST(VARCHAR),
        VARCHAR,
        VARCHAR,
        DOUBLE,
        VARCHAR,
        TIMESTAMP,
        TIMESTAMP,
      ],
    );
  }
  for (const rule of rules) {
    await connection.run(
      `INSERT INTO alert_rule_state (rule, state, severity, trigger_count, last_triggered, updated_at)
       VALUES ($1, $2, $3, $4, CASE WHEN $4 > 0 THEN $5 END, $5)
       ON CONFLICT (rule) DO UPDATE SET
         state = excluded.state,
         severity = excluded.severity,
         trigger_count = alert_rule_state.trigger_count + excluded.trigger_count,
         last_triggered = coalesce(excluded.last_triggered, alert_rule_state.last_triggered),
         updated_at = excluded.updated_at`,
      [rule.rule, rule.state, rule.severity, BigInt(rule.fired), micros(rule.time)],
      [VARCHAR, VARCHAR, VARCHAR, UBIGINT, TIMESTAMP],
    );
  }
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
    [micros(since.getTime()), rule ?? null],
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
