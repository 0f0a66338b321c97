import {
  type DuckDBConnection,
  DuckDBDataChunk,
  TIMESTAMP,
  timestampValue,
  UINTEGER,
} from '@duckdb/node-api';
import duckdb from '@duckdb/node-bindings';
import type { CollectionRows, PointColumns } from './collectionRows.js';
import { writeTimestamps, writeUint32s } from './writeVector.js';

/** Rows per DataChunk handed to the Appender (DuckDB's vector size). */
const CHUNK_ROWS = 2048;

/** A point table's rows in a write, and what a repeat of one of them must equal besides its identity. */
interface TableRows {
  readonly columns: PointColumns;
  /** The row's value: a number point's value; a histogram's or summary's count and sum. */
  readonly value: (row: number) => readonly (number | null)[];
}

/** The point tables (trusted constant names) and their rows in a write. */
const TABLES = [
  {
    table: 'points_number',
    valueSql: 'p.value AS v0',
    rowsOf: (rows: CollectionRows): TableRows => ({
      columns: rows.numbers,
      value: (row) => [rows.numbers.values[row]!],
    }),
  },
  {
    table: 'points_histogram',
    valueSql: 'p.count::DOUBLE AS v0, p.sum AS v1',
    rowsOf: (rows: CollectionRows): TableRows => ({
      columns: rows.histograms,
      value: (row) => [rows.histograms.counts[row]!, rows.histograms.sums[row]!],
    }),
  },
  {
    table: 'points_exp_histogram',
    valueSql: 'p.count::DOUBLE AS v0, p.sum AS v1',
    rowsOf: (rows: CollectionRows): TableRows => ({
      columns: rows.expHistograms,
      value: (row) => [rows.expHistograms.counts[row]!, rows.expHistograms.sums[row]!],
    }),
  },
  {
    table: 'points_summary',
    valueSql: 'p.count::DOUBLE AS v0, p.sum AS v1',
    rowsOf: (rows: CollectionRows): TableRows => ({
      columns: rows.summaries,
      value: (row) => [rows.summaries.counts[row]!, rows.summaries.sums[row]!],
    }),
  },
] as const;

/**
 * Drops from a write the points that repeat one stored already or one earlier in the write: the
 * same series, start time and time, with the same value (a number point's value; a histogram's or
 * summary's count and sum, which a repeat of a cumulative point cannot keep unless nothing was
 * observed in between). An OpenTelemetry Collector sends a request again when it got no answer,
 * although it may have been stored: without this, a delta point sent twice counted twice. Points
 * of the same identity with another value are kept: the SDK stamps times in milliseconds, and two
 * collections within one millisecond give two cumulative points of one identity, the later with
 * more counts.
 *
 * Cheap because points come in time order per series: collectionRows marks only the points not
 * later than every point of their series so far (SeriesEntry.newestMicros, then the write's own),
 * and only those are looked up — in the write, then in the point table over their time range,
 * which the table's zonemaps narrow to a few row groups. A series loaded from the file starts from
 * its table's newest time, so after a restart only points not later than that are looked up.
 * Returns how many points were dropped; the rows left keep their order.
 */
export async function dropRepeatedPoints(
  connection: DuckDBConnection,
  rows: CollectionRows,
): Promise<number> {
  let dropped = 0;
  for (const { table, valueSql, rowsOf } of TABLES) {
    const own = rowsOf(rows);
    const { columns } = own;
    if (columns.mayRepeat.length === 0) continue;
    const drop = repeatsWithin(own);
    const candidates = columns.mayBeStored.filter((row) => drop[row] === 0);
    if (candidates.length > 0) {
      const { lo, hi } = timeRange(columns.times, candidates);
      for (const row of await storedRepeats(connection, table, valueSql, own, candidates, lo, hi))
        drop[row] = 1;
    }
    dropped += compact(columns, drop);
  }
  rows.pointCount -= dropped;
  return dropped;
}

/** 1 for each row repeating an earlier one of the write (among the series that may repeat). */
function repeatsWithin({ columns, value }: TableRows): Uint8Array {
  const { refs, startTimes, times } = columns;
  const drop = new Uint8Array(refs.length);
  const rowsOfRef = new Map<number, number[]>();
  for (const row of columns.mayRepeat) rowsOfRef.set(refs[row]!, []);
  for (let row = 0; row < refs.length; row++) rowsOfRef.get(refs[row]!)?.push(row);
  for (const rowsOf of rowsOfRef.values()) {
    // Mostly one row per series and write: keys only for series written more than once.
    if (rowsOf.length < 2) continue;
    const seen = new Set<string>();
    for (const row of rowsOf) {
      // String(NaN) is 'NaN': NaN repeats NaN, as in DuckDB.
      const key = `${startTimes[row] ?? ''} ${times[row]} ${value(row).join(' ')}`;
      if (seen.has(key)) drop[row] = 1;
      else seen.add(key);
    }
  }
  return drop;
}

