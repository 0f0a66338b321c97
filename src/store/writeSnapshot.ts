import { randomBytes } from 'node:crypto';
import { rename, rm, stat } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import type { DuckDBConnection } from '@duckdb/node-api';
import { StoreError } from '../errors.js';
import { identifier, stringLiteral } from './sqlLiterals.js';

export interface SnapshotSummary {
  readonly path: string;
  readonly bytes: number;
  readonly elapsedMillis: number;
}

/**
 * Copies the whole database into a new file next to `outPath`, then renames it into place, so a
 * reader (DuckDB CLI, Python, Grafana's DuckDB plugin) only ever opens a complete snapshot, while
 * the live file stays locked by perfwatch. `connection` belongs to the live database.
 */
export async function writeSnapshot(connection: DuckDBConnection, outPath: string): Promise<SnapshotSummary> {
  const started = performance.now();
  const target = resolve(outPath);
  const temporary = `${target}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
  const alias = `perfwatch_snapshot_${randomBytes(4).toString('hex')}`;
  const source = String(
    (await connection.runAndReadAll('SELECT current_database() AS db')).getRowObjectsJS()[0]?.db,
  );
  let attached = false;
  try {
    await connection.run(`ATTACH ${stringLiteral(temporary)} AS ${identifier(alias)}`);
    attached = true;
    await connection.run(`COPY FROM DATABASE ${identifier(source)} TO ${identifier(alias)}`);
    await connection.run(`DETACH ${identifier(alias)}`);
    attached = false;
    // A WAL left by an earlier writer of `target` would be replayed onto the new snapshot.
    await rm(`${target}.wal`, { force: true });
    await rename(temporary, target);
  } catch (error) {
    if (attached) await connection.run(`DETACH ${identifier(alias)}`).catch(() => undefined);
    await rm(temporary, { force: true });
    await rm(`${temporary}.wal`, { force: true });
    throw new StoreError(
      `writing a snapshot to ${target} failed (is ${dirname(target)} writable?): ${(error as Error).message}`,
      { cause: error },
    );
  }
  return { path: target, bytes: (await stat(target)).size, elapsedMillis: performance.now() - started };
}
