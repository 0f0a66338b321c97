import { type DuckDBConnection, DuckDBInstance, StatementType } from '@duckdb/node-api';
import { SqlError, SqlRefusedError, SqlTimeoutError, StoreLockedError } from '../errors.js';
import { type Row, toJs } from './toJs.js';
import { translateOpenError } from './translateOpenError.js';

export interface SqlOptions {
  /** Milliseconds before the query is interrupted. @default 10000 */
  timeoutMillis?: number;
  /** Most rows returned; more are cut and `truncated` says so. @default 10000 */
  rowLimit?: number;
}

export interface SqlResult {
  readonly columns: readonly { name: string; type: string }[];
  readonly rows: readonly Row[];
  /** True when the query had more rows than `rowLimit`; only the first `rowLimit` are here. */
  readonly truncated: boolean;
  readonly rowLimit: number;
  readonly elapsedMillis: number;
}

/**
 * DuckDB settings of the sandbox: no file, network or extension access, and nobody can turn them
 * back on (`lock_configuration`). The connection is read-only, so nothing in the file changes.
 */
const SANDBOX_CONFIG: Record<string, string> = {
  access_mode: 'READ_ONLY',
  enable_external_access: 'false',
  autoinstall_known_extensions: 'false',
  autoload_known_extensions: 'false',
  allow_community_extensions: 'false',
  // A runaway query spills or fails instead of taking the machine's memory.
  memory_limit: '2GB',
  lock_configuration: 'true',
};

const STATEMENT_NAMES: Partial<Record<StatementType, string>> = {
  [StatementType.INSERT]: 'INSERT',
  [StatementType.UPDATE]: 'UPDATE',
  [StatementType.DELETE]: 'DELETE',
  [StatementType.CREATE]: 'CREATE',
  [StatementType.ALTER]: 'ALTER',
  [StatementType.DROP]: 'DROP',
  [StatementType.COPY]: 'COPY',
  [StatementType.COPY_DATABASE]: 'COPY FROM DATABASE',
  [StatementType.ATTACH]: 'ATTACH',
  [StatementType.DETACH]: 'DETACH',
  [StatementType.PRAGMA]: 'PRAGMA',
  [StatementType.SET]: 'SET',
  [StatementType.VARIABLE_SET]: 'SET VARIABLE',
  [StatementType.LOAD]: 'LOAD/INSTALL',
  [StatementType.EXTENSION]: 'INSTALL',
  [StatementType.EXPORT]: 'EXPORT DATABASE',
  [StatementType.TRANSACTION]: 'BEGIN/COMMIT',
  [StatementType.CALL]: 'CALL',
  [StatementType.VACUUM]: 'VACUUM',
  [StatementType.EXPLAIN]: 'EXPLAIN',
  [StatementType.PREPARE]: 'PREPARE',
  [StatementType.EXECUTE]: 'EXECUTE',
};

/**
 * Ad-hoc SQL over a history file, read-only and sandboxed: one SELECT per call, no external
 * access, a timeout and a row limit. Opens its own read-only DuckDB instance, so it works on a
 * file no process is writing (DuckDB refuses a second process while perfwatch writes it).
 */
export class SqlSandbox {
  private constructor(
    private readonly instance: DuckDBInstance,
    private readonly connection: DuckDBConnection,
  ) {}

  /** Opens `path` read-only; StoreLockedError names the PID when a running perfwatch holds it. */
  static async open(path: string): Promise<SqlSandbox> {
    let instance: DuckDBInstance;
    try {
      instance = await DuckDBInstance.create(path, SANDBOX_CONFIG);
    } catch (error) {
      const translated = translateOpenError(path, error);
      if (translated instanceof StoreLockedError) throw translated;
      throw new SqlError(`cannot open ${path}: ${(error as Error).message}`, { cause: error });
    }
    try {
      return new SqlSandbox(instance, await instance.connect());
    } catch (error) {
      instance.closeSync();
      throw new SqlError(`cannot connect to ${path}: ${(error as Error).message}`, { cause: error });
    }
  }

  async run(sql: string, options: SqlOptions = {}): Promise<SqlResult> {
    const timeoutMillis = options.timeoutMillis ?? 10_000;
    const rowLimit = options.rowLimit ?? 10_000;
    const started = performance.now();
    const statement = await this.singleSelect(sql);
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      this.connection.interrupt();
    }, timeoutMillis);
    timer.unref();
    try {
      const reader = await statement.streamAndReadUntil(rowLimit + 1);
      const names = reader.columnNames();
      const types = reader.columnTypes();
      const rows = reader.convertRowObjects(toJs) as Row[];
      const truncated = rows.length > rowLimit;
      return {
        columns: names.map((name, i) => ({ name, type: types[i]!.toString() })),
        rows: truncated ? rows.slice(0, rowLimit) : rows,
        truncated,
        rowLimit,
        elapsedMillis: performance.now() - started,
      };
    } catch (error) {
      if (timedOut) throw new SqlTimeoutError(timeoutMillis);
      throw sqlFailure((error as Error).message, error);
    } finally {
      clearTimeout(timer);
      statement.destroySync();
    }
  }

  close(): void {
    this.connection.closeSync();
    this.instance.closeSync();
  }

  /** DuckDB's own parser decides what the statement is; only one SELECT passes. */
  private async singleSelect(sql: string) {
    if (typeof sql !== 'string' || sql.trim() === '') throw new SqlRefusedError('the statement is empty');
    let extracted: Awaited<ReturnType<DuckDBConnection['extractStatements']>>;
    try {
      extracted = await this.connection.extractStatements(sql);
    } catch (error) {
      throw sqlFailure((error as Error).message.replace(/^Failed to extract statements: /, ''), error);
    }
    if (extracted.count !== 1) {
      throw new SqlRefusedError(`exactly one statement is allowed, got ${extracted.count}`);
    }
    let statement: Awaited<ReturnType<typeof extracted.prepare>>;
    try {
      statement = await extracted.prepare(0);
    } catch (error) {
      throw sqlFailure((error as Error).message, error);
    }
    if (statement.statementType !== StatementType.SELECT) {
      const name = STATEMENT_NAMES[statement.statementType] ?? `statement type ${statement.statementType}`;
      statement.destroySync();
      throw new SqlRefusedError(`${name} is not allowed; only read-only SELECT queries run here`);
    }
    return statement;
  }
}

/** The sandbox's own refusals (files, network, extensions) are refusals, not failed queries. */
function sqlFailure(message: string, cause: unknown): SqlError | SqlRefusedError {
  return message.startsWith('Permission Error')
    ? new SqlRefusedError(message)
    : new SqlError(message, { cause });
}
