import type { Command } from 'commander';
import type { ExportProgress } from '../store/exportParquet.js';
import { openForMaintenance } from './openForMaintenance.js';
import { historyPath } from './openHistory.js';
import { parseDuration } from './timeArguments.js';

/** `perfwatch export --out DIR`: hive-partitioned Parquet, one zstd file per kind and UTC day. */
export function registerExportCommand(program: Command): void {
  program
    .command('export')
    .description('export the history as hive-partitioned Parquet (kind=…/day=…/data.parquet, zstd)')
    .requiredOption('--out <dir>', 'export folder; days already there are replaced')
    .option('--since <duration>', 'only days from this long ago on, e.g. 7d (default: everything)')
    .option('--db <path>', 'history file (env PERFWATCH_DB_PATH, default ./data/perfwatch.duckdb)')
    .action(async (flags: { out: string; since?: string; db?: string }) => {
      const since =
        flags.since === undefined
          ? undefined
          : new Date(Date.now() - parseDuration('--since', flags.since) * 1000);
      const store = await openForMaintenance(
        historyPath(flags.db),
        'a running `perfwatch start` holds the file: stop it to export, or export from a snapshot (PERFWATCH_SNAPSHOT_PATH)',
      );
      try {
        const summary = await store.exportParquet({
          outDir: flags.out,
          ...(since ? { since } : {}),
          onProgress: process.stderr.isTTY ? progressBar : progressLine,
        });
        if (process.stderr.isTTY) process.stderr.write('\n');
        const seconds = summary.elapsedMillis / 1000;
        process.stdout.write(
          `exported ${summary.rows} points in ${summary.files} files (${summary.bytes} bytes, ${summary.days.length} days) ` +
            `to ${flags.out} in ${seconds.toFixed(1)} s\n`,
        );
      } finally {
        await store.close();
      }
    });
}

function progressLine(progress: ExportProgress): void {
  process.stderr.write(
    `[${progress.done}/${progress.total}] ${progress.kind} ${progress.day}: ${progress.rows} points\n`,
  );
}

function progressBar(progress: ExportProgress): void {
  const width = 30;
  const filled = Math.round((progress.done / progress.total) * width);
  process.stderr.write(
    `\r[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${progress.done}/${progress.total} ${progress.kind} ${progress.day}   `,
  );
}
