import { constants as fsConstants } from 'node:fs';
import { access, mkdir, stat } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import {
  BIGINT,
  type DuckDBConnection,
  DuckDBDataChunk,
  DuckDBInstance,
  type DuckDBPreparedStatement,
  type DuckDBType,
  type DuckDBValue,
  LIST,
  listValue,
  StatementType,
  TIMESTAMP,
  timestampValue,
  UINTEGER,
} from '@duckdb/node-api';
import duckdb from '@duckdb/node-bindings';
import {
  ConfigError,
  InvalidCollectionError,
  ShutdownError,
  SqlRefusedError,
  StoreError,
  StoreLockedError,
} from '../errors.js';
import type { Logger } from '../logging/Logger.js';
import { silentLogger } from '../logging/Logger.js';
import { RateLimitedWarning } from '../logging/RateLimitedWarning.js';
import { type CollectionRows, collectionRows } from './collectionRows.js';
import { dropRepeatedPoints } from './dropRepeatedPoints.js';
import { type ExportOptions, type ExportSummary, exportParquet } from './exportParquet.js';
import { loadSeries, migrate } from './migrate.js';
import type { QueryRunner } from './QueryRunner.js';
import { type LoadedPoints, RecentPoints } from './RecentPoints.js';
import { type NumberColumns, readNumberColumns } from './readNumberColumns.js';
import { type RollupSummary, rollUp } from './rollUp.js';
import { SeriesCatalog, type SeriesEntry, type SeriesLimits } from './SeriesCatalog.js';
import { StallBudget } from './StallBudget.js';
import type { StoredResourceMetrics } from './StoredResourceMetrics.js';
import {
  expHistogramColumns,
  histogramColumns,
  numberColumns,
  seriesColumns,
  summaryColumns,
  type TableColumns,
} from './tableColumns.js';
import { type Row, toJs } from './toJs.js';
import { translateOpenError } from './translateOpenError.js';
import { type SnapshotSummary, writeSnapshot } from './writeSnapshot.js';

const DEFAULT_MEMORY_LIMIT_BYTES = 256 * 1024 * 1024;
/** Below this DuckDB cannot hold a checkpoint's or a rollup's working set. */
const MIN_MEMORY_LIMIT_BYTES = 16 * 1024 * 1024;

export interface MetricStoreOptions {
  /** @default silentLogger */
  logger?: Logger;
  /**
   * How stale `series.last_seen` may get, in ms. Refreshing it on every collection would rewrite
   * the series table each time (an UPDATE of every live series costs more than appending their
   * points); every 5 minutes keeps it useful for "which series are live". The exact time of a
   * series' last point is `max(time)` in its point table.
   * @default 300000
   */
  lastSeenGranularityMillis?: number;
  /**
   * DuckDB's `memory_limit` in bytes: its buffer manager (cached blocks of the file, indexes,
   * query state) stays under it, spilling to `<file>.tmp` past it. DuckDB's own default is 80 %
   * of the machine's RAM, far beyond a 1-GiB service budget on a large host.
   * @default 268435456 (256 MiB)
   */
  memoryLimitBytes?: number;
  /**
   * WAL size at which a commit folds the WAL into the database file (DuckDB's
   * `checkpoint_threshold`). Each checkpoint has a cost beyond the data it moves, and writes
   * wait for it: at DuckDB's 16 MiB a busy receiver spent a quarter of its time in checkpoints,
   * at 64 MiB half as much. A crash replays at most this much WAL on the next open.
   * @default 67108864 (64 MiB)
   */
  checkpointThresholdBytes?: number;
  /**
   * Most series the history takes; points of a new series past it are refused (counted in the
   * write's summary and logged), series already known keep being written. Sized for the
   * 2-core/1-GiB budget: each known series costs about 1 KiB of memory.
   * @default 100000
   */
  maxSeries?: number;
  /** Most series of one metric name (across services), as `maxSeries`. @default 50000 */
  maxSeriesPerMetric?: number;
}

/** One SQL statement with positional parameters, for MetricStore.execute. */
/** One statement of MetricStore.execute: SQL, or rows appended to a table. */
export type Statement = SqlStatement | AppendStatement;

export interface SqlStatement {
  readonly sql: string;
  readonly params?: DuckDBValue[];
  readonly types?: DuckDBType[];
}

/**
 * Rows appended through the DataChunk appender: for thousands of rows far cheaper than one
 * INSERT over a JSON text (parsing it was most of the cost).
 */
export interface AppendStatement {
  readonly appendTo: string;
  /** Every column of the table in order, but the first when `idSequence` is given. */
  readonly columns: TableColumns;
  /**
   * The first column is the next values of this sequence (its DEFAULT, which appenders do not
   * apply), in row order.
   */
  readonly idSequence?: string;
}

