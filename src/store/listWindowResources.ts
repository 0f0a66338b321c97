import { TIMESTAMP, timestampValue, VARCHAR } from '@duckdb/node-api';
import type { BenchmarkResource } from './benchmarkRecords.js';
import type { QueryRunner } from './QueryRunner.js';

/**
 * Per service.name, the service.version and host.name values of its series seen in [from, to)
 * (by the catalog's first and last sight, which is refreshed coarsely: `slackMillis` widens the
 * start so a series active in the window is not missed); only `version` when given.
 */
export async function listWindowResources(
  db: QueryRunner,
  from: Date,
  to: Date,
  slackMillis: number,
  version?: string,
): Promise<BenchmarkResource[]> {
  const at = (millis: number) => timestampValue(BigInt(millis) * 1000n);
  const rows = await db.query(
    `SELECT service_name,
            list_sort(list_distinct(list(service_version))) AS versions,
            list_sort(list_distinct(list(host_name))) AS hosts
     FROM series WHERE service_name IS NOT NULL AND first_seen < $2 AND last_seen >= $1
       AND ($3::VARCHAR IS NULL OR service_version = $3)
     GROUP BY service_name ORDER BY service_name`,
    [at(from.getTime() - slackMillis), at(to.getTime()), version ?? null],
    [TIMESTAMP, TIMESTAMP, VARCHAR],
  );
  return rows.map((row) => ({
    service: String(row.service_name),
    versions: (row.versions as string[]) ?? [],
    hosts: (row.hosts as string[]) ?? [],
  }));
}
