import {
  BOOLEAN,
  DOUBLE,
  type DuckDBType,
  type DuckDBValue,
  type DuckDBVector,
  INTEGER,
  LIST,
  MAP,
  mapValue,
  TIMESTAMP,
  timestampValue,
  UBIGINT,
  UINTEGER,
  VARCHAR,
} from '@duckdb/node-api';
import type duckdb from '@duckdb/node-bindings';
import type { CollectionRows } from './collectionRows.js';
import type { SeriesEntry } from './SeriesCatalog.js';
import {
  writeCounts,
  writeDoubles,
  writeInt32s,
  writeLists,
  writeTimestamps,
  writeUint32s,
} from './writeVector.js';

const BOUNDS_LIST = LIST(DOUBLE);
const COUNTS_LIST = LIST(UBIGINT);
const DOUBLE_LIST = LIST(DOUBLE);
const STRING_MAP = MAP(VARCHAR, VARCHAR);

function toMap(record: Readonly<Record<string, string>>) {
  return mapValue(Object.entries(record).map(([key, value]) => ({ key, value })));
}

/**
 * Writes rows `offset` to `offset + size - 1` of one column into a chunk's vector (row i at
 * i - offset) through node-api's vector class; the vector is flushed after.
 */
export type ColumnFill = (vector: DuckDBVector, offset: number, size: number) => void;

/** The same, straight into the native vector (see writeVector): the points tables' columns. */
export interface NativeColumnFill {
  readonly native: (vector: duckdb.Vector, offset: number, size: number) => void;
}

/** A table's rows as column types plus one filler per column. */
export interface TableColumns {
  readonly types: DuckDBType[];
  readonly rowCount: number;
  readonly fills: (ColumnFill | NativeColumnFill)[];
}

/**
 * Fillers from value getters, for the tables written a few rows at a time (series, alert
 * events); the points tables' columns are written natively.
 */
function fillsOf(getters: ((row: number) => DuckDBValue)[]): ColumnFill[] {
  return getters.map((valueAt) => (vector, offset, size) => {
    for (let i = 0; i < size; i++) vector.setItem(i, valueAt(offset + i));
  });
}

export function seriesColumns(entries: readonly SeriesEntry[]): TableColumns {
  const seen = entries.map((entry) => timestampValue(entry.lastSeenPersistedMicros));
  return {
    types: [
      UINTEGER,
      UBIGINT,
      VARCHAR,
      VARCHAR,
      VARCHAR,
      VARCHAR,
      VARCHAR,
      BOOLEAN,
      VARCHAR,
      VARCHAR,
      VARCHAR,
      VARCHAR,
      STRING_MAP,
      VARCHAR,
      VARCHAR,
      STRING_MAP,
      TIMESTAMP,
      TIMESTAMP,
    ],
    rowCount: entries.length,
    fills: fillsOf([
      (i) => entries[i]!.ref,
      (i) => entries[i]!.id,
      (i) => entries[i]!.identity.metricName,
      (i) => entries[i]!.identity.kind,
      (i) => entries[i]!.identity.unit,
      (i) => entries[i]!.identity.description,
      (i) => entries[i]!.identity.temporality,
      (i) => entries[i]!.identity.monotonic,
      (i) => entries[i]!.identity.resource.serviceName,
      (i) => entries[i]!.identity.resource.serviceInstanceId,
      (i) => entries[i]!.identity.resource.serviceVersion,
      (i) => entries[i]!.identity.resource.hostName,
      (i) => toMap(entries[i]!.identity.resource.attrs),
      (i) => entries[i]!.identity.scopeName,
      (i) => entries[i]!.identity.scopeVersion,
      (i) => toMap(entries[i]!.attrs),
      (i) => seen[i]!,
      (i) => seen[i]!,
    ]),
  };
}

export function numberColumns(rows: CollectionRows): TableColumns {
  const n = rows.numbers;
  return {
    types: [UINTEGER, TIMESTAMP, TIMESTAMP, DOUBLE],
    rowCount: n.refs.length,
    fills: [...pointFills(n), native(writeDoubles, n.values)],
  };
}

/** The columns every points table starts with: series_ref, start_time, time. */
function pointFills(rows: {
  readonly refs: number[];
  readonly startTimes: (bigint | null)[];
  readonly times: bigint[];
}): NativeColumnFill[] {
  return [
    native(writeUint32s, rows.refs),
    native(writeTimestamps, rows.startTimes),
    native(writeTimestamps, rows.times),
  ];
}

function native<T>(
  write: (vector: duckdb.Vector, values: readonly T[], offset: number, size: number) => void,
  values: readonly T[],
): NativeColumnFill {
  return { native: (vector, offset, size) => write(vector, values, offset, size) };
}

function lists(values: readonly (readonly number[])[], element: 'double' | 'ubigint'): NativeColumnFill {
  return { native: (vector, offset, size) => writeLists(vector, values, offset, size, element) };
}

export function histogramColumns(rows: CollectionRows): TableColumns {
  const h = rows.histograms;
  return {
    types: [UINTEGER, TIMESTAMP, TIMESTAMP, UBIGINT, DOUBLE, DOUBLE, DOUBLE, BOUNDS_LIST, COUNTS_LIST],
    rowCount: h.refs.length,
    fills: [
      ...pointFills(h),
      native(writeCounts, h.counts),
      native(writeDoubles, h.sums),
      native(writeDoubles, h.mins),
      native(writeDoubles, h.maxes),
      lists(h.bounds, 'double'),
      lists(h.bucketCounts, 'ubigint'),
    ],
  };
}

export function expHistogramColumns(rows: CollectionRows): TableColumns {
  const e = rows.expHistograms;
  return {
    types: [
      UINTEGER,
      TIMESTAMP,
      TIMESTAMP,
      UBIGINT,
      DOUBLE,
      DOUBLE,
      DOUBLE,
      INTEGER,
      UBIGINT,
      DOUBLE,
      INTEGER,
      COUNTS_LIST,
      INTEGER,
      COUNTS_LIST,
    ],
    rowCount: e.refs.length,
    fills: [
      ...pointFills(e),
      native(writeCounts, e.counts),
      native(writeDoubles, e.sums),
      native(writeDoubles, e.mins),
      native(writeDoubles, e.maxes),
      native(writeInt32s, e.scales),
      native(writeCounts, e.zeroCounts),
      native(writeDoubles, e.zeroThresholds),
      native(writeInt32s, e.positiveOffsets),
      lists(e.positiveCounts, 'ubigint'),
      native(writeInt32s, e.negativeOffsets),
      lists(e.negativeCounts, 'ubigint'),
    ],
  };
}

export function summaryColumns(rows: CollectionRows): TableColumns {
  const s = rows.summaries;
  return {
    types: [UINTEGER, TIMESTAMP, TIMESTAMP, UBIGINT, DOUBLE, DOUBLE_LIST, DOUBLE_LIST],
    rowCount: s.refs.length,
    fills: [
      ...pointFills(s),
      native(writeCounts, s.counts),
      native(writeDoubles, s.sums),
      lists(s.quantiles, 'double'),
      lists(s.values, 'double'),
    ],
  };
}