export interface RetentionSummary {
  /** Raw points deleted, all point tables together. */
  readonly deletedPoints: number;
  /** Rollup rows deleted (older than the rollup cut-off). */
  readonly deletedRollups: number;
  /** Rollup rows written first, so no raw point goes before it is rolled up. */
  readonly rolledUp: number;
  /** Series rows deleted because none of their points remained. */
  readonly deletedSeries: number;
  /** Transactions the delete was split into; collections are written in between. */
  readonly batches: number;
  /**
   * Alert transitions older than the cut-off, except each alert series' latest when it is still
   * pending, firing or nodata (a restart resumes from it); per-rule trigger counts and last
   * triggered times (alert_rule_state) are kept.
   */
  readonly deletedAlertEvents: number;
  /** Regression records resolved before the cut-off (their series' points are gone too). */
  readonly deletedRegressions: number;
}

export interface WriteSummary {
  /** Points appended by this write. */
  readonly points: number;
  /** Series first seen in this write. */
  readonly newSeries: number;
  /** Points not stored because their series was new and a series limit was reached. */
  readonly refusedPoints: number;
  /** refusedPoints per collection of the batch, in batch order. */
  readonly refusedByCollection: readonly number[];
  /** Which limit refused them, when some were. */
  readonly refusal?: string;
}

/** DuckDB lets one process hold a file; within one process a second instance would corrupt it. */
const openPaths = new Set<string>();

/** Rows per DataChunk handed to the Appender (DuckDB's vector size). */
const CHUNK_ROWS = 2048;

/**
 * RecentPoints' fill: the points of some series after `since`, and each one's newest before (the
 * last in increaseSql's order: by time, then value).
 */
const RECENT_POINTS_SQL = `
  WITH picked AS (
    SELECT series_ref, (temporality = 'delta')::INTEGER AS delta FROM series
    WHERE series_ref IN (SELECT unnest(string_split($refs, ',')::UINTEGER[]))
  )
  SELECT series_ref AS ref, delta, epoch_us(time) AS t, epoch_us(start_time) AS s, value
  FROM points_number JOIN picked USING (series_ref) WHERE time > $since
  UNION ALL
  SELECT series_ref AS ref, any_value(delta) AS delta, epoch_us(max(time)) AS t,
         epoch_us(arg_max(start_time, (time, value))) AS s, arg_max(value, (time, value)) AS value
  FROM points_number JOIN picked USING (series_ref) WHERE time >= $from AND time <= $since
  GROUP BY series_ref
  ORDER BY ref, t, value`;

/** RECENT_POINTS_SQL for histogram points: count as the value, and sum, bucket counts, bounds. */
const RECENT_HISTOGRAMS_SQL = `
  WITH picked AS (
    SELECT series_ref, (temporality = 'delta')::INTEGER AS delta FROM series
    WHERE series_ref IN (SELECT unnest(string_split($refs, ',')::UINTEGER[]))
  )
  SELECT series_ref AS ref, delta, epoch_us(time) AS t, epoch_us(start_time) AS s, count::DOUBLE AS value,
         sum, list_transform(counts, c -> c::DOUBLE) AS counts, bounds
  FROM points_histogram JOIN picked USING (series_ref) WHERE time > $since
  UNION ALL
  SELECT series_ref AS ref, any_value(delta), epoch_us(max(time)), epoch_us(arg_max(start_time, (time, count))),
         arg_max(count, (time, count))::DOUBLE, arg_max(sum, (time, count)),
         list_transform(arg_max(counts, (time, count)), c -> c::DOUBLE), arg_max(bounds, (time, count))
  FROM points_histogram JOIN picked USING (series_ref) WHERE time >= $from AND time <= $since
  GROUP BY series_ref
  ORDER BY ref, t, value`;

/** RECENT_HISTOGRAMS_SQL's rows as columns. */
function loadedHistograms(rows: readonly Row[]): LoadedPoints {
  const number = (value: unknown) => (value === null || value === undefined ? Number.NaN : Number(value));
  return {
    ref: rows.map((row) => number(row.ref)),
    delta: rows.map((row) => number(row.delta)),
    t: rows.map((row) => number(row.t)),
    s: rows.map((row) => number(row.s)),
    value: rows.map((row) => number(row.value)),
    sum: rows.map((row) => number(row.sum)),
    counts: rows.map((row) => (row.counts as number[] | null) ?? []),
    bounds: rows.map((row) => (row.bounds as number[] | null) ?? []),
  };
}
const POINT_TABLES = ['points_number', 'points_histogram', 'points_exp_histogram', 'points_summary'] as const;
const ROLLUP_TABLES = ['rollup_number_1m', 'rollup_histogram_1m'] as const;

