import { VARCHAR } from '@duckdb/node-api';
import { listServiceVersions } from './listAnalysedMetrics.js';
import type { QueryRunner } from './QueryRunner.js';

/** A service.name seen in the history. */
export interface ServiceOverview {
  readonly name: string;
  /** Its service.version values, in the order they appeared. */
  readonly versions: readonly string[];
  readonly instances: number;
  readonly hosts: readonly string[];
  readonly metrics: number;
  readonly series: number;
  readonly firstSeen: Date;
  readonly lastSeen: Date;
}

/** Every service with a series in the history (or only `name`), by name. */
export async function listServices(db: QueryRunner, name?: string): Promise<ServiceOverview[]> {
  const rows = await db.query(
    `SELECT service_name,
            count(DISTINCT service_instance_id) AS instances,
            list(DISTINCT host_name ORDER BY host_name) FILTER (WHERE host_name IS NOT NULL) AS hosts,
            count(DISTINCT metric_name) AS metrics, count(*) AS series,
            min(first_seen) AS first_seen, max(last_seen) AS last_seen
     FROM series WHERE service_name IS NOT NULL AND ($1::VARCHAR IS NULL OR service_name = $1)
     GROUP BY service_name ORDER BY service_name`,
    [name ?? null],
    [VARCHAR],
  );
  // Versions in the order they appeared, as deploy verdicts see them.
  const versions = await listServiceVersions(db);
  return rows.map((row) => ({
    name: String(row.service_name),
    versions: (versions.get(String(row.service_name)) ?? []).map((v) => v.version),
    instances: Number(row.instances),
    hosts: (row.hosts as string[] | null) ?? [],
    metrics: Number(row.metrics),
    series: Number(row.series),
    firstSeen: row.first_seen as Date,
    lastSeen: row.last_seen as Date,
  }));
}

/** The metric names one service has, with their kind and unit. */
export async function listServiceMetrics(
  db: QueryRunner,
  service: string,
): Promise<{ metric: string; kind: string; unit: string; series: number; lastSeen: Date }[]> {
  const rows = await db.query(
    `SELECT metric_name, kind, any_value(unit) AS unit, count(*) AS series, max(last_seen) AS last_seen
     FROM series WHERE service_name = $1 GROUP BY metric_name, kind ORDER BY metric_name`,
    [service],
    [VARCHAR],
  );
  return rows.map((row) => ({
    metric: String(row.metric_name),
    kind: String(row.kind),
    unit: String(row.unit),
    series: Number(row.series),
    lastSeen: row.last_seen as Date,
  }));
}
