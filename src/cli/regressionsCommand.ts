import type { Command } from 'commander';
import { loadRegressionRules } from '../analysis/loadRegressionRules.js';
import { RegressionProcessor } from '../analysis/RegressionProcessor.js';
import { ConfigError } from '../errors.js';
import { createLogger } from '../logging/createLogger.js';
import { HistoryReader } from '../store/HistoryReader.js';
import type { QueryRunner } from '../store/QueryRunner.js';
import {
  type ChangeKind,
  listDeployVerdicts,
  listRegressions,
  type RegressionFilter,
  type RegressionRecord,
  SEVERITIES,
  type Severity,
} from '../store/regressionRecords.js';
import { jsonValue } from './formatRows.js';
import { openForMaintenance } from './openForMaintenance.js';
import { historyPath, openForReading } from './openHistory.js';
import { parseDuration, parseTime } from './timeArguments.js';

interface RegressionsFlags {
  db?: string;
  since: string;
  service?: string;
  severity?: string;
  status: string;
  kind?: string;
  check?: boolean;
  lookback: string;
  at?: string;
  rules?: string;
  json?: boolean;
}

/** `perfwatch regressions`: the regression records (and deploy verdicts) of a history file. */
export function registerRegressionsCommand(program: Command): void {
  program
    .command('regressions')
    .description('list performance regressions, improvements and deploy verdicts found in the history')
    .option('--db <path>', 'history file (env PERFWATCH_DB_PATH, default ./data/perfwatch.duckdb)')
    .option('--since <duration>', 'records seen within this duration', '24h')
    .option('--service <name>', 'only this service.name')
    .option('--severity <level>', 'this severity and above: info, warning or critical')
    .option('--status <status>', 'open, resolved or all', 'all')
    .option('--kind <kind>', 'regression, improvement or change')
    .option(
      '--check',
      'run a regression cycle now before listing (needs the file not held by perfwatch start)',
    )
    .option('--lookback <duration>', 'with --check: history analysed', '24h')
    .option(
      '--at <time>',
      'take this time as now (ISO 8601): --since counts back from it, --check analyses as of it',
    )
    .option(
      '--rules <file>',
      'with --check: regression rules file, YAML or JSON (env PERFWATCH_REGRESSION_RULES)',
    )
    .option('--json', 'print {"regressions": […], "deploys": […]} as JSON')
    .action(async (flags: RegressionsFlags) => {
      const filter = filterOf(flags);
      const at = flags.at === undefined ? Date.now() : parseTime('--at', flags.at).getTime();
      const path = historyPath(flags.db);
      if (flags.check) {
        const lookbackMillis = parseDuration('--lookback', flags.lookback) * 1000;
        const rulesPath = flags.rules ?? (process.env.PERFWATCH_REGRESSION_RULES?.trim() || undefined);
        const rules = rulesPath === undefined ? [] : await loadRegressionRules(rulesPath);
        const store = await openForMaintenance(
          path,
          'a running `perfwatch start` holds the file and runs regression cycles itself (PERFWATCH_REGRESSION_INTERVAL_MINUTES); list them without --check',
        );
        try {
          const processor = new RegressionProcessor({
            store,
            logger: createLogger('warn'),
            lookbackMillis,
            rules,
            now: () => at,
          });
          const summary = await processor.runCycle();
          if (!flags.json) {
            process.stdout.write(
              `analysed ${summary.seriesAnalysed} series from ${summary.from.toISOString()} to ${summary.to.toISOString()} in ${summary.durationMillis} ms: ${summary.opened} new, ${summary.updated} updated, ${summary.resolved} resolved\n\n`,
            );
          }
          await print(store, { ...filter, since: new Date(at - filter.sinceMillis) }, flags.json === true);
        } finally {
          await store.close();
        }
        return;
      }
      const reader = await openForReading(path, HistoryReader.open);
      try {
        await print(reader, { ...filter, since: new Date(at - filter.sinceMillis) }, flags.json === true);
      } finally {
        reader.close();
      }
    });
}

function filterOf(flags: RegressionsFlags): RegressionFilter & { sinceMillis: number } {
  const sinceMillis = parseDuration('--since', flags.since) * 1000;
  if (flags.severity !== undefined && !SEVERITIES.includes(flags.severity as Severity))
    throw new ConfigError(
      '--severity',
      `must be info, warning or critical, got ${JSON.stringify(flags.severity)}`,
    );
  if (!['open', 'resolved', 'all'].includes(flags.status))
    throw new ConfigError('--status', `must be open, resolved or all, got ${JSON.stringify(flags.status)}`);
  const kinds: ChangeKind[] = ['regression', 'improvement', 'change'];
  if (flags.kind !== undefined && !kinds.includes(flags.kind as ChangeKind))
    throw new ConfigError(
      '--kind',
      `must be regression, improvement or change, got ${JSON.stringify(flags.kind)}`,
    );
  return {
    sinceMillis,
    ...(flags.service === undefined ? {} : { service: flags.service }),
    ...(flags.severity === undefined ? {} : { minSeverity: flags.severity as Severity }),
    ...(flags.status === 'all' ? {} : { status: flags.status as 'open' | 'resolved' }),
    ...(flags.kind === undefined ? {} : { kind: flags.kind as ChangeKind }),
  };
}

async function print(db: QueryRunner, filter: RegressionFilter, json: boolean): Promise<void> {
  const records = await listRegressions(db, filter);
  const deploys = await listDeployVerdicts(db, {
    ...(filter.since === undefined ? {} : { since: filter.since }),
    ...(filter.service === undefined ? {} : { service: filter.service }),
  });
  if (json) {
    process.stdout.write(`${JSON.stringify(jsonValue({ regressions: records, deploys }), null, 2)}\n`);
    return;
  }
  if (records.length === 0) process.stdout.write('no regressions, improvements or changes match\n');
  for (const record of records) process.stdout.write(describe(record));
  if (deploys.length > 0) {
    process.stdout.write('\ndeploys:\n');
    for (const deploy of deploys)
      process.stdout.write(`  ${deploy.deployTime.toISOString()}  ${deploy.summary}\n`);
  }
}

function describe(record: RegressionRecord): string {
  const head = [
    record.severity.toUpperCase().padEnd(8),
    record.kind.padEnd(11),
    record.status.padEnd(8),
    record.changeTime.toISOString(),
    record.id,
  ].join('  ');
  const stats = `baseline n=${record.baseline.n} median=${round(record.baseline.median)} → current n=${record.current.n} median=${round(record.current.median)}, p=${record.pValue.toExponential(1)} (${record.test})`;
  return `${head}\n  ${record.explanation}\n  ${stats}\n`;
}

function round(value: number): string {
  return Number.isFinite(value) ? String(Number(value.toPrecision(4))) : String(value);
}