/**
 * The DuckDB history file: the only place that talks to `@duckdb/node-api`. Writes are
 * serialised (one transaction per collection); reads use a separate connection, so a long query
 * never delays a collection.
 */
export class MetricStore implements QueryRunner {
  private writeChain: Promise<unknown> = Promise.resolve();
  private finishedWrites = 0;
  private readonly inflightReads = new Set<Promise<unknown>>();
  private closed = false;
  private recent: RecentPoints | undefined;
  /** Points refused by a series limit since the store was opened. */
  refusedPointsTotal = 0;
  private readonly limitWarning: RateLimitedWarning;

  private constructor(
    readonly path: string,
    private readonly instance: DuckDBInstance,
    private readonly writer: DuckDBConnection,
    private readonly reader: DuckDBConnection,
    private readonly catalog: SeriesCatalog,
    private readonly logger: Logger,
    private readonly lastSeenGranularityMicros: bigint,
  ) {
    this.limitWarning = new RateLimitedWarning(logger, 60_000);
  }

  /**
   * Opens (creating or upgrading) a history file. Fails with ConfigError when the folder cannot
   * be created or written, StoreLockedError when another process holds the file and
   * SchemaVersionError when a newer perfwatch wrote it.
   */
  static async open(path: string, options: MetricStoreOptions = {}): Promise<MetricStore> {
    const absolutePath = resolve(path);
    const logger = options.logger ?? silentLogger;
    if (openPaths.has(absolutePath)) throw new StoreLockedError(absolutePath, process.pid);
    // Claimed before the first await: two concurrent opens must not both pass the check.
    openPaths.add(absolutePath);
    let instance: DuckDBInstance | undefined;
    try {
      await ensureWritableFolder(absolutePath);
      const checkpointThreshold = options.checkpointThresholdBytes ?? 64 * 1024 * 1024;
      if (!Number.isSafeInteger(checkpointThreshold) || checkpointThreshold < 1) {
        throw new ConfigError(
          'checkpointThresholdBytes',
          `must be a positive integer, got ${String(checkpointThreshold)}`,
        );
      }
      const memoryLimit = options.memoryLimitBytes ?? DEFAULT_MEMORY_LIMIT_BYTES;
      if (!Number.isSafeInteger(memoryLimit) || memoryLimit < MIN_MEMORY_LIMIT_BYTES) {
        throw new ConfigError(
          'memoryLimitBytes',
          `must be an integer of at least ${MIN_MEMORY_LIMIT_BYTES} (16 MiB), got ${String(memoryLimit)}`,
        );
      }
      instance = await DuckDBInstance.create(absolutePath, {
        checkpoint_threshold: `${checkpointThreshold}b`,
        memory_limit: `${memoryLimit}b`,
      }).catch((error: unknown) => {
        throw translateOpenError(absolutePath, error);
      });
      const writer = await instance.connect();
      await migrate(writer, absolutePath, logger);
      const catalog = new SeriesCatalog(await loadSeries(writer), seriesLimitsOf(options));
      const reader = await instance.connect();
      logger.debug({ path: absolutePath, series: catalog.size }, 'history file opened');
      return new MetricStore(
        absolutePath,
        instance,
        writer,
        reader,
        catalog,
        logger,
        BigInt(options.lastSeenGranularityMillis ?? 300_000) * 1000n,
      );
    } catch (error) {
      instance?.closeSync();
      openPaths.delete(absolutePath);
      throw error;
    }
  }

  /**
   * Persists one collection in a single transaction. On failure nothing of it is stored and the
   * error is raised; the caller decides whether to retry. A point stored already (same series,
   * start time, time and value) is dropped, so a write sent again stores nothing twice
   * (dropRepeatedPoints).
   */
  writeCollection(resourceMetrics: StoredResourceMetrics): Promise<WriteSummary> {
    return this.serialised(() => this.write([resourceMetrics]));
  }

  /**
   * Persists several collections (e.g. every resource of an OTLP request, or several requests)
   * in one transaction: all of them or, on failure, none.
   */
  writeCollections(batch: readonly StoredResourceMetrics[]): Promise<WriteSummary> {
    return this.serialised(() => this.write(batch));
  }

  /**
   * Runs one SELECT with bound parameters on the read connection and returns its rows. Anything
   * else (several statements, DDL, writes, COPY) is refused: the file and the in-memory series
   * catalog must stay in step, and only the writer changes the file.
   */
  async query(
    sql: string,
    params: DuckDBValue[] | Record<string, DuckDBValue> = [],
    types?: DuckDBType[] | Record<string, DuckDBType>,
  ): Promise<Row[]> {
    this.assertOpen();
    return this.trackRead(this.runSelect(sql, params, types));
  }

