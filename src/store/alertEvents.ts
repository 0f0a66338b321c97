import {
  DOUBLE,
  type DuckDBValue,
  MAP,
  mapValue,
  TIMESTAMP,
  timestampValue,
  VARCHAR,
} from '@duckdb/node-api';
import type { Statement } from './MetricStore.js';
import type { QueryRunner } from './QueryRunner.js';
import type { ColumnFill, TableColumns } from './tableColumns.js';

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

/** alert_events' columns after event_id, in table order. */
function eventColumns(events: readonly AlertEventRecord[]): TableColumns {
  const timestamp = (millis: number | undefined) =>
    millis === undefined ? null : timestampValue(BigInt(Math.round(millis)) * 1000n);
  // Every event of an evaluation has the same time.
  let lastTime = Number.NaN;
  let lastTimestamp: DuckDBValue = null;
  const timeOf = (millis: number) => {
    if (millis !== lastTime) {
      lastTime = millis;
      lastTimestamp = timestamp(millis);
    }
    return lastTimestamp;
  };
  const column =
    (valueAt: (event: AlertEventRecord) => DuckDBValue): ColumnFill =>
    (vector, offset, size) => {
      for (let i = 0; i < size; i++) vector.setItem(i, valueAt(events[offset + i]!));
    };
  return {
    types: [TIMESTAMP, VARCHAR, VARCHAR, LABELS_MAP, VARCHAR, VARCHAR, DOUBLE, VARCHAR, TIMESTAMP, TIMESTAMP],
    rowCount: events.length,
    fills: [
      column((e) => timeOf(e.time)),
      column((e) => e.rule),
      column((e) => e.seriesKey),
      column((e) => labelsMap(e.labels)),
      column((e) => e.state),
      column((e) => e.previousState),
      column((e) => e.value),
      column((e) => e.severity),
      column((e) => timestamp(e.activeAt)),
      column((e) => timestamp(e.firedAt)),
    ],
  };
}

const LABELS_MAP = MAP(VARCHAR, VARCHAR);

/** An alert series' labels are one object for as long as it is tracked: converted once. */
const labelsMaps = new WeakMap<object, DuckDBValue>();

function labelsMap(labels: Readonly<Record<string, string>>): DuckDBValue {
  let map = labelsMaps.get(labels);
  if (map === undefined) {
    map = mapValue(Object.entries(labels).map(([key, value]) => ({ key, value })));
    labelsMaps.set(labels, map);
  }
  return map;
}

/** Epoch microseconds, as `make_timestamp` takes them. */
const micros = (millis: number) => BigInt(Math.round(millis)) * 1000n;

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
 * the rule summaries: an evaluation over many series can record thousands of transitions, so
 * they are appended as columns (one INSERT per row would take seconds, one over a JSON text
 * ~20 ms per 1,000), and the summaries are one statement over a JSON text.
 */
export function alertEventStatements(
  events: readonly AlertEventRecord[],
  rules: readonly RuleStateUpdate[],
): Statement[] {
  const statements: Statement[] = [];
  if (events.length > 0)
    statements.push({
      appendTo: 'alert_events',
      idSequence: 'alert_event_seq',
      columns: eventColumns(events),
    });
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
