import { type DuckDBConnection, DuckDBInstance, StatementType } from '@duckdb/node-api';
import { SqlError, SqlMemoryLimitError, SqlRefusedError, StoreLockedError } from '../errors.js';
import { type Row, toJs } from './toJs.js';
import { translateOpenError } from './translateOpenError.js';

/** What the sandbox's DuckDB may use; SqlSandbox derives it from its own limits. */
export interface SandboxSettings {
  /** DuckDB's `memory_limit`, in bytes: its buffer manager spills or fails past it. */
  readonly duckdbMemoryBytes: number;
  /** Folder DuckDB spills to (`temp_directory`); one per query process. */
  readonly tempDirectory: string;
  /** DuckDB's `max_temp_directory_size`, in bytes. */
  readonly maxTempDirectoryBytes: number;
}

export interface SandboxRows {
  readonly columns: readonly { name: string; type: string }[];
  readonly rows: readonly Row[];
  readonly truncated: boolean;
}

/**
 * DuckDB settings of the sandbox: no file, network or extension access, and nobody can turn them
 * back on (`lock_configuration`). The connection is read-only, so nothing in the file changes.
 * `temp_directory` comes first: DuckDB refuses to set a path once external access is off.
 */
function duckdbConfig(settings: SandboxSettings): Record<string, string> {
  return {
    temp_directory: settings.tempDirectory,
    access_mode: 'READ_ONLY',
    enable_external_access: 'false',
    autoinstall_known_extensions: 'false',
    autoload_known_extensions: 'false',
    allow_community_extensions: 'false',
    memory_limit: `${Math.floor(settings.duckdbMemoryBytes / 1024)}KiB`,
    max_temp_directory_size: `${Math.floor(settings.maxTempDirectoryBytes / 1024)}KiB`,
    lock_configuration: 'true',
  };
}

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
 * The sandbox's DuckDB side, run inside the query process (sqlSandboxProcess): a read-only
 * instance without external access, one SELECT per call, a row cap. Time, memory and disk are
 * bounded from outside, by SqlSandbox ending the process: DuckDB checks neither its interrupt nor
 * its memory_limit inside one huge string function.
 */
export class SandboxConnection {
  private constructor(
    private readonly instance: DuckDBInstance,
    private readonly connection: DuckDBConnection,
  ) {}

  /** Opens `path` read-only; StoreLockedError names the PID when a running perfwatch holds it. */
  static async open(path: string, settings: SandboxSettings): Promise<SandboxConnection> {
    let instance: DuckDBInstance;
    try {
      instance = await DuckDBInstance.create(path, duckdbConfig(settings));
    } catch (error) {
      const translated = translateOpenError(path, error);
      if (translated instanceof StoreLockedError) throw translated;
      throw new SqlError(`cannot open ${path}: ${(error as Error).message}`, { cause: error });
    }
    try {
      return new SandboxConnection(instance, await instance.connect());
    } catch (error) {
      instance.closeSync();
      throw new SqlError(`cannot connect to ${path}: ${(error as Error).message}`, { cause: error });
    }
  }

  /** At most `rowLimit` rows; `truncated` says whether there were more. */
  async run(sql: string, rowLimit: number): Promise<SandboxRows> {
    const statement = await this.singleSelect(sql);
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
      };
    } catch (error) {
      throw sqlFailure((error as Error).message, error);
    } finally {
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

/**
 * The sandbox's own refusals (files, network, extensions) are refusals, not failed queries; DuckDB
 * running out of memory or spill space is a resource limit.
 */
function sqlFailure(message: string, cause: unknown): SqlError | SqlRefusedError | SqlMemoryLimitError {
  if (message.startsWith('Permission Error')) return new SqlRefusedError(message);
  if (message.startsWith('Out of Memory Error')) return new SqlMemoryLimitError(message);
  return new SqlError(message, { cause });
}
