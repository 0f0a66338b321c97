import duckdb from '@duckdb/node-bindings';

/**
 * Writers of one chunk column straight into DuckDB's native vector: the values go into a typed
 * array once and are copied over in one call. node-api's vector classes cost a wrapper value
 * per list (a `listValue` and a BigInt per bucket count), BigInt arithmetic per validity bit,
 * and a second pass in `flush`; for the points tables, histograms above all, that was most of
 * an append's main-thread time.
 *
 * Each writes rows `offset` to `offset + size - 1` of `values` as rows 0 to `size - 1` of
 * `vector`, whose chunk holds `size` rows (at most DuckDB's vector size, 2048).
 */

/** The word halves of a uint64 in a Uint32Array: this is little-endian nearly everywhere. */
const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;
const LOW = LITTLE_ENDIAN ? 0 : 1;
const HIGH = 1 - LOW;
const TWO_32 = 2 ** 32;

/** Reused between calls (JavaScript runs them one at a time); list children grow as needed. */
let scratch = new ArrayBuffer(2048 * 16);
function scratchOf(bytes: number): ArrayBuffer {
  if (scratch.byteLength < bytes) scratch = new ArrayBuffer(Math.max(bytes, scratch.byteLength * 2));
  return scratch;
}
let validityScratch = new BigUint64Array(32);

/** Sets the validity of rows 0..size-1: row i valid unless `isNull(i)`; always written, so a reused chunk keeps no stale bit. */
function writeValidity(vector: duckdb.Vector, size: number, isNull: (row: number) => boolean): void {
  const words = Math.ceil(size / 64);
  if (validityScratch.length < words) validityScratch = new BigUint64Array(words);
  const halves = new Uint32Array(validityScratch.buffer, 0, words * 2);
  halves.fill(0xffffffff);
  let any = false;
  for (let row = 0; row < size; row++) {
    if (!isNull(row)) continue;
    any = true;
    const word = row >>> 6;
    const bit = row & 63;
    const half = word * 2 + (bit < 32 ? LOW : HIGH);
    halves[half]! &= ~(1 << (bit & 31));
  }
  if (!any) return;
  duckdb.vector_ensure_validity_writable(vector);
  duckdb.copy_data_to_vector_validity(vector, 0, halves.buffer, 0, words * 8);
}

/** UINTEGER (series refs). */
export function writeUint32s(
  vector: duckdb.Vector,
  values: readonly number[],
  offset: number,
  size: number,
): void {
  const data = new Uint32Array(scratchOf(size * 4), 0, size);
  for (let i = 0; i < size; i++) data[i] = values[offset + i]!;
  duckdb.copy_data_to_vector(vector, 0, data.buffer, 0, size * 4);
}

/** INTEGER (exponential histogram scales and offsets). */
export function writeInt32s(
  vector: duckdb.Vector,
  values: readonly number[],
  offset: number,
  size: number,
): void {
  const data = new Int32Array(scratchOf(size * 4), 0, size);
  for (let i = 0; i < size; i++) data[i] = values[offset + i]!;
  duckdb.copy_data_to_vector(vector, 0, data.buffer, 0, size * 4);
}

/** DOUBLE; null is SQL NULL, NaN and ±Infinity are stored as such. */
export function writeDoubles(
  vector: duckdb.Vector,
  values: readonly (number | null)[],
  offset: number,
  size: number,
): void {
  writeNullable(vector, values, offset, size, new Float64Array(scratchOf(size * 8), 0, size));
}

/** TIMESTAMP from µs since the epoch; null is SQL NULL. */
export function writeTimestamps(
  vector: duckdb.Vector,
  micros: readonly (bigint | null)[],
  offset: number,
  size: number,
): void {
  writeNullable(vector, micros, offset, size, new BigInt64Array(scratchOf(size * 8), 0, size));
}

/** Fills `data` (a typed array of `size` items over the scratch) and the validity of NULLs. */
function writeNullable<T extends number | bigint>(
  vector: duckdb.Vector,
  values: readonly (T | null)[],
  offset: number,
  size: number,
  data: { [index: number]: T; readonly buffer: ArrayBufferLike; readonly byteLength: number },
): void {
  let nulls = false;
  for (let i = 0; i < size; i++) {
    const value = values[offset + i]!;
    if (value === null) nulls = true;
    else data[i] = value;
  }
  duckdb.copy_data_to_vector(vector, 0, data.buffer as ArrayBuffer, 0, data.byteLength);
  if (nulls) writeValidity(vector, size, (row) => values[offset + row] === null);
}

/** Writes non-negative safe integers as uint64 halves, without a BigInt each. */
function setUint64(halves: Uint32Array, index: number, value: number, column: string): void {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new RangeError(`${column} must be a non-negative integer below 2^53, got ${value}`);
  }
  halves[index * 2 + LOW] = value % TWO_32;
  halves[index * 2 + HIGH] = Math.floor(value / TWO_32);
}

/** UBIGINT counts. */
export function writeCounts(
  vector: duckdb.Vector,
  values: readonly number[],
  offset: number,
  size: number,
): void {
  const halves = new Uint32Array(scratchOf(size * 8), 0, size * 2);
  for (let i = 0; i < size; i++) setUint64(halves, i, values[offset + i]!, 'a count');
  duckdb.copy_data_to_vector(vector, 0, halves.buffer, 0, size * 8);
}

/**
 * LIST(DOUBLE) or LIST(UBIGINT), none of them NULL: the list entries (offset and length, two
 * uint64 per row) and every element into the child vector, sized to hold them all.
 */
export function writeLists(
  vector: duckdb.Vector,
  lists: readonly (readonly number[])[],
  offset: number,
  size: number,
  element: 'double' | 'ubigint',
): void {
  let total = 0;
  for (let i = 0; i < size; i++) total += lists[offset + i]!.length;
  // Entries first, in a buffer of their own: the elements' buffer below may be the scratch.
  const entries = new Uint32Array(size * 4);
  let position = 0;
  for (let i = 0; i < size; i++) {
    const length = lists[offset + i]!.length;
    entries[i * 4 + LOW] = position % TWO_32;
    entries[i * 4 + HIGH] = Math.floor(position / TWO_32);
    entries[i * 4 + 2 + LOW] = length;
    position += length;
  }
  duckdb.list_vector_reserve(vector, total);
  duckdb.list_vector_set_size(vector, total);
  duckdb.copy_data_to_vector(vector, 0, entries.buffer, 0, size * 16);
  if (total === 0) return;
  const child = duckdb.list_vector_get_child(vector);
  if (element === 'double') {
    const data = new Float64Array(scratchOf(total * 8), 0, total);
    let at = 0;
    for (let i = 0; i < size; i++) {
      const list = lists[offset + i]!;
      for (let j = 0; j < list.length; j++) data[at++] = list[j]!;
    }
    duckdb.copy_data_to_vector(child, 0, data.buffer, 0, total * 8);
  } else {
    const halves = new Uint32Array(scratchOf(total * 8), 0, total * 2);
    let at = 0;
    for (let i = 0; i < size; i++) {
      const list = lists[offset + i]!;
      for (let j = 0; j < list.length; j++) setUint64(halves, at++, list[j]!, 'a bucket count');
    }
    duckdb.copy_data_to_vector(child, 0, halves.buffer, 0, total * 8);
  }
}