  /** query() for numeric columns, read into typed arrays (see QueryRunner.queryNumbers). */
  async queryNumbers(
    sql: string,
    params: DuckDBValue[] | Record<string, DuckDBValue> = [],
    types?: DuckDBType[] | Record<string, DuckDBType>,
  ): Promise<NumberColumns> {
    this.assertOpen();
    return this.trackRead(
      this.runSelect(sql, params, types, (statement) => statement.run().then(readNumberColumns)),
    );
  }

  /** Registers a read on the reader connection, so close() interrupts and awaits it. */
  private async trackRead<T>(read: Promise<T>): Promise<T> {
    this.inflightReads.add(read);
    try {
      return await read;
    } finally {
      this.inflightReads.delete(read);
    }
  }

  /**
   * Runs `statements` in one transaction on the writer, in turn with collections: for the analysis
   * records (regressions, deploy verdicts) kept next to the points. All or nothing.
   */
  async execute(statements: readonly Statement[]): Promise<void> {
    this.assertOpen();
    if (statements.length === 0) return;
    await this.serialised(async () => {
      try {
        await this.writer.run('BEGIN TRANSACTION');
        for (const statement of statements) {
          if ('appendTo' in statement) await this.appendStatement(statement);
          else await this.writer.run(statement.sql, statement.params ?? [], statement.types);
        }
        await this.writer.run('COMMIT');
      } catch (error) {
        await this.writer.run('ROLLBACK').catch(() => undefined);
        throw new StoreError(`writing to ${this.path} failed: ${messageOf(error)}`, { cause: error });
      }
    });
  }

  /** Forces a checkpoint: the WAL is merged into the file (benchmarks, maintenance). */
  async checkpoint(): Promise<void> {
    this.assertOpen();
    await this.serialised(() => this.writer.run('CHECKPOINT'));
  }

  private async runSelect<T = Row[]>(
    sql: string,
    params: DuckDBValue[] | Record<string, DuckDBValue>,
    types: DuckDBType[] | Record<string, DuckDBType> | undefined,
    read: (statement: DuckDBPreparedStatement) => Promise<T> = async (statement) =>
      (await statement.runAndReadAll()).convertRowObjects(toJs) as T,
  ): Promise<T> {
    const extracted = await this.reader.extractStatements(sql);
    if (extracted.count !== 1)
      throw new SqlRefusedError(`exactly one statement is allowed, got ${extracted.count}`);
    const statement = await extracted.prepare(0);
    try {
      if (this.closed) throw new ShutdownError(`MetricStore(${this.path})`);
      if (statement.statementType !== StatementType.SELECT) {
        throw new SqlRefusedError('MetricStore.query runs SELECT statements only');
      }
      if (Array.isArray(params) ? params.length > 0 : Object.keys(params).length > 0)
        statement.bind(params, types);
      return await read(statement);
    } finally {
      statement.destroySync();
    }
  }

  /** Version of the schema the file is at. */
  async schemaVersion(): Promise<number> {
    const rows = await this.query('SELECT max(version) AS version FROM perfwatch_schema');
    return Number(rows[0]?.version);
  }