function timeRange(times: readonly bigint[], rowsOf: readonly number[]): { lo: bigint; hi: bigint } {
  let lo = times[rowsOf[0]!]!;
  let hi = lo;
  for (const row of rowsOf) {
    const time = times[row]!;
    if (time < lo) lo = time;
    if (time > hi) hi = time;
  }
  return { lo, hi };
}

/** The candidates of a check, on the writer connection only (a temporary table is the connection's own). */
const CANDIDATES = 'perfwatch_repeat_candidates';
const CANDIDATE_TYPES = [UINTEGER, UINTEGER, TIMESTAMP, TIMESTAMP];
const prepared = new WeakSet<DuckDBConnection>();

/**
 * The candidate rows that repeat a point of `table`: the candidates go to a temporary table
 * through the Appender (text lists or list parameters of thousands of items cost DuckDB far more
 * to plan than the join costs to run), the stored points of the same identity are read with their
 * values, which are compared here.
 */
async function storedRepeats(
  connection: DuckDBConnection,
  table: string,
  valueSql: string,
  { columns, value }: TableRows,
  candidates: readonly number[],
  lo: bigint,
  hi: bigint,
): Promise<number[]> {
  if (!prepared.has(connection)) {
    await connection.run(
      `CREATE TEMP TABLE IF NOT EXISTS ${CANDIDATES} (row UINTEGER, series_ref UINTEGER, start_time TIMESTAMP, time TIMESTAMP)`,
    );
    prepared.add(connection);
  }
  const refs = candidates.map((row) => columns.refs[row]!);
  const starts = candidates.map((row) => columns.startTimes[row]!);
  const times = candidates.map((row) => columns.times[row]!);
  try {
    await appendCandidates(connection, [candidates, refs, starts, times]);
    const result = await connection.runAndReadAll(
      `SELECT c.row, ${valueSql} FROM ${CANDIDATES} c JOIN ${table} p
         ON p.series_ref = c.series_ref AND p.time = c.time AND p.start_time IS NOT DISTINCT FROM c.start_time
       WHERE p.time >= $lo AND p.time <= $hi`,
      { lo: timestampValue(lo), hi: timestampValue(hi) },
      { lo: TIMESTAMP, hi: TIMESTAMP },
    );
    const repeats: number[] = [];
    for (const stored of result.getRowObjectsJS()) {
      const row = Number(stored.row);
      const own = value(row);
      if (own.every((part, i) => sameNumber(part, (stored[`v${i}`] ?? null) as number | null)))
        repeats.push(row);
    }
    return repeats;
  } finally {
    await connection.run(`DELETE FROM ${CANDIDATES}`);
  }
}

/** Appends the candidates' columns (row, series_ref, start_time, time), natively as MetricStore appends points. */
async function appendCandidates(
  connection: DuckDBConnection,
  [rows, refs, starts, times]: [
    readonly number[],
    readonly number[],
    readonly (bigint | null)[],
    readonly bigint[],
  ],
): Promise<void> {
  const appender = await connection.createAppender(CANDIDATES, 'main', 'temp');
  try {
    const chunk = DuckDBDataChunk.create(CANDIDATE_TYPES, Math.min(CHUNK_ROWS, rows.length));
    for (let offset = 0; offset < rows.length; offset += CHUNK_ROWS) {
      if (offset > 0) chunk.reset();
      const size = Math.min(CHUNK_ROWS, rows.length - offset);
      chunk.rowCount = size;
      const vector = (column: number) => duckdb.data_chunk_get_vector(chunk.chunk, column);
      writeUint32s(vector(0), rows, offset, size);
      writeUint32s(vector(1), refs, offset, size);
      writeTimestamps(vector(2), starts, offset, size);
      writeTimestamps(vector(3), times, offset, size);
      appender.appendDataChunk(chunk);
    }
    appender.flushSync();
  } finally {
    appender.closeSync();
  }
}

/** Equal numbers or both null; NaN equals NaN, as DuckDB compares them. */
function sameNumber(a: number | null, b: number | null): boolean {
  if (a === null || b === null) return a === b;
  return a === b || (Number.isNaN(a) && Number.isNaN(b));
}

/**
 * Removes the dropped rows from every column, in place (every array of a PointColumns object is a
 * column of its rows, see collectionRows); how many there were.
 */
function compact(columns: PointColumns, drop: Uint8Array): number {
  let dropped = 0;
  for (const flag of drop) dropped += flag;
  columns.mayRepeat = [];
  columns.mayBeStored = [];
  if (dropped === 0) return 0;
  for (const column of Object.values(columns) as unknown[][]) {
    if (column.length !== drop.length) continue;
    let kept = 0;
    for (let row = 0; row < drop.length; row++) if (drop[row] === 0) column[kept++] = column[row];
    column.length = kept;
  }
  return dropped;
}
