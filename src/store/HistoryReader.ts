import { type DuckDBConnection, DuckDBInstance, type DuckDBType, type DuckDBValue } from '@duckdb/node-api';
import { SchemaVersionError, StoreError } from '../errors.js';
import type { QueryRunner } from './QueryRunner.js';
import { type NumberColumns, readNumberColumns } from './readNumberColumns.js';
import { SCHEMA_VERSION } from './schema.js';
import { type Row, toJs } from './toJs.js';
import { translateOpenError } from './translateOpenError.js';

/**
 * A read-only view of a history file for commands that run while no perfwatch writes it
 * (`perfwatch query`). It never migrates: an older file is upgraded by the next `perfwatch start`.
 */
export class HistoryReader implements QueryRunner {
  private constructor(
    private readonly instance: DuckDBInstance,
    private readonly connection: DuckDBConnection,
  ) {}

  static async open(path: string): Promise<HistoryReader> {
    let instance: DuckDBInstance;
    try {
      instance = await DuckDBInstance.create(path, {
        access_mode: 'READ_ONLY',
        enable_external_access: 'false',
        autoinstall_known_extensions: 'false',
        autoload_known_extensions: 'false',
      });
    } catch (error) {
      throw translateOpenError(path, error);
    }
    let connection: DuckDBConnection;
    try {
      connection = await instance.connect();
    } catch (error) {
      instance.closeSync();
      throw translateOpenError(path, error);
    }
    const reader = new HistoryReader(instance, connection);
    try {
      const tables = await reader.query(
        "SELECT count(*) AS n FROM duckdb_tables() WHERE table_name = 'perfwatch_schema'",
      );
      if (tables[0]?.n !== 1n)
        throw new StoreError(`${path} is not a perfwatch history (it has no perfwatch_schema table)`);
      const version = Number((await reader.query('SELECT max(version) AS v FROM perfwatch_schema'))[0]?.v);
      if (version > SCHEMA_VERSION) throw new SchemaVersionError(path, version, SCHEMA_VERSION);
      if (version < SCHEMA_VERSION) {
        throw new StoreError(
          `${path} has schema version ${version}; run \`perfwatch start --db ${path}\` once to upgrade it to ${SCHEMA_VERSION}`,
        );
      }
    } catch (error) {
      reader.close();
      throw error;
    }
    return reader;
  }

  async query(
    sql: string,
    params: DuckDBValue[] | Record<string, DuckDBValue> = [],
    types?: DuckDBType[] | Record<string, DuckDBType>,
  ): Promise<Row[]> {
    return (await this.connection.runAndReadAll(sql, params, types)).convertRowObjects(toJs) as Row[];
  }

  async queryNumbers(
    sql: string,
    params: DuckDBValue[] | Record<string, DuckDBValue> = [],
    types?: DuckDBType[] | Record<string, DuckDBType>,
  ): Promise<NumberColumns> {
    return readNumberColumns(await this.connection.run(sql, params, types));
  }

  close(): void {
    this.connection.closeSync();
    this.instance.closeSync();
  }
}
