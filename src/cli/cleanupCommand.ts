import type { Command } from 'commander';
import { ConfigError } from '../errors.js';
import { openForMaintenance } from './openForMaintenance.js';
import { historyPath } from './openHistory.js';

/** `perfwatch cleanup --retention-days N`: apply a retention period to a history file now. */
export function registerCleanupCommand(program: Command): void {
  program
    .command('cleanup')
    .description('delete points older than the retention period (the running service does this hourly)')
    .option('--db <path>', 'history file (env PERFWATCH_DB_PATH, default ./data/perfwatch.duckdb)')
    .option('--retention-days <days>', 'keep this many days, 1–365', '30')
    .action(async (flags: { db?: string; retentionDays: string }) => {
      const days = Number(flags.retentionDays);
      if (!/^\d+$/.test(flags.retentionDays.trim()) || days < 1 || days > 365) {
        throw new ConfigError(
          '--retention-days',
          `must be a whole number from 1 to 365, got ${JSON.stringify(flags.retentionDays)}`,
        );
      }
      const path = historyPath(flags.db);
      const store = await openForMaintenance(
        path,
        'a running `perfwatch start` holds the file and applies its retention (PERFWATCH_RETENTION_DAYS) every hour itself',
      );
      try {
        const cutoff = new Date(Date.now() - days * 86_400_000);
        const summary = await store.deleteBefore(cutoff);
        process.stdout.write(
          `deleted ${summary.deletedPoints} points older than ${cutoff.toISOString()} and ${summary.deletedSeries} series without points, ` +
            `${summary.deletedAlertEvents} alert transitions and ${summary.deletedRegressions} resolved regressions ` +
            `(${summary.batches} batches); the file keeps its size, and DuckDB reuses the freed space\n`,
        );
      } finally {
        await store.close();
      }
    });
}
