import type { Command } from 'commander';
import { ConfigError } from '../errors.js';
import { openForMaintenance } from './openForMaintenance.js';
import { historyPath } from './openHistory.js';

/** `perfwatch snapshot --out FILE`: a consistent copy of the history, renamed into place. */
export function registerSnapshotCommand(program: Command): void {
  program
    .command('snapshot')
    .description('write a consistent copy of the history that any DuckDB client can open')
    .requiredOption('--out <file>', 'snapshot file to write (replaced atomically)')
    .option('--db <path>', 'history file (env PERFWATCH_DB_PATH, default ./data/perfwatch.duckdb)')
    .action(async (flags: { out: string; db?: string }) => {
      if (flags.out.trim() === '') throw new ConfigError('--out', 'must be a file path');
      const store = await openForMaintenance(
        historyPath(flags.db),
        'a running `perfwatch start` holds the file: set PERFWATCH_SNAPSHOT_PATH (and PERFWATCH_SNAPSHOT_INTERVAL_MINUTES) on it to have it write snapshots',
      );
      try {
        const summary = await store.snapshot(flags.out);
        process.stdout.write(
          `wrote ${summary.path} (${summary.bytes} bytes in ${summary.elapsedMillis.toFixed(0)} ms)\n`,
        );
      } finally {
        await store.close();
      }
    });
}