  /**
   * Deletes every point older than `cutoff`, oldest first, one time slice per transaction
   * (`sliceMillis`, default 1 h), so a collection waits at most for one slice; then the series left
   * without points, and a checkpoint. DuckDB reuses the freed blocks but does not shrink the file.
   * `nowMillis` is the clock of the rollup run first (see `rollUp`), default `Date.now()`.
   */
  async deleteBefore(
    cutoff: Date,
    options: { sliceMillis?: number; rollupCutoff?: Date; nowMillis?: number } = {},
  ): Promise<RetentionSummary> {
    this.assertOpen();
    const sliceUs = BigInt(options.sliceMillis ?? 3_600_000) * 1000n;
    // Never delete raw points that are not rolled up yet: roll up first, then stop at the first
    // minute that is still incomplete.
    const rolled = await this.rollUp(options.nowMillis);
    let cutoffUs = BigInt(cutoff.getTime()) * 1000n;
    const [state] = await this.query(
      `SELECT epoch_us(min(complete_until)) AS complete_until,
              (SELECT count(*) FROM points_number) + (SELECT count(*) FROM points_histogram) AS rollable
       FROM rollup_state`,
    );
    if (Number(state?.rollable) > 0) {
      const completeUntil = (state?.complete_until ?? null) as bigint | null;
      const limit = completeUntil ?? 0n;
      if (limit < cutoffUs) cutoffUs = limit;
    }
    let deletedPoints = 0;
    let batches = 0;
    for (let start = await this.oldestPointMicros(); start !== null && start < cutoffUs; ) {
      const end = start + sliceUs < cutoffUs ? start + sliceUs : cutoffUs;
      const deleted = await this.serialised(() => this.deleteBeforeIn(POINT_TABLES, 'time', end));
      deletedPoints += deleted;
      batches++;
      // A checkpoint per slice keeps each one short; one at the end would vacuum everything
      // deleted in a single stretch that every collection waits for.
      if (deleted > 0) await this.checkpoint();
      await yieldToEventLoop();
      // An empty slice means a gap: jump to the oldest point left instead of walking it.
      start = deleted > 0 ? end : await this.oldestPointMicros();
    }
    let deletedRollups = 0;
    if (options.rollupCutoff !== undefined) {
      const rollupCutoffUs = BigInt(options.rollupCutoff.getTime()) * 1000n;
      deletedRollups = await this.serialised(() =>
        this.deleteBeforeIn(ROLLUP_TABLES, 'minute', rollupCutoffUs),
      );
    }
    // Only series not seen since the cut-off can have lost all their points; most often none.
    const candidates = await this.query(
      'SELECT count(*) AS n FROM series WHERE last_seen < make_timestamp($1::BIGINT)',
      [cutoffUs],
    );
    const deletedSeries =
      Number(candidates[0]?.n) > 0 ? await this.serialised(() => this.deleteOrphanSeries(cutoffUs)) : 0;
    const records = await this.serialised(() => this.deleteOldRecords(cutoffUs));
    await this.checkpoint();
    const summary = {
      deletedPoints,
      deletedRollups,
      deletedSeries,
      ...records,
      batches,
      rolledUp: rolled.rows,
    };
    this.logger.info({ cutoff: cutoff.toISOString(), ...summary }, 'retention applied');
    return summary;
  }

  /** The analysis records retention prunes with the points (see RetentionSummary). */
  private async deleteOldRecords(
    cutoffUs: bigint,
  ): Promise<{ deletedAlertEvents: number; deletedRegressions: number }> {
    await this.writer.run('BEGIN TRANSACTION');
    try {
      const events = await this.writer.run(
        `DELETE FROM alert_events
         WHERE time < make_timestamp($1::BIGINT)
           AND event_id NOT IN (
             SELECT event_id FROM (
               SELECT event_id, state,
                      row_number() OVER (PARTITION BY rule, series_key ORDER BY event_id DESC) AS newest
               FROM alert_events)
             WHERE newest = 1 AND state IN ('pending', 'firing', 'nodata'))`,
        [cutoffUs],
      );
      const regressions = await this.writer.run(
        `DELETE FROM regressions WHERE status = 'resolved' AND resolved_at < make_timestamp($1::BIGINT)`,
        [cutoffUs],
      );
      await this.writer.run('COMMIT');
      return {
        deletedAlertEvents: Number(events.rowsChanged),
        deletedRegressions: Number(regressions.rowsChanged),
      };
    } catch (error) {
      await this.writer.run('ROLLBACK').catch(() => undefined);
      throw new StoreError(`retention delete in ${this.path} failed: ${messageOf(error)}`, { cause: error });
    }
  }

  private async oldestPointMicros(): Promise<bigint | null> {
    const [row] = await this.query(
      `SELECT min(t) AS t FROM (
         SELECT min(epoch_us(time)) AS t FROM points_number UNION ALL
         SELECT min(epoch_us(time)) FROM points_histogram UNION ALL
         SELECT min(epoch_us(time)) FROM points_exp_histogram UNION ALL
         SELECT min(epoch_us(time)) FROM points_summary)`,
    );
    return (row?.t ?? null) as bigint | null;
  }

  /**
   * Rolls up every complete minute not rolled up yet into the 1-minute rollup tables (see
   * schema V2). Batches of 6 h per transaction; collections are written in between.
   */
  async rollUp(nowMillis: number = Date.now()): Promise<RollupSummary> {
    this.assertOpen();
    return rollUp(
      this.writer,
      (work) =>
        this.serialised(async () => {
          await this.writer.run('BEGIN TRANSACTION');
          try {
            const result = await work();
            await this.writer.run('COMMIT');
            return result;
          } catch (error) {
            await this.writer.run('ROLLBACK').catch(() => undefined);
            throw new StoreError(`rolling up ${this.path} failed: ${messageOf(error)}`, { cause: error });
          }
        }),
      { nowMillis },
    );
  }

