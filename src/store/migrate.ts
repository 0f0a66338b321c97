import type { DuckDBConnection } from '@duckdb/node-api';
import { SchemaVersionError, StoreError } from '../errors.js';
import type { Logger } from '../logging/Logger.js';
import { PERFWATCH_VERSION } from '../version.js';
import { NO_POINT, type SeriesEntry, type SeriesKind, type Temporality } from './SeriesCatalog.js';
import { MIGRATIONS, SCHEMA_VERSION } from './schema.js';

/** Brings the file to SCHEMA_VERSION, one transaction per migration; refuses newer and foreign files. */
export async function migrate(connection: DuckDBConnection, path: string, logger: Logger): Promise<void> {
  const tables = (
    await connection.runAndReadAll(
      'SELECT table_name FROM duckdb_tables() WHERE database_name = current_database()',
    )
  ).getRowObjectsJS();
  const names = new Set(tables.map((row) => String(row.table_name)));
  let version = 0;
  if (names.has('perfwatch_schema')) {
    const row = (
      await connection.runAndReadAll('SELECT max(version) AS v FROM perfwatch_schema')
    ).getRowObjectsJS()[0];
    version = Number(row?.v ?? 0);
  } else if (names.size > 0) {
    throw new StoreError(
      `${path} is a DuckDB file but not a perfwatch history (it has no perfwatch_schema table)`,
    );
  }
  if (version > SCHEMA_VERSION) throw new SchemaVersionError(path, version, SCHEMA_VERSION);
  for (let next = version; next < SCHEMA_VERSION; next++) {
    await connection.run('BEGIN TRANSACTION');
    try {
      await connection.run(MIGRATIONS[next]!);
      await connection.run('INSERT INTO perfwatch_schema (version, perfwatch_version) VALUES ($1, $2)', [
        next + 1,
        PERFWATCH_VERSION,
      ]);
      await connection.run('COMMIT');
    } catch (error) {
      await connection.run('ROLLBACK').catch(() => undefined);
      throw new StoreError(`migrating ${path} to schema version ${next + 1} failed: ${messageOf(error)}`, {
        cause: error,
      });
    }
    if (version > 0) logger.info({ path, version: next + 1 }, 'history schema upgraded');
  }
  if (version === 0) logger.info({ path, version: SCHEMA_VERSION }, 'history file created');
}

/**
 * Every series row, for the in-memory catalog; as each one's newestMicros, the newest point of its
 * table (one scan of each table's times at open, instead of a lookup per series later).
 */
export async function loadSeries(connection: DuckDBConnection): Promise<SeriesEntry[]> {
  const [newest] = (
    await connection.runAndReadAll(`
      SELECT (SELECT epoch_us(max(time)) FROM points_number) AS number,
             (SELECT epoch_us(max(time)) FROM points_histogram) AS histogram,
             (SELECT epoch_us(max(time)) FROM points_exp_histogram) AS exponential_histogram,
             (SELECT epoch_us(max(time)) FROM points_summary) AS summary`)
  ).getRowObjectsJS();
  const newestOf = (kind: SeriesKind): bigint =>
    ((kind === 'gauge' || kind === 'sum' ? newest?.number : newest?.[kind]) ?? NO_POINT) as bigint;
  const result = await connection.runAndReadAll(`
    SELECT series_ref, series_id, metric_name, kind, unit, description, temporality, monotonic,
           service_name, service_instance_id, service_version, host_name,
           map_entries(resource_attrs) AS resource_attrs, scope_name, scope_version,
           map_entries(attrs) AS attrs, epoch_us(last_seen) AS last_seen
    FROM series ORDER BY series_ref`);
  return result.getRowObjectsJS().map((row) => {
    const resourceAttrs = entriesToRecord(row.resource_attrs);
    return {
      ref: Number(row.series_ref),
      id: BigInt(row.series_id as bigint),
      attrs: entriesToRecord(row.attrs),
      lastSeenPersistedMicros: BigInt(row.last_seen as bigint),
      seenInWrite: 0,
      newestMicros: newestOf(row.kind as SeriesKind),
      writeNewestMicros: NO_POINT,
      identity: {
        metricName: String(row.metric_name),
        kind: row.kind as SeriesKind,
        unit: String(row.unit),
        description: String(row.description),
        temporality: (row.temporality ?? null) as Temporality | null,
        monotonic: (row.monotonic ?? null) as boolean | null,
        scopeName: String(row.scope_name),
        scopeVersion: (row.scope_version ?? null) as string | null,
        resource: {
          attrs: resourceAttrs,
          canonical: JSON.stringify(resourceAttrs),
          serviceName: (row.service_name ?? null) as string | null,
          serviceInstanceId: (row.service_instance_id ?? null) as string | null,
          serviceVersion: (row.service_version ?? null) as string | null,
          hostName: (row.host_name ?? null) as string | null,
        },
      },
    };
  });
}

function entriesToRecord(entries: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  for (const entry of (entries ?? []) as { key: string; value: string }[]) out[entry.key] = entry.value;
  return out;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
