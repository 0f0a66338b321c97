import {
  BIGINT,
  DOUBLE,
  DuckDBDataChunk,
  DuckDBInstance,
  INTEGER,
  LIST,
  TIMESTAMP,
  UBIGINT,
  UINTEGER,
} from '@duckdb/node-api';
import duckdb from '@duckdb/node-bindings';
import { describe, expect, it } from 'vitest';
import {
  writeCounts,
  writeDoubles,
  writeInt32s,
  writeLists,
  writeTimestamps,
  writeUint32s,
} from '../../src/store/writeVector.js';

const ROWS = 5000; // three chunks of at most 2048 rows, the last one partial
const CHUNK = 2048;

/** NULLs scattered over both halves of the validity words in the first and last chunks, none in the middle one. */
const isNull = (i: number) =>
  (i % 7 === 3 || (i >= 130 && i <= 200) || i % 64 === 63) && (i < 2048 || i >= 4096);
const refs = Array.from({ length: ROWS }, (_, i) => (i * 2_654_435_761) % 2 ** 32);
const ints = Array.from({ length: ROWS }, (_, i) => i * 3 - 7000);
const micros = Array.from({ length: ROWS }, (_, i) =>
  isNull(i) ? null : 1_790_000_000_000_000n + BigInt(i) * 1_000_003n - (i % 2 ? 0n : 5_000_000_000_000_000n),
);
const doubles = Array.from({ length: ROWS }, (_, i) =>
  isNull(i)
    ? null
    : i % 11 === 0
      ? Number.NaN
      : i % 13 === 0
        ? Number.POSITIVE_INFINITY
        : i % 17 === 0
          ? -0
          : i / 3 - 100.25,
);
const counts = Array.from({ length: ROWS }, (_, i) => (i % 5 === 0 ? i * 4_294_967_311 : i));
// Lists of 0 to 20 elements; counts beyond 2^32 in some.
const doubleLists = Array.from({ length: ROWS }, (_, i) =>
  Array.from({ length: i % 21 }, (_, j) => i + j / 8),
);
const countLists = Array.from({ length: ROWS }, (_, i) =>
  Array.from({ length: (i * 7) % 16 }, (_, j) => (j === 3 ? 2 ** 40 + i : i * j)),
);

describe('writeVector', () => {
  it('writes every column type as node-api would read it back, across chunks and validity words', async () => {
    const instance = await DuckDBInstance.create(':memory:');
    const connection = await instance.connect();
    try {
      await connection.run(`CREATE TABLE t (
        ref UINTEGER, int INTEGER, stamp TIMESTAMP, value DOUBLE, count UBIGINT,
        bounds DOUBLE[], buckets UBIGINT[])`);
      const types = [UINTEGER, INTEGER, TIMESTAMP, DOUBLE, UBIGINT, LIST(DOUBLE), LIST(UBIGINT)];
      const appender = await connection.createAppender('t');
      // One chunk reused for every slice, as MetricStore.append does: nothing may leak from one
      // slice into the next (validity bits, list sizes).
      const chunk = DuckDBDataChunk.create(types, CHUNK);
      for (let offset = 0; offset < ROWS; offset += CHUNK) {
        if (offset > 0) chunk.reset();
        const size = Math.min(CHUNK, ROWS - offset);
        chunk.rowCount = size;
        const vector = (column: number) => duckdb.data_chunk_get_vector(chunk.chunk, column);
        writeUint32s(vector(0), refs, offset, size);
        writeInt32s(vector(1), ints, offset, size);
        writeTimestamps(vector(2), micros, offset, size);
        writeDoubles(vector(3), doubles, offset, size);
        writeCounts(vector(4), counts, offset, size);
        writeLists(vector(5), doubleLists, offset, size, 'double');
        writeLists(vector(6), countLists, offset, size, 'ubigint');
        appender.appendDataChunk(chunk);
      }
      appender.flushSync();
      appender.closeSync();

      const reader = await connection.runAndReadAll(
        `SELECT ref, int, epoch_us(stamp) AS at, value, count, bounds, buckets FROM t`,
      );
      const rows = reader.getRowObjectsJS();
      expect(rows).toHaveLength(ROWS);
      for (let i = 0; i < ROWS; i++) {
        const row = rows[i]!;
        expect(row.ref).toBe(refs[i]);
        expect(row.int).toBe(ints[i]);
        expect(row.at).toBe(micros[i]);
        expect(Object.is(row.value, doubles[i]) || row.value === doubles[i]).toBe(true);
        expect(row.count).toBe(BigInt(counts[i]!));
        expect(row.bounds).toEqual(doubleLists[i]);
        expect(row.buckets).toEqual(countLists[i]!.map((count) => BigInt(count)));
      }
    } finally {
      connection.closeSync();
      instance.closeSync();
    }
  });

  it('refuses a count that is not a non-negative safe integer, naming it', () => {
    const chunk = DuckDBDataChunk.create([UBIGINT, LIST(UBIGINT), BIGINT], 2);
    const vector = (column: number) => duckdb.data_chunk_get_vector(chunk.chunk, column);
    expect(() => writeCounts(vector(0), [1, 2.5], 0, 2)).toThrow(
      /a count must be a non-negative integer.*2\.5/,
    );
    expect(() => writeCounts(vector(0), [-1, 2], 0, 2)).toThrow(/a count must be.*-1/);
    expect(() => writeLists(vector(1), [[1], [2 ** 53]], 0, 2, 'ubigint')).toThrow(/a bucket count/);
  });
});
