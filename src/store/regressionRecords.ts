import {
  DOUBLE,
  type DuckDBType,
  type DuckDBValue,
  INTEGER,
  TIMESTAMP,
  timestampValue,
  VARCHAR,
} from '@duckdb/node-api';
import type { MetricStore, Statement } from './MetricStore.js';
import type { QueryRunner } from './QueryRunner.js';

export type Severity = 'info' | 'warning' | 'critical';
export const SEVERITIES: readonly Severity[] = ['info', 'warning', 'critical'];
export type ChangeKind = 'regression' | 'improvement' | 'change';

/** One side of a change: the points of the baseline or of the current window. */
export interface WindowStats {
  readonly from: Date;
  readonly to: Date;
  readonly n: number;
  readonly mean: number;
  readonly median: number;
  readonly stddev: number;
  readonly p95: number;
}

/** A change point of one analysed series, as persisted and reported. */
export interface RegressionRecord {
  /** Stable across cycles: derived from the series and the first change time seen. */
  readonly id: string;
  readonly seriesKey: string;
  readonly metric: string;
  /** value (gauges), rate (counters), p50/p95/p99 (histograms), error_rate. */
  readonly statistic: string;
  readonly unit: string;
  readonly service: string | null;
  readonly labels: Readonly<Record<string, string | null>>;
  readonly metricClass: string;
  readonly kind: ChangeKind;
  readonly severity: Severity;
  readonly status: 'open' | 'resolved';
  readonly direction: 'up' | 'down';
  readonly changeTime: Date;
  readonly versionBefore: string | null;
  readonly versionAfter: string | null;
  readonly baseline: WindowStats;
  readonly current: WindowStats;
  readonly absoluteChange: number;
  /** Change relative to the baseline median (NaN when that is 0). */
  readonly relativeChange: number;
  /** 95 % interval of the effect, in the effect's unit (fraction for relative, value for absolute). */
  readonly effectLow: number;
  readonly effectHigh: number;
  readonly effectKind: 'relative' | 'absolute';
  readonly minEffect: number;
  readonly pValue: number;
  readonly test: string;
  readonly explanation: string;
  /**
   * For histogram statistics: the observations before and after compared bucket by bucket
   * (binned Mann–Whitney p-value) and how often one after exceeds one before; null otherwise.
   */
  readonly distribution: { readonly pValue: number; readonly superiority: number } | null;
  readonly firstSeen: Date;
  readonly lastSeen: Date;
  readonly resolvedAt: Date | null;
}

const COLUMNS: readonly [string, DuckDBType, (r: RegressionRecord) => DuckDBValue][] = [
  ['id', VARCHAR, (r) => r.id],
  ['series_key', VARCHAR, (r) => r.seriesKey],
  ['metric_name', VARCHAR, (r) => r.metric],
  ['statistic', VARCHAR, (r) => r.statistic],
  ['unit', VARCHAR, (r) => r.unit],
  ['service_name', VARCHAR, (r) => r.service],
  ['labels', VARCHAR, (r) => JSON.stringify(r.labels)],
  ['metric_class', VARCHAR, (r) => r.metricClass],
  ['kind', VARCHAR, (r) => r.kind],
  ['severity', VARCHAR, (r) => r.severity],
  ['status', VARCHAR, (r) => r.status],
  ['direction', VARCHAR, (r) => r.direction],
  ['change_time', TIMESTAMP, (r) => time(r.changeTime)],
  ['version_before', VARCHAR, (r) => r.versionBefore],
  ['version_after', VARCHAR, (r) => r.versionAfter],
  ...windowColumns('baseline', (r) => r.baseline),
  ...windowColumns('current', (r) => r.current),
  ['absolute_change', DOUBLE, (r) => r.absoluteChange],
  ['relative_change', DOUBLE, (r) => r.relativeChange],
  ['effect_low', DOUBLE, (r) => r.effectLow],
  ['effect_high', DOUBLE, (r) => r.effectHigh],
  ['effect_kind', VARCHAR, (r) => r.effectKind],
  ['min_effect', DOUBLE, (r) => r.minEffect],
  ['p_value', DOUBLE, (r) => r.pValue],
  ['test', VARCHAR, (r) => r.test],
  ['explanation', VARCHAR, (r) => r.explanation],
  ['distribution_p_value', DOUBLE, (r) => r.distribution?.pValue ?? null],
  ['distribution_superiority', DOUBLE, (r) => r.distribution?.superiority ?? null],
  ['first_seen', TIMESTAMP, (r) => time(r.firstSeen)],
  ['last_seen', TIMESTAMP, (r) => time(r.lastSeen)],
  ['resolved_at', TIMESTAMP, (r) => (r.resolvedAt === null ? null : time(r.resolvedAt))],
];

