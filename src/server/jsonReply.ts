/** A reply body as JSON. DuckDB answers BIGINT columns as bigint, which JSON.stringify refuses. */
export function jsonReply(payload: unknown): string {
  return JSON.stringify(payload, jsonReplacer);
}

function jsonReplacer(_key: string, value: unknown): unknown {
  if (typeof value === 'bigint') {
    return value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER)
      ? Number(value)
      : value.toString();
  }
  return value;
}
