import { TIMESTAMP, timestampValue } from '@duckdb/node-api';
import type { QueryRunner } from './QueryRunner.js';

/** A metric name in the history, as the analysis needs to pick its statistics and grouping. */
export interface MetricOverview {
  readonly metric: string;
  readonly kind: string;
  readonly unit: string;
  readonly monotonic: boolean | null;
  /** Point attribute keys over all of the metric's series, sorted. */
  readonly attributeKeys: readonly string[];
  readonly seriesCount: number;
}

/** Every metric with a series seen since `since`, one row per (name, kind). */
export async function listAnalysedMetrics(db: QueryRunner, since: Date): Promise<MetricOverview[]> {
  const rows = await db.query(
    `SELECT metric_name, kind, any_value(unit) AS unit, bool_or(monotonic) AS monotonic,
            list_sort(list_distinct(flatten(list(map_keys(attrs))))) AS attribute_keys,
            count(*) AS series_count
     FROM series WHERE last_seen >= $1
     GROUP BY metric_name, kind ORDER BY metric_name, kind`,
    [timestampValue(BigInt(since.getTime()) * 1000n)],
    [TIMESTAMP],
  );
  return rows.map((row) => ({
    metric: String(row.metric_name),
    kind: String(row.kind),
    unit: String(row.unit),
    monotonic: (row.monotonic ?? null) as boolean | null,
    attributeKeys: (row.attribute_keys as string[]) ?? [],
    seriesCount: Number(row.series_count),
  }));
}

/** One service.version of a service and when it was first seen. */
export interface ServiceVersion {
  readonly version: string;
  readonly firstSeen: Date;
  readonly lastSeen: Date;
}

/** Per service, its versions in the order they appeared (deploys are the boundaries). */
export async function listServiceVersions(db: QueryRunner): Promise<Map<string, ServiceVersion[]>> {
  const rows = await db.query(
    `SELECT service_name, service_version, min(first_seen) AS first_seen, max(last_seen) AS last_seen
     FROM series WHERE service_name IS NOT NULL AND service_version IS NOT NULL
     GROUP BY service_name, service_version ORDER BY service_name, first_seen`,
  );
  const out = new Map<string, ServiceVersion[]>();
  for (const row of rows) {
    const service = String(row.service_name);
    const versions = out.get(service) ?? [];
    versions.push({
      version: String(row.service_version),
      firstSeen: row.first_seen as Date,
      lastSeen: row.last_seen as Date,
    });
    out.set(service, versions);
  }
  return out;
}