  /**
   * Writes a consistent copy of the history to `outPath` (temporary file, then an atomic rename),
   * which any tool can open read-only while perfwatch keeps writing the live file. Collections
   * wait while the copy runs (~0.2 s per million points).
   */
  async snapshot(outPath: string): Promise<SnapshotSummary> {
    const target = resolve(outPath);
    if (target === this.path || target === `${this.path}.wal`) {
      throw new ConfigError(
        'snapshotPath (PERFWATCH_SNAPSHOT_PATH)',
        `must not be the live history file ${this.path}`,
      );
    }
    return this.serialised(() => writeSnapshot(this.writer, target));
  }

  /** Hive-partitioned Parquet export (see exportParquet); reads run beside collections. */
  async exportParquet(options: ExportOptions): Promise<ExportSummary> {
    this.assertOpen();
    return this.trackRead(exportParquet(this.reader, options));
  }

  /** Bytes on disk: the database file plus its write-ahead log. */
  async sizeBytes(): Promise<number> {
    const sizes = await Promise.all(
      [this.path, `${this.path}.wal`].map((file) =>
        stat(file).then(
          (s) => s.size,
          () => 0,
        ),
      ),
    );
    return sizes[0]! + sizes[1]!;
  }

  /** Waits for pending writes, checkpoints and closes the file. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    // Closing a connection under a running query would hang it forever: interrupt until every
    // read has settled (a read may still be between prepare and execute on the first try).
    if (this.inflightReads.size > 0) {
      const settled = Promise.allSettled([...this.inflightReads]);
      let done = false;
      void settled.then(() => {
        done = true;
      });
      while (!done) {
        this.reader.interrupt();
        await Promise.race([settled, new Promise((resolve) => setTimeout(resolve, 10).unref())]);
      }
    }
    await this.writeChain.catch(() => undefined);
    try {
      await this.writer.run('CHECKPOINT');
    } catch (error) {
      this.logger.warn(
        { err: error, path: this.path },
        'checkpoint on close failed; the WAL is replayed on next open',
      );
    } finally {
      this.reader.closeSync();
      this.writer.closeSync();
      this.instance.closeSync();
      openPaths.delete(this.path);
    }
  }

  /** Changes whenever series were added to or deleted from the catalog (see SeriesMatchCache). */
  get seriesVersion(): number {
    return this.catalog.version;
  }

  /** Series in the catalog. */
  get seriesCount(): number {
    return this.catalog.size;
  }

  /**
   * The number points of the series readers ask for, held in memory from now on as they are
   * written, at least `horizonMillis` back from each series' newest point (see RecentPoints): for
   * readers that ask about the last minutes again and again, alert rules. One per store; a later
   * call may extend the horizon.
   */
  async keepRecentPoints(horizonMillis: number): Promise<RecentPoints> {
    if (this.recent === undefined) {
      // Started between writes: every point written after it is seen by it.
      await this.serialised(async () => {
        if (this.recent !== undefined) return;
        const [row] = (
          await this.writer.runAndReadAll('SELECT epoch_us(max(time)) AS t FROM points_number')
        ).getRowObjectsJS();
        this.recent = new RecentPoints(Number(row?.t ?? 0), {
          horizonMillis,
          // In turn with writes, so that none is both read here and added by write().
          loadPoints: (refs, histograms, sinceMicros, fromMicros, hold) =>
            this.serialised(async () => {
              const params = {
                refs: refs.join(','),
                since: timestampValue(BigInt(sinceMicros)),
                from: timestampValue(BigInt(fromMicros)),
              };
              hold(
                histograms
                  ? loadedHistograms(await this.query(RECENT_HISTOGRAMS_SQL, params))
                  : ((await this.queryNumbers(RECENT_POINTS_SQL, params)) as unknown as LoadedPoints),
              );
            }),
        });
      });
    }
    this.recent!.extendHorizon(horizonMillis);
    return this.recent!;
  }

  /**
   * Changes whenever a write, deletion, rollup or other writer task finishes (successful or not):
   * an answer computed from reads that started at one value may be stale at another. For caches
   * of query answers (the HTTP API's).
   */
  get dataVersion(): number {
    return this.finishedWrites;
  }

  private serialised<T>(task: () => Promise<T>): Promise<T> {
    if (this.closed) return Promise.reject(new ShutdownError(`MetricStore(${this.path})`));
    const run = this.writeChain.then(task, task).finally(() => {
      this.finishedWrites++;
    });
    this.writeChain = run.catch(() => undefined);
    return run;
  }

  private assertOpen(): void {
    if (this.closed) throw new ShutdownError(`MetricStore(${this.path})`);
  }

