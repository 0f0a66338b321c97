import { type DuckDBDataChunk, DuckDBMaterializedResult, type DuckDBResult } from '@duckdb/node-api';
import duckdb from '@duckdb/node-bindings';

/** Numeric columns by name; NULL is NaN. */
export type NumberColumns = Record<string, Float64Array>;

interface TypedArrayType<T> {
  readonly BYTES_PER_ELEMENT: number;
  new (buffer: ArrayBuffer, byteOffset: number, length: number): ArrayLike<T>;
}

/** Typed arrays over a flat vector's data, for the column types read without a converter. */
const FIXED_WIDTH: Partial<Record<duckdb.Type, TypedArrayType<number> | TypedArrayType<bigint>>> = {
  [duckdb.Type.TINYINT]: Int8Array,
  [duckdb.Type.SMALLINT]: Int16Array,
  [duckdb.Type.INTEGER]: Int32Array,
  [duckdb.Type.BIGINT]: BigInt64Array,
  [duckdb.Type.UTINYINT]: Uint8Array,
  [duckdb.Type.USMALLINT]: Uint16Array,
  [duckdb.Type.UINTEGER]: Uint32Array,
  [duckdb.Type.UBIGINT]: BigUint64Array,
  [duckdb.Type.FLOAT]: Float32Array,
  [duckdb.Type.DOUBLE]: Float64Array,
};

/**
 * Reads a result of numeric columns chunk by chunk straight from the vectors into typed arrays:
 * no row objects and no per-value converter, which for the hundreds of thousands of
 * (group, bucket, value) rows of a bulk series read is most of the cost. BIGINT and HUGEINT
 * values become (possibly rounded) numbers.
 */
export async function readNumberColumns(result: DuckDBResult): Promise<NumberColumns> {
  const names = result.columnNames();
  const parts: Float64Array[][] = names.map(() => []);
  let rows = 0;
  const read = (chunk: DuckDBDataChunk) => {
    for (let c = 0; c < names.length; c++) parts[c]!.push(readColumn(chunk, c, chunk.rowCount));
    rows += chunk.rowCount;
  };
  if (result instanceof DuckDBMaterializedResult) {
    // Already in memory: its chunks are read synchronously, not one awaited native call each.
    for (let i = 0; i < result.chunkCount; i++) read(result.getChunk(i));
  } else {
    for (
      let chunk = await result.fetchChunk();
      chunk !== null && chunk.rowCount > 0;
      chunk = await result.fetchChunk()
    )
      read(chunk);
  }
  const out: NumberColumns = {};
  for (const [c, name] of names.entries()) {
    const column = new Float64Array(rows);
    let offset = 0;
    for (const part of parts[c]!) {
      column.set(part, offset);
      offset += part.length;
    }
    out[name] = column;
  }
  return out;
}

/**
 * One column of a chunk as numbers. Fixed-width numeric types are read from the vector's memory
 * through DuckDB's C API (data pointer and validity mask, as the node-api vectors do), since
 * `getItem` tests validity with BigInt arithmetic per value, which costs more than the query; other
 * types go through `getItem`.
 */
function readColumn(chunk: DuckDBDataChunk, column: number, count: number): Float64Array {
  if (count === 0) return new Float64Array(0);
  const fixed = fixedWidthValues(duckdb.data_chunk_get_vector(chunk.chunk, column), count);
  if (fixed !== undefined) return fixed;
  const values = new Float64Array(count);
  const generic = chunk.getColumnVector(column);
  for (let i = 0; i < count; i++) {
    const value = generic.getItem(i);
    values[i] = value === null ? Number.NaN : typeof value === 'bigint' ? Number(value) : (value as number);
  }
  return values;
}

/** A flat vector of a fixed-width numeric type as numbers (NULL: NaN); undefined for other types. */
function fixedWidthValues(vector: duckdb.Vector, count: number): Float64Array | undefined {
  const Typed = FIXED_WIDTH[duckdb.get_type_id(duckdb.vector_get_column_type(vector))];
  if (Typed === undefined) return undefined;
  const values = new Float64Array(count);
  if (count === 0) return values;
  const data = duckdb.vector_get_data(vector, count * Typed.BYTES_PER_ELEMENT);
  const items = new Typed(data.buffer as ArrayBuffer, data.byteOffset, count);
  if (typeof items[0] === 'bigint') for (let i = 0; i < count; i++) values[i] = Number(items[i]);
  else values.set(items as ArrayLike<number>);
  // The mask is absent when every value is valid; else bit i (of little-endian 64-bit words) is row i.
  const validity = duckdb.vector_get_validity(vector, Math.ceil(count / 64) * 8);
  if (validity) {
    for (let i = 0; i < count; i++) if (((validity[i >> 3]! >> (i & 7)) & 1) === 0) values[i] = Number.NaN;
  }
  return values;
}
