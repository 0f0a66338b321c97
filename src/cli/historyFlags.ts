import type { Command } from 'commander';
import type { PerfWatchOptions } from '../config/PerfWatchOptions.js';
import { ConfigError } from '../errors.js';

/** Flags of the commands that write a history (`start`, `serve`): its upkeep and the log level. */
export interface HistoryFlags {
  retentionDays?: string;
  snapshotPath?: string;
  snapshotInterval?: string;
  logLevel?: string;
  duckdbMemoryLimit?: string;
}

export function addHistoryFlags(command: Command): Command {
  return command
    .option(
      '--retention-days <days>',
      'days of raw points kept, 1–365 (env PERFWATCH_RETENTION_DAYS, default 30)',
    )
    .option(
      '--snapshot-path <file>',
      'write a readable snapshot of the history here (env PERFWATCH_SNAPSHOT_PATH)',
    )
    .option(
      '--snapshot-interval <minutes>',
      'minutes between snapshots (env PERFWATCH_SNAPSHOT_INTERVAL_MINUTES, default 15)',
    )
    .option(
      '--duckdb-memory-limit <MiB>',
      "DuckDB's memory limit, 16–1048576 MiB (env PERFWATCH_DUCKDB_MEMORY_LIMIT_MIB, default 256)",
    )
    .option(
      '--log-level <level>',
      'fatal|error|warn|info|debug|trace|silent (env PERFWATCH_LOG_LEVEL, default info)',
    );
}

/** Copies the history flags that were given into `options`. */
export function applyHistoryFlags(flags: HistoryFlags, options: PerfWatchOptions): void {
  if (flags.retentionDays !== undefined)
    options.retentionDays = integerFlag('--retention-days', flags.retentionDays);
  if (flags.snapshotPath !== undefined) options.snapshotPath = flags.snapshotPath;
  if (flags.snapshotInterval !== undefined)
    options.snapshotIntervalMinutes = integerFlag('--snapshot-interval', flags.snapshotInterval);
  if (flags.duckdbMemoryLimit !== undefined)
    options.duckdbMemoryLimitMiB = integerFlag('--duckdb-memory-limit', flags.duckdbMemoryLimit);
  if (flags.logLevel !== undefined) options.logLevel = flags.logLevel as PerfWatchOptions['logLevel'];
}

/** A whole, non-negative number given as a flag; a ConfigError naming the flag otherwise. */
export function integerFlag(flag: string, text: string): number {
  if (!/^\d+$/.test(text.trim()))
    throw new ConfigError(flag, `must be a whole number, got ${JSON.stringify(text)}`);
  return Number(text);
}