function windowColumns(
  prefix: string,
  side: (r: RegressionRecord) => WindowStats,
): [string, DuckDBType, (r: RegressionRecord) => DuckDBValue][] {
  return [
    [`${prefix}_from`, TIMESTAMP, (r) => time(side(r).from)],
    [`${prefix}_to`, TIMESTAMP, (r) => time(side(r).to)],
    [`${prefix}_n`, INTEGER, (r) => side(r).n],
    [`${prefix}_mean`, DOUBLE, (r) => side(r).mean],
    [`${prefix}_median`, DOUBLE, (r) => side(r).median],
    [`${prefix}_stddev`, DOUBLE, (r) => side(r).stddev],
    [`${prefix}_p95`, DOUBLE, (r) => side(r).p95],
  ];
}

function time(date: Date): DuckDBValue {
  return timestampValue(BigInt(date.getTime()) * 1000n);
}

/** Inserts new records and replaces those with the same id, in one transaction. */
export function saveRegressions(store: MetricStore, records: readonly RegressionRecord[]): Promise<void> {
  const sql = `INSERT OR REPLACE INTO regressions (${COLUMNS.map(([name]) => name).join(', ')})
               VALUES (${COLUMNS.map((_, i) => `$${i + 1}`).join(', ')})`;
  const types = COLUMNS.map(([, type]) => type);
  const statements: Statement[] = records.map((record) => ({
    sql,
    params: COLUMNS.map(([, , value]) => value(record)),
    types,
  }));
  return store.execute(statements);
}

export interface RegressionFilter {
  /** Records last seen (or resolved) at or after this time. */
  readonly since?: Date;
  readonly status?: 'open' | 'resolved';
  readonly service?: string;
  /** This severity and above. */
  readonly minSeverity?: Severity;
  readonly kind?: ChangeKind;
  readonly id?: string;
}

/** Records matching `filter`, most severe and most recent first. */
export async function listRegressions(
  db: QueryRunner,
  filter: RegressionFilter = {},
): Promise<RegressionRecord[]> {
  const conditions: string[] = [];
  const params: DuckDBValue[] = [];
  const types: DuckDBType[] = [];
  const bind = (value: DuckDBValue, type: DuckDBType) => {
    params.push(value);
    types.push(type);
    return `$${params.length}`;
  };
  if (filter.since !== undefined)
    conditions.push(
      `greatest(last_seen, coalesce(resolved_at, last_seen)) >= ${bind(time(filter.since), TIMESTAMP)}`,
    );
  if (filter.status !== undefined) conditions.push(`status = ${bind(filter.status, VARCHAR)}`);
  if (filter.service !== undefined) conditions.push(`service_name = ${bind(filter.service, VARCHAR)}`);
  if (filter.kind !== undefined) conditions.push(`kind = ${bind(filter.kind, VARCHAR)}`);
  if (filter.id !== undefined) conditions.push(`id = ${bind(filter.id, VARCHAR)}`);
  if (filter.minSeverity !== undefined) {
    const allowed = SEVERITIES.slice(SEVERITIES.indexOf(filter.minSeverity));
    conditions.push(`severity IN (${allowed.map((s) => bind(s, VARCHAR)).join(', ')})`);
  }
  const rows = await db.query(
    `SELECT * FROM regressions ${conditions.length > 0 ? `WHERE ${conditions.join(' AND ')}` : ''}
     ORDER BY status = 'open' DESC, CASE severity WHEN 'critical' THEN 0 WHEN 'warning' THEN 1 ELSE 2 END,
              change_time DESC, id`,
    params,
    types,
  );
  return rows.map(fromRow);
}

