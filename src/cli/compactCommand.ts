import { rename, rm, stat } from 'node:fs/promises';
import type { Command } from 'commander';
import { openForMaintenance } from './openForMaintenance.js';
import { historyPath } from './openHistory.js';

/**
 * `perfwatch compact`: DuckDB reuses blocks freed by retention but never shrinks the file; this
 * rewrites the history into a fresh file and swaps it in atomically.
 */
export function registerCompactCommand(program: Command): void {
  program
    .command('compact')
    .description('rewrite the history into a fresh, smaller file and swap it in (perfwatch must be stopped)')
    .option('--db <path>', 'history file (env PERFWATCH_DB_PATH, default ./data/perfwatch.duckdb)')
    .action(async (flags: { db?: string }) => {
      const path = historyPath(flags.db);
      const store = await openForMaintenance(
        path,
        'stop `perfwatch start` first: compacting replaces the file',
      );
      const before = await store.sizeBytes();
      const fresh = `${store.path}.compact-${process.pid}`;
      try {
        await store.snapshot(fresh);
      } finally {
        await store.close();
      }
      try {
        // Closing checkpointed the WAL into the file; remove any leftover before the swap, so it
        // can never be replayed onto the fresh copy.
        await rm(`${store.path}.wal`, { force: true });
        await rename(fresh, store.path);
      } catch (error) {
        await rm(fresh, { force: true });
        throw error;
      }
      const after = (await stat(store.path)).size;
      process.stdout.write(`compacted ${store.path}: ${before} → ${after} bytes\n`);
    });
}
