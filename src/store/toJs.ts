import {
  DuckDBMapValue,
  DuckDBTypeId,
  type DuckDBValueConverter,
  type JS,
  JSDuckDBValueConverter,
} from '@duckdb/node-api';

/** One result row with DuckDB values converted to JS (BIGINT → bigint, TIMESTAMP → Date, MAP → object). */
export type Row = Record<string, unknown>;

/** DuckDB's JS conversion, except that MAP(VARCHAR, …) becomes a plain object, as attributes are. */
export const toJs: DuckDBValueConverter<unknown> = (value, type, converter) => {
  if (value instanceof DuckDBMapValue && type.typeId === DuckDBTypeId.MAP) {
    const out: Record<string, unknown> = {};
    for (const entry of value.entries)
      out[String(entry.key)] = converter(entry.value, type.valueType, converter);
    return out;
  }
  return JSDuckDBValueConverter(value, type, converter as unknown as DuckDBValueConverter<JS>);
};
