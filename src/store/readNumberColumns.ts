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
 * A LIST column of numbers, or of structs of numbers, in one chunk: row i's elements are
 * [offsets[i], offsets[i] + lengths[i]) of each field's array (a list of plain numbers has the one
 * field ''). A NULL list has no elements.
 */
export interface NumberListColumn {
  readonly offsets: Float64Array;
  readonly lengths: Float64Array;
  readonly fields: Readonly<Record<string, Float64Array>>;
}

/** The columns of one streamed chunk by name: numeric columns as numbers (NULL: NaN), LIST columns as lists. */
export type ChunkColumns = Record<string, Float64Array | NumberListColumn>;

/** Every column of one chunk: numeric ones as numbers, LIST ones of numbers (or of structs of numbers) as lists. */
export function chunkColumns(chunk: DuckDBDataChunk, names: readonly string[]): ChunkColumns {
  const count = chunk.rowCount;
  const out: ChunkColumns = {};
  for (const [c, name] of names.entries()) {
    const vector = duckdb.data_chunk_get_vector(chunk.chunk, c);
    const type = duckdb.vector_get_column_type(vector);
    out[name] =
      duckdb.get_type_id(type) === duckdb.Type.LIST
        ? readList(vector, type, count, name)
        : readColumn(chunk, c, count);
  }
  return out;
}

/** A LIST vector's entries (offset and length per row) and its elements, read like numeric columns. */
function readList(
  vector: duckdb.Vector,
  type: duckdb.LogicalType,
  count: number,
  name: string,
): NumberListColumn {
  const entries = duckdb.vector_get_data(vector, count * 16);
  const pairs = new BigUint64Array(entries.buffer as ArrayBuffer, entries.byteOffset, count * 2);
  const validity = duckdb.vector_get_validity(vector, Math.ceil(count / 64) * 8);
  const offsets = new Float64Array(count);
  const lengths = new Float64Array(count);
  for (let i = 0; i < count; i++) {
    if (validity && ((validity[i >> 3]! >> (i & 7)) & 1) === 0) continue;
    offsets[i] = Number(pairs[2 * i]!);
    lengths[i] = Number(pairs[2 * i + 1]!);
  }
  const child = duckdb.list_vector_get_child(vector);
  const size = duckdb.list_vector_get_size(vector);
  const childType = duckdb.list_type_child_type(type);
  const fields: Record<string, Float64Array> = {};
  if (duckdb.get_type_id(childType) === duckdb.Type.STRUCT) {
    for (let f = 0; f < duckdb.struct_type_child_count(childType); f++) {
      const fieldName = duckdb.struct_type_child_name(childType, f);
      fields[fieldName] = flatValues(duckdb.struct_vector_get_child(child, f), size, `${name}.${fieldName}`);
    }
  } else fields[''] = flatValues(child, size, name);
  return { offsets, lengths, fields };
}

/** A flat vector of a fixed-width numeric type as numbers; other types are refused. */
function flatValues(vector: duckdb.Vector, count: number, name: string): Float64Array {
  const values = fixedWidthValues(vector, count);
  if (values === undefined) throw new TypeError(`list column ${name} holds no fixed-width numbers`);
  return values;
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
