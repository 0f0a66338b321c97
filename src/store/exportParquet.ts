import { mkdir, rename, rm, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { DuckDBConnection } from '@duckdb/node-api';
import { StoreError } from '../errors.js';
import { stringLiteral } from './sqlLiterals.js';

export interface ExportOptions {
  /** Folder of the hive-partitioned export (`kind=…/day=YYYY-MM-DD/data.parquet`). */
  outDir: string;
  /** Export days from this time on (whole UTC days). @default the oldest point */
  since?: Date;
  /** Called after each file, for progress displays. */
  onProgress?: (progress: ExportProgress) => void;
}

export interface ExportProgress {
  readonly done: number;
  readonly total: number;
  readonly kind: string;
  readonly day: string;
  readonly rows: number;
}

export interface ExportSummary {
  readonly files: number;
  readonly rows: number;
  readonly bytes: number;
  readonly days: readonly string[];
  readonly elapsedMillis: number;
}

/**
 * Point rows carry the stable series id (join with `series/data.parquet` for attributes and
 * resource) and the metric name, so most questions need no join; writing every attribute map on
 * every row would cost several times the points themselves.
 */
const SERIES_COLUMNS = 's.series_id, s.metric_name';
const SERIES_FILE_COLUMNS = `series_id, metric_name, kind, unit, description, temporality, monotonic,
  service_name, service_instance_id, service_version, host_name, resource_attrs,
  scope_name, scope_version, attrs, first_seen, last_seen`;

const KINDS: readonly { kind: string; table: string; columns: string }[] = [
  { kind: 'number', table: 'points_number', columns: 'p.start_time, p.time, p.value' },
  {
    kind: 'histogram',
    table: 'points_histogram',
    columns: 'p.start_time, p.time, p.count, p.sum, p.min, p.max, p.bounds, p.counts',
  },
  {
    kind: 'exp_histogram',
    table: 'points_exp_histogram',
    columns:
      'p.start_time, p.time, p.count, p.sum, p.min, p.max, p.scale, p.zero_count, p.zero_threshold, p.positive_offset, p.positive_counts, p.negative_offset, p.negative_counts',
  },
  {
    kind: 'summary',
    table: 'points_summary',
    columns: 'p.start_time, p.time, p.count, p.sum, p.quantiles, p.quantile_values',
  },
];

/**
 * Hive-partitioned Parquet (zstd) of the history, one file per kind and UTC day plus
 * `series/data.parquet` (every series with its attributes), each written to a temporary name
 * and renamed: re-exporting a day replaces it whole (idempotent), and a
 * reader never sees half a file. Readable back with
 * `read_parquet('DIR/kind=number/*\/*.parquet', hive_partitioning = true)`.
 */
export async function exportParquet(
  connection: DuckDBConnection,
  options: ExportOptions,
): Promise<ExportSummary> {
  const started = performance.now();
  const outDir = resolve(options.outDir);
  const sinceUs = options.since === undefined ? null : BigInt(options.since.getTime()) * 1000n;
  const work: { kind: string; table: string; columns: string; day: string }[] = [];
  for (const kind of KINDS) {
    const days = (
      await connection.runAndReadAll(
        `SELECT DISTINCT strftime(time, '%Y-%m-%d') AS day FROM ${kind.table}
         WHERE $1::BIGINT IS NULL OR time >= make_timestamp($1::BIGINT)
         ORDER BY day`,
        [sinceUs],
      )
    ).getRowObjectsJS();
    for (const row of days) work.push({ ...kind, day: String(row.day) });
  }

  let rows = 0;
  let bytes = 0;
  for (const [index, item] of work.entries()) {
    const folder = join(outDir, `kind=${item.kind}`, `day=${item.day}`);
    const target = join(folder, 'data.parquet');
    const temporary = join(folder, `.data.parquet.tmp-${process.pid}`);
    try {
      await mkdir(folder, { recursive: true });
      const result = await connection.run(
        `COPY (
           SELECT ${SERIES_COLUMNS}, ${item.columns}
           FROM ${item.table} p JOIN series s USING (series_ref)
           WHERE p.time >= CAST(${stringLiteral(item.day)} AS TIMESTAMP)
             AND p.time < CAST(${stringLiteral(item.day)} AS TIMESTAMP) + INTERVAL 1 DAY
         ) TO ${stringLiteral(temporary)} (FORMAT parquet, COMPRESSION zstd)`,
      );
      await rename(temporary, target);
      const written = Number(result.rowsChanged);
      rows += written;
      bytes += (await stat(target)).size;
      options.onProgress?.({
        done: index + 1,
        total: work.length,
        kind: item.kind,
        day: item.day,
        rows: written,
      });
    } catch (error) {
      await rm(temporary, { force: true });
      throw new StoreError(
        `exporting ${item.kind} points of ${item.day} to ${target} failed: ${(error as Error).message}`,
        {
          cause: error,
        },
      );
    }
  }
  const seriesFolder = join(outDir, 'series');
  const seriesTarget = join(seriesFolder, 'data.parquet');
  const seriesTemporary = join(seriesFolder, `.data.parquet.tmp-${process.pid}`);
  try {
    await mkdir(seriesFolder, { recursive: true });
    await connection.run(
      `COPY (SELECT ${SERIES_FILE_COLUMNS} FROM series) TO ${stringLiteral(seriesTemporary)} (FORMAT parquet, COMPRESSION zstd)`,
    );
    await rename(seriesTemporary, seriesTarget);
    bytes += (await stat(seriesTarget)).size;
  } catch (error) {
    await rm(seriesTemporary, { force: true });
    throw new StoreError(
      `exporting the series table to ${seriesTarget} failed: ${(error as Error).message}`,
      { cause: error },
    );
  }
  return {
    files: work.length + 1,
    rows,
    bytes,
    days: [...new Set(work.map((item) => item.day))].sort(),
    elapsedMillis: performance.now() - started,
  };
}
