import type { DuckDBType, DuckDBValue } from '@duckdb/node-api';
import type { NumberColumns } from './readNumberColumns.js';
import type { Row } from './toJs.js';

/**
 * Something that answers SQL with bound parameters: the running MetricStore, or a read-only
 * HistoryReader on a file no process is writing. Every query function takes one, so the CLI, the
 * HTTP API and the analysis share one read path.
 */
export interface QueryRunner {
  /**
   * Positional (`$1`) or named (`$from`) parameters; `types` pins parameter types DuckDB cannot
   * infer (an empty list, a NULL).
   */
  query(
    sql: string,
    params?: DuckDBValue[] | Record<string, DuckDBValue>,
    types?: DuckDBType[] | Record<string, DuckDBType>,
  ): Promise<Row[]>;

  /**
   * The same for a SELECT of numeric columns, read into typed arrays (NULL as NaN): for bulk reads
   * where row objects would cost more than the query.
   */
  queryNumbers(
    sql: string,
    params?: DuckDBValue[] | Record<string, DuckDBValue>,
    types?: DuckDBType[] | Record<string, DuckDBType>,
  ): Promise<NumberColumns>;
}
