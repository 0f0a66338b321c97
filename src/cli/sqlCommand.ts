import { type Command, Option } from 'commander';
import { DEFAULT_DB_PATH } from '../config/resolveConfig.js';
import { ConfigError, StoreLockedError } from '../errors.js';
import { type SqlResult, SqlSandbox } from '../store/SqlSandbox.js';
import { formatCsv, formatTable, jsonValue, OUTPUT_FORMATS, type OutputFormat } from './formatRows.js';
import { historyPath, openForReading } from './openHistory.js';
import { apiBaseUrl, throughService } from './serviceApi.js';

interface SqlFlags {
  db?: string;
  format: OutputFormat;
  json?: boolean;
  timeout: string;
  memoryLimit: string;
  maxRows: string;
  api?: string;
}

/** `perfwatch sql "SELECT …"`: read-only, sandboxed ad-hoc SQL over the history file. */
export function registerSqlCommand(program: Command): void {
  program
    .command('sql')
    .description('run one read-only SELECT over the history (no file, network or extension access)')
    .argument('<statement>', 'a single SELECT statement')
    .option('--db <path>', `history file (env PERFWATCH_DB_PATH, default ${DEFAULT_DB_PATH})`)
    .addOption(new Option('--format <format>', 'output format').choices(OUTPUT_FORMATS).default('table'))
    .option('--json', 'same as --format json')
    .option('--timeout <seconds>', 'stop the query this many seconds after the command starts', '10')
    .option(
      '--memory-limit <mib>',
      'stop the query when its process uses more than this many MiB (a running service applies its own limit)',
      '512',
    )
    .option('--max-rows <n>', 'return at most this many rows (the output says when it cut)', '10000')
    .option(
      '--api <url>',
      'when a running perfwatch holds the file, ask it through its HTTP API here (env PERFWATCH_API_URL, default http://127.0.0.1:9465)',
    )
    .action(async (statement: string, flags: SqlFlags) => {
      // The timeout counts from here: starting the query process and opening the file use it too.
      const arrivedAt = performance.now();
      const timeoutMillis = positiveNumber('--timeout', flags.timeout) * 1000;
      const rowLimit = positiveInteger('--max-rows', flags.maxRows);
      const memoryLimitBytes = positiveInteger('--memory-limit', flags.memoryLimit) * 2 ** 20;
      const path = historyPath(flags.db);
      let result: SqlResult;
      try {
        const sandbox = await openForReading(path, (file) => SqlSandbox.open(file, { memoryLimitBytes }));
        try {
          result = await sandbox.run(statement, { timeoutMillis, rowLimit, arrivedAt });
        } finally {
          await sandbox.close();
        }
      } catch (error) {
        if (!(error instanceof StoreLockedError)) throw error;
        // The service runs the statement in the same sandbox, over a snapshot of its file.
        result = (await throughService(apiBaseUrl(flags.api), error, (call) =>
          call('POST', '/sql', { sql: statement, timeout_seconds: timeoutMillis / 1000, max_rows: rowLimit }),
        )) as SqlResult;
      }
      const columns = result.columns.map((column) => column.name);
      const format = flags.json ? 'json' : flags.format;
      if (format === 'json') {
        process.stdout.write(
          `${JSON.stringify({ columns: result.columns, rows: result.rows.map((row) => jsonValue(row)), truncated: result.truncated, rowLimit: result.rowLimit }, null, 2)}\n`,
        );
      } else {
        process.stdout.write(
          `${format === 'csv' ? formatCsv(columns, result.rows) : formatTable(columns, result.rows)}\n`,
        );
      }
      if (result.truncated) {
        process.stderr.write(
          `perfwatch: showing the first ${result.rowLimit} rows; the query returned more. Narrow it with WHERE/LIMIT or raise --max-rows.\n`,
        );
      } else if (format === 'table') {
        process.stderr.write(
          `(${result.rows.length} row${result.rows.length === 1 ? '' : 's'}, ${result.elapsedMillis.toFixed(0)} ms)\n`,
        );
      }
    });
}

function positiveNumber(flag: string, text: string): number {
  const value = Number(text);
  if (!/^\d+(\.\d+)?$/.test(text.trim()) || !(value > 0) || value > 86_400) {
    throw new ConfigError(
      flag,
      `must be a positive number of seconds up to 86400, got ${JSON.stringify(text)}`,
    );
  }
  return value;
}

function positiveInteger(flag: string, text: string): number {
  if (!/^\d+$/.test(text.trim()) || Number(text) < 1) {
    throw new ConfigError(flag, `must be a whole number >= 1, got ${JSON.stringify(text)}`);
  }
  return Number(text);
}
