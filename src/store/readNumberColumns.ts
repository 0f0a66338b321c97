import { type DuckDBDataChunk, DuckDBMaterializedResult, type DuckDBResult } from '@duckdb/node-api';

/** Numeric columns by name; NULL is NaN. */
export type NumberColumns = Record<string, Float64Array>;

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
    const count = chunk.rowCount;
    for (let c = 0; c < names.length; c++) {
      const vector = chunk.getColumnVector(c);
      const values = new Float64Array(count);
      for (let i = 0; i < count; i++) {
        const value = vector.getItem(i);
        values[i] =
          value === null ? Number.NaN : typeof value === 'bigint' ? Number(value) : (value as number);
      }
      parts[c]!.push(values);
    }
    rows += count;
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
