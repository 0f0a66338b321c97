import { mkdtemp, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { MetricStore } from '../store/MetricStore.js';
import { type SqlOptions, type SqlResult, SqlSandbox } from '../store/SqlSandbox.js';

export interface LiveSqlResult extends SqlResult {
  /** When the snapshot the query ran on was taken. */
  readonly snapshotAt: Date;
}

/**
 * Sandboxed SQL for the running service. The live file cannot be sandboxed: file and network
 * access are settings of the whole DuckDB instance, which the store needs for snapshots and
 * Parquet export. So queries run in a SqlSandbox (read-only, no external access, locked settings,
 * timeout, row cap) over a snapshot of the live file, taken again when it is older than
 * `maxAgeMillis`. Refreshes are serialised; queries on the previous snapshot finish first. A
 * snapshot copies the whole file (about 0.2 s per million points, while collections wait), which
 * is why it is reused rather than taken per query.
 */
export class LiveSql {
  private folder: string | undefined;
  private current:
    | { sandbox: SqlSandbox; path: string; takenAt: number; users: number; retired: boolean }
    | undefined;
  private refreshing: Promise<void> | undefined;
  private closed = false;

  constructor(
    private readonly store: MetricStore,
    private readonly maxAgeMillis: number,
    private readonly now: () => number = Date.now,
  ) {}

  async run(sql: string, options: SqlOptions): Promise<LiveSqlResult> {
    const snapshot = await this.fresh();
    snapshot.users++;
    try {
      return { ...(await snapshot.sandbox.run(sql, options)), snapshotAt: new Date(snapshot.takenAt) };
    } finally {
      snapshot.users--;
      if (snapshot.retired && snapshot.users === 0) snapshot.sandbox.close();
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.refreshing?.catch(() => undefined);
    await this.retire();
    if (this.folder !== undefined) await rm(this.folder, { recursive: true, force: true });
  }

  private async fresh(): Promise<NonNullable<LiveSql['current']>> {
    while (this.current === undefined || this.now() - this.current.takenAt > this.maxAgeMillis) {
      this.refreshing ??= this.refresh().finally(() => {
        this.refreshing = undefined;
      });
      await this.refreshing;
    }
    return this.current;
  }

  private async refresh(): Promise<void> {
    if (this.closed) throw new Error('LiveSql is closed');
    // Next to the live file: the snapshot is as large as the history, and that volume holds one.
    this.folder ??= await mkdtemp(join(dirname(this.store.path), '.perfwatch-sql-'));
    // A new name each time: the previous snapshot may still be open for a running query.
    const path = join(this.folder, `snapshot-${this.now()}-${Math.random().toString(36).slice(2)}.duckdb`);
    const takenAt = this.now();
    await this.store.snapshot(path);
    const sandbox = await SqlSandbox.open(path);
    await this.retire();
    this.current = { sandbox, path, takenAt, users: 0, retired: false };
  }

  /**
   * Closes the current snapshot (or lets its last query close it) and removes its file: an open
   * DuckDB handle keeps reading an unlinked file on POSIX systems.
   */
  private async retire(): Promise<void> {
    const snapshot = this.current;
    this.current = undefined;
    if (snapshot === undefined) return;
    snapshot.retired = true;
    if (snapshot.users === 0) snapshot.sandbox.close();
    await rm(snapshot.path, { force: true });
    await rm(`${snapshot.path}.wal`, { force: true });
  }
}