function fromRow(row: Record<string, unknown>): RegressionRecord {
  const number = (key: string) => (row[key] === null ? Number.NaN : Number(row[key]));
  const side = (prefix: string): WindowStats => ({
    from: row[`${prefix}_from`] as Date,
    to: row[`${prefix}_to`] as Date,
    n: number(`${prefix}_n`),
    mean: number(`${prefix}_mean`),
    median: number(`${prefix}_median`),
    stddev: number(`${prefix}_stddev`),
    p95: number(`${prefix}_p95`),
  });
  return {
    id: String(row.id),
    seriesKey: String(row.series_key),
    metric: String(row.metric_name),
    statistic: String(row.statistic),
    unit: String(row.unit),
    service: (row.service_name ?? null) as string | null,
    labels: JSON.parse(String(row.labels)) as Record<string, string | null>,
    metricClass: String(row.metric_class),
    kind: row.kind as ChangeKind,
    severity: row.severity as Severity,
    status: row.status as 'open' | 'resolved',
    direction: row.direction as 'up' | 'down',
    changeTime: row.change_time as Date,
    versionBefore: (row.version_before ?? null) as string | null,
    versionAfter: (row.version_after ?? null) as string | null,
    baseline: side('baseline'),
    current: side('current'),
    absoluteChange: number('absolute_change'),
    relativeChange: number('relative_change'),
    effectLow: number('effect_low'),
    effectHigh: number('effect_high'),
    effectKind: row.effect_kind as 'relative' | 'absolute',
    minEffect: number('min_effect'),
    pValue: number('p_value'),
    test: String(row.test),
    explanation: String(row.explanation),
    distribution:
      row.distribution_p_value === null || row.distribution_p_value === undefined
        ? null
        : { pValue: number('distribution_p_value'), superiority: number('distribution_superiority') },
    firstSeen: row.first_seen as Date,
    lastSeen: row.last_seen as Date,
    resolvedAt: (row.resolved_at ?? null) as Date | null,
  };
}

/** The verdict on one deploy: the new service.version's window against the previous version's. */
export interface DeployVerdict {
  readonly service: string;
  readonly versionBefore: string;
  readonly versionAfter: string;
  readonly deployTime: Date;
  readonly verdict: 'regressed' | 'improved' | 'unchanged' | 'insufficient_data';
  readonly seriesCompared: number;
  readonly regressions: number;
  readonly improvements: number;
  /** One sentence: the verdict and its worst change. */
  readonly summary: string;
  readonly evaluatedAt: Date;
}

export function saveDeployVerdicts(store: MetricStore, verdicts: readonly DeployVerdict[]): Promise<void> {
  return store.execute(
    verdicts.map((v) => ({
      sql: `INSERT OR REPLACE INTO deploy_verdicts (service_name, version_before, version_after, deploy_time,
              verdict, series_compared, regressions, improvements, summary, evaluated_at)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
      params: [
        v.service,
        v.versionBefore,
        v.versionAfter,
        time(v.deployTime),
        v.verdict,
        v.seriesCompared,
        v.regressions,
        v.improvements,
        v.summary,
        time(v.evaluatedAt),
      ],
      types: [VARCHAR, VARCHAR, VARCHAR, TIMESTAMP, VARCHAR, INTEGER, INTEGER, INTEGER, VARCHAR, TIMESTAMP],
    })),
  );
}

export async function listDeployVerdicts(
  db: QueryRunner,
  filter: { since?: Date; service?: string } = {},
): Promise<DeployVerdict[]> {
  const rows = await db.query(
    `SELECT * FROM deploy_verdicts
     WHERE ($1::TIMESTAMP IS NULL OR deploy_time >= $1) AND ($2::VARCHAR IS NULL OR service_name = $2)
     ORDER BY deploy_time DESC, service_name`,
    [filter.since === undefined ? null : time(filter.since), filter.service ?? null],
    [TIMESTAMP, VARCHAR],
  );
  return rows.map((row) => ({
    service: String(row.service_name),
    versionBefore: String(row.version_before),
    versionAfter: String(row.version_after),
    deployTime: row.deploy_time as Date,
    verdict: row.verdict as DeployVerdict['verdict'],
    seriesCompared: Number(row.series_compared),
    regressions: Number(row.regressions),
    improvements: Number(row.improvements),
    summary: String(row.summary),
    evaluatedAt: row.evaluated_at as Date,
  }));
}
