import {
  BOOLEAN,
  DOUBLE,
  type DuckDBTimestampValue,
  type DuckDBType,
  type DuckDBValue,
  type DuckDBVector,
  INTEGER,
  LIST,
  listValue,
  MAP,
  mapValue,
  TIMESTAMP,
  timestampValue,
  UBIGINT,
  UINTEGER,
  VARCHAR,
} from '@duckdb/node-api';
import type { CollectionRows } from './collectionRows.js';
import type { SeriesEntry } from './SeriesCatalog.js';

const BOUNDS_LIST = LIST(DOUBLE);
const COUNTS_LIST = LIST(UBIGINT);
const DOUBLE_LIST = LIST(DOUBLE);
const STRING_MAP = MAP(VARCHAR, VARCHAR);

function toMap(record: Readonly<Record<string, string>>) {
  return mapValue(Object.entries(record).map(([key, value]) => ({ key, value })));
}

/**
 * Converts µs to DuckDB timestamp values, reusing the last one: the rows of a collection share
 * their end time (and mostly their start time), so this saves an allocation per row.
 */
function timestampConverter(): (micros: bigint | null) => DuckDBTimestampValue | null {
  let lastMicros: bigint | undefined;
  let lastValue: DuckDBTimestampValue | undefined;
  return (micros) => {
    if (micros === null) return null;
    if (micros !== lastMicros || lastValue === undefined) {
      lastMicros = micros;
      lastValue = timestampValue(micros);
    }
    return lastValue;
  };
}

/** Writes rows `offset` to `offset + size - 1` of one column into a chunk's vector (row i at i - offset). */
export type ColumnFill = (vector: DuckDBVector, offset: number, size: number) => void;

/** A table's rows as column types plus one filler per column. */
export interface TableColumns {
  readonly types: DuckDBType[];
  readonly rowCount: number;
  readonly fills: ColumnFill[];
}

/**
 * Fillers from value getters. The hot columns (numeric points) have their own loops instead:
 * a loop shared by every column sees every vector class and getter, and V8 cannot inline them.
 */
function fillsOf(getters: ((row: number) => DuckDBValue)[]): ColumnFill[] {
  return getters.map((valueAt) => (vector, offset, size) => {
    for (let i = 0; i < size; i++) vector.setItem(i, valueAt(offset + i));
  });
}

/** Histogram bounds are one array per instrument, shared by its points: convert each once. */
const boundsLists = new WeakMap<readonly number[], DuckDBValue>();
function boundsList(bounds: readonly number[]): DuckDBValue {
  let list = boundsLists.get(bounds);
  if (list === undefined) {
    list = listValue(bounds);
    boundsLists.set(bounds, list);
  }
  return list;
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
  const startTime = timestampConverter();
  const time = timestampConverter();
  return {
    types: [UINTEGER, TIMESTAMP, TIMESTAMP, DOUBLE],
    rowCount: n.refs.length,
    fills: [
      (vector, offset, size) => {
        for (let i = 0; i < size; i++) vector.setItem(i, n.refs[offset + i]!);
      },
      (vector, offset, size) => {
        for (let i = 0; i < size; i++) vector.setItem(i, startTime(n.startTimes[offset + i]!));
      },
      (vector, offset, size) => {
        for (let i = 0; i < size; i++) vector.setItem(i, time(n.times[offset + i]!));
      },
      (vector, offset, size) => {
        for (let i = 0; i < size; i++) vector.setItem(i, n.values[offset + i]!);
      },
    ],
  };
}

/** BigInts of small counts, made once: most buckets of most histograms hold small counts. */
const SMALL_BIGINTS = Array.from({ length: 4096 }, (_, i) => BigInt(i));

function countsList(counts: readonly number[]) {
  return listValue(counts.map((count) => SMALL_BIGINTS[count] ?? BigInt(count)));
}

export function histogramColumns(rows: CollectionRows): TableColumns {
  const h = rows.histograms;
  const startTime = timestampConverter();
  const time = timestampConverter();
  return {
    types: [UINTEGER, TIMESTAMP, TIMESTAMP, UBIGINT, DOUBLE, DOUBLE, DOUBLE, BOUNDS_LIST, COUNTS_LIST],
    rowCount: h.refs.length,
    fills: fillsOf([
      (i) => h.refs[i]!,
      (i) => startTime(h.startTimes[i]!),
      (i) => time(h.times[i]!),
      (i) => BigInt(h.counts[i]!),
      (i) => h.sums[i]!,
      (i) => h.mins[i]!,
      (i) => h.maxes[i]!,
      (i) => boundsList(h.bounds[i]!),
      (i) => countsList(h.bucketCounts[i]!),
    ]),
  };
}

export function expHistogramColumns(rows: CollectionRows): TableColumns {
  const e = rows.expHistograms;
  const startTime = timestampConverter();
  const time = timestampConverter();
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
    fills: fillsOf([
      (i) => e.refs[i]!,
      (i) => startTime(e.startTimes[i]!),
      (i) => time(e.times[i]!),
      (i) => BigInt(e.counts[i]!),
      (i) => e.sums[i]!,
      (i) => e.mins[i]!,
      (i) => e.maxes[i]!,
      (i) => e.scales[i]!,
      (i) => BigInt(e.zeroCounts[i]!),
      (i) => e.zeroThresholds[i]!,
      (i) => e.positiveOffsets[i]!,
      (i) => countsList(e.positiveCounts[i]!),
      (i) => e.negativeOffsets[i]!,
      (i) => countsList(e.negativeCounts[i]!),
    ]),
  };
}

export function summaryColumns(rows: CollectionRows): TableColumns {
  const s = rows.summaries;
  const startTime = timestampConverter();
  const time = timestampConverter();
  return {
    types: [UINTEGER, TIMESTAMP, TIMESTAMP, UBIGINT, DOUBLE, DOUBLE_LIST, DOUBLE_LIST],
    rowCount: s.refs.length,
    fills: fillsOf([
      (i) => s.refs[i]!,
      (i) => startTime(s.startTimes[i]!),
      (i) => time(s.times[i]!),
      (i) => BigInt(s.counts[i]!),
      (i) => s.sums[i]!,
      (i) => listValue(s.quantiles[i]!),
      (i) => listValue(s.values[i]!),
    ]),
  };
}