  private async write(batch: readonly StoredResourceMetrics[]): Promise<WriteSummary> {
    // Detectors (host.id, …) may still be resolving; the series identity needs the final set.
    for (const resourceMetrics of batch) await resourceMetrics.resource.waitForAsyncAttributes?.();
    let rows: CollectionRows;
    try {
      rows = collectionRows(batch, this.catalog);
    } catch (error) {
      this.catalog.rollback();
      throw new InvalidCollectionError(messageOf(error), { cause: error });
    }
    const newSeries = this.catalog.pendingSeries();
    const newSeriesCount = newSeries.length;
    try {
      const repeated = await dropRepeatedPoints(this.writer, rows);
      if (repeated > 0)
        this.logger.debug({ path: this.path, repeated }, 'points stored already were dropped');
    } catch (error) {
      this.catalog.rollback();
      throw new StoreError(`writing a collection to ${this.path} failed: ${messageOf(error)}`, {
        cause: error,
      });
    }
    const staleLastSeen = this.staleLastSeen(rows);
    const refused = {
      refusedPoints: rows.refusedPoints,
      refusedByCollection: rows.refusedByCollection,
      ...(rows.refusal === undefined ? {} : { refusal: rows.refusal }),
    };
    if (rows.refusedPoints > 0) {
      this.refusedPointsTotal += rows.refusedPoints;
      this.limitWarning.warn(
        { path: this.path, refusedPoints: rows.refusedPoints, refusedPointsTotal: this.refusedPointsTotal },
        `points of new series refused: ${rows.refusal}`,
      );
    }
    if (rows.pointCount === 0 && newSeriesCount === 0) return { points: 0, newSeries: 0, ...refused };

    try {
      await this.writer.run('BEGIN TRANSACTION');
      // Each native flush holds the event loop: the appends yield whenever they have held it for
      // a few milliseconds (StallBudget), so a collection does not stall the application.
      const stall = new StallBudget();
      if (newSeriesCount > 0) await this.append('series', seriesColumns(newSeries), stall);
      if (rows.numbers.refs.length > 0) await this.append('points_number', numberColumns(rows), stall);
      if (rows.histograms.refs.length > 0)
        await this.append('points_histogram', histogramColumns(rows), stall);
      if (rows.expHistograms.refs.length > 0)
        await this.append('points_exp_histogram', expHistogramColumns(rows), stall);
      if (rows.summaries.refs.length > 0) await this.append('points_summary', summaryColumns(rows), stall);
      if (staleLastSeen.refs.length > 0) {
        await this.writer.run(
          'UPDATE series SET last_seen = greatest(last_seen, $1) WHERE series_ref IN (SELECT unnest($2))',
          [timestampValue(staleLastSeen.time), listValue(staleLastSeen.refs)],
          [TIMESTAMP, LIST(UINTEGER)],
        );
      }
      await this.writer.run('COMMIT');
    } catch (error) {
      await this.writer.run('ROLLBACK').catch(() => undefined);
      this.catalog.rollback();
      throw new StoreError(`writing a collection to ${this.path} failed: ${messageOf(error)}`, {
        cause: error,
      });
    }
    this.catalog.commit();
    for (const entry of rows.seen) entry.newestMicros = entry.writeNewestMicros;
    this.recent?.add(rows.numbers, rows.seen, rows.newestMicros, rows.histograms);
    for (const entry of staleLastSeen.entries) entry.lastSeenPersistedMicros = staleLastSeen.time;
    return { points: rows.pointCount, newSeries: newSeriesCount, ...refused };
  }

  /**
   * Appends rows through DataChunks: filling vectors (natively where the columns allow) and
   * handing over 2048 rows per native call is ~4× faster than the Appender's per-value calls.
   * Between chunks and after the flush it yields to the event loop once `stall` says so.
   */
  private async append(table: string, columns: TableColumns, stall = new StallBudget()): Promise<void> {
    const appender = await this.writer.createAppender(table);
    try {
      const chunk = DuckDBDataChunk.create(columns.types, Math.min(CHUNK_ROWS, columns.rowCount));
      for (let offset = 0; offset < columns.rowCount; offset += CHUNK_ROWS) {
        if (offset > 0) {
          await stall.pause();
          chunk.reset();
        }
        const size = Math.min(CHUNK_ROWS, columns.rowCount - offset);
        chunk.rowCount = size;
        for (let column = 0; column < columns.fills.length; column++) {
          const fill = columns.fills[column]!;
          if (typeof fill === 'function') {
            const vector = chunk.getColumnVector(column);
            fill(vector, offset, size);
            vector.flush();
          } else fill.native(duckdb.data_chunk_get_vector(chunk.chunk, column), offset, size);
        }
        appender.appendDataChunk(chunk);
      }
      await stall.pause();
      appender.flushSync();
    } finally {
      appender.closeSync();
    }
    await stall.pause();
  }

