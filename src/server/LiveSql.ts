import { mkdtemp, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { SqlTimeoutError } from '../errors.js';
import type { MetricStore } from '../store/MetricStore.js';
import { type SqlOptions, type SqlResult, SqlSandbox, type SqlSandboxOptions } from '../store/SqlSandbox.js';

export interface LiveSqlResult extends SqlResult {
  /** When the snapshot the query ran on was taken. */
  readonly snapshotAt: Date;
}

interface Snapshot {
  readonly sandbox: SqlSandbox;
  readonly path: string;
  readonly takenAt: number;
  users: number;
  retired: boolean;
}

/**
 * Sandboxed SQL for the running service. The live file cannot be sandboxed: file and network
 * access are settings of the whole DuckDB instance, which the store needs for snapshots and
 * Parquet export. So queries run in a SqlSandbox (a query process: read-only, no external access,
 * locked settings; wall time, memory, spill and result limits; row cap) over a snapshot of the
 * live file, taken again when it is older than `maxAgeMillis`. Refreshes are serialised; queries on
 * the previous snapshot finish first. A snapshot copies the whole file (about 0.2 s per million
 * points, while collections wait), which is why it is reused rather than taken per query.
 *
 * A query's timeout counts from its arrival here: waiting for a snapshot or behind other queries
 * uses it up too.
 */
export class LiveSql {
  private folder: string | undefined;
  private current: Snapshot | undefined;
  private refreshing: Promise<void> | undefined;
  private readonly releasing = new Set<Promise<void>>();
  private closed = false;
  /** Deadlines' clock (the sandboxes'), apart from `now`, which dates snapshots. */
  private readonly clock: () => number;

  /** `sandboxOptions` are every snapshot's SqlSandbox's: limits, and the clock deadlines count on. */
  constructor(
    private readonly store: MetricStore,
    private readonly maxAgeMillis: number,
    private readonly now: () => number = Date.now,
    private readonly sandboxOptions: SqlSandboxOptions = {},
  ) {
    this.clock = sandboxOptions.now ?? (() => performance.now());
  }

  async run(sql: string, options: SqlOptions): Promise<LiveSqlResult> {
    const arrivedAt = options.arrivedAt ?? this.clock();
    const timeoutMillis = options.timeoutMillis ?? 10_000;
    const snapshot = await this.freshBy(arrivedAt + timeoutMillis, timeoutMillis);
    snapshot.users++;
    try {
      return {
        ...(await snapshot.sandbox.run(sql, { ...options, timeoutMillis, arrivedAt })),
        snapshotAt: new Date(snapshot.takenAt),
      };
    } finally {
      snapshot.users--;
      if (snapshot.retired && snapshot.users === 0) this.release(snapshot);
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.refreshing?.catch(() => undefined);
    this.retire();
    await Promise.all(this.releasing);
    if (this.folder !== undefined) await rm(this.folder, { recursive: true, force: true });
  }

  /** A fresh snapshot, or SqlTimeoutError when none is ready by `deadline` (on `clock`). */
  private async freshBy(deadline: number, timeoutMillis: number): Promise<Snapshot> {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new SqlTimeoutError(timeoutMillis)),
        Math.max(0, deadline - this.clock()),
      );
    });
    const fresh = this.fresh();
    try {
      return await Promise.race([fresh, late]);
    } catch (error) {
      // A refresh that ends after the deadline still serves the next query; its failure is theirs.
      fresh.catch(() => undefined);
      throw error;
    } finally {
      clearTimeout(timer);
    }
  }

  private async fresh(): Promise<Snapshot> {
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
    const sandbox = await SqlSandbox.open(path, this.sandboxOptions);
    this.retire();
    this.current = { sandbox, path, takenAt, users: 0, retired: false };
  }

  /** Retires the current snapshot: released now, or by its last query. */
  private retire(): void {
    const snapshot = this.current;
    this.current = undefined;
    if (snapshot === undefined) return;
    snapshot.retired = true;
    if (snapshot.users === 0) this.release(snapshot);
  }

  /**
   * Closes the snapshot's sandbox, then removes its file. Not before: a sandbox whose query process
   * was ended opens the file again for the next query.
   */
  private release(snapshot: Snapshot): void {
    const released = (async () => {
      await snapshot.sandbox.close();
      await rm(snapshot.path, { force: true });
      await rm(`${snapshot.path}.wal`, { force: true });
    })().catch(() => undefined);
    this.releasing.add(released);
    void released.finally(() => this.releasing.delete(released));
  }
}