  private async appendStatement({ appendTo, columns, idSequence }: AppendStatement): Promise<void> {
    if (columns.rowCount === 0) return;
    if (idSequence === undefined) return this.append(appendTo, columns);
    const ids = await this.writer.runAndReadAll(
      `SELECT nextval('${idSequence}') AS id FROM range(${columns.rowCount})`,
    );
    const idColumn = (ids.getColumnsJS()[0] as bigint[]).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    await this.append(appendTo, {
      types: [BIGINT, ...columns.types],
      rowCount: columns.rowCount,
      fills: [
        (vector, offset, size) => {
          for (let i = 0; i < size; i++) vector.setItem(i, idColumn[offset + i]!);
        },
        ...columns.fills,
      ],
    });
  }

  /** One retention transaction: rows of `tables` whose `column` (a trusted constant) is before `endUs`. */
  private async deleteBeforeIn(
    tables: readonly string[],
    column: 'time' | 'minute',
    endUs: bigint,
  ): Promise<number> {
    let deleted = 0;
    await this.writer.run('BEGIN TRANSACTION');
    try {
      for (const table of tables) {
        const result = await this.writer.run(
          `DELETE FROM ${table} WHERE ${column} < make_timestamp($1::BIGINT)`,
          [endUs],
        );
        deleted += Number(result.rowsChanged);
      }
      await this.writer.run('COMMIT');
      if (column === 'time' && deleted > 0) this.recent?.forgetBefore(Number(endUs));
    } catch (error) {
      await this.writer.run('ROLLBACK').catch(() => undefined);
      throw new StoreError(`retention delete in ${this.path} failed: ${messageOf(error)}`, { cause: error });
    }
    return deleted;
  }

  /** Series not seen since the cutoff and without any point left; the catalog forgets them too. */
  private async deleteOrphanSeries(cutoffUs: bigint): Promise<number> {
    const orphans = (
      await this.writer.runAndReadAll(
        `SELECT series_ref FROM series s
         WHERE s.last_seen < make_timestamp($1::BIGINT)
           AND NOT EXISTS (SELECT 1 FROM points_number p WHERE p.series_ref = s.series_ref)
           AND NOT EXISTS (SELECT 1 FROM points_histogram p WHERE p.series_ref = s.series_ref)
           AND NOT EXISTS (SELECT 1 FROM points_exp_histogram p WHERE p.series_ref = s.series_ref)
           AND NOT EXISTS (SELECT 1 FROM points_summary p WHERE p.series_ref = s.series_ref)
           AND NOT EXISTS (SELECT 1 FROM rollup_number_1m p WHERE p.series_ref = s.series_ref)
           AND NOT EXISTS (SELECT 1 FROM rollup_histogram_1m p WHERE p.series_ref = s.series_ref)`,
        [cutoffUs],
      )
    )
      .getRowObjectsJS()
      .map((row) => Number(row.series_ref));
    if (orphans.length === 0) return 0;
    await this.writer.run(
      'DELETE FROM series WHERE series_ref IN (SELECT unnest($1))',
      [listValue(orphans)],
      [LIST(UINTEGER)],
    );
    this.catalog.forget(new Set(orphans));
    return orphans.length;
  }

  /** Series whose persisted last_seen lags this collection by more than the granularity. */
  private staleLastSeen(rows: CollectionRows): { refs: number[]; entries: SeriesEntry[]; time: bigint } {
    const time = rows.newestMicros;
    // One comparison per series, no BigInt arithmetic (each result would be an allocation).
    const staleUpTo = time - this.lastSeenGranularityMicros;
    const entries = rows.seen.filter((entry) => entry.lastSeenPersistedMicros <= staleUpTo);
    return { refs: entries.map((entry) => entry.ref), entries, time };
  }
}

async function ensureWritableFolder(absolutePath: string): Promise<void> {
  const folder = dirname(absolutePath);
  try {
    await mkdir(folder, { recursive: true });
    await access(folder, fsConstants.W_OK);
  } catch (error) {
    throw new ConfigError(
      'dbPath (PERFWATCH_DB_PATH)',
      `folder ${folder} cannot be created or written: ${messageOf(error)}`,
      {
        cause: error,
      },
    );
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function seriesLimitsOf(options: MetricStoreOptions): SeriesLimits {
  const limit = (name: 'maxSeries' | 'maxSeriesPerMetric', fallback: number) => {
    const value = options[name] ?? fallback;
    if (!Number.isSafeInteger(value) || value < 1) {
      throw new ConfigError(name, `must be a positive integer, got ${String(value)}`);
    }
    return value;
  };
  return { maxSeries: limit('maxSeries', 100_000), maxSeriesPerMetric: limit('maxSeriesPerMetric', 50_000) };
}
