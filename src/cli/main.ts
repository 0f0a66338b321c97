#!/usr/bin/env node
import { Command, CommanderError } from 'commander';
import { PerfWatchError } from '../errors.js';
import { PERFWATCH_VERSION } from '../version.js';
import { registerAlertsCommand } from './alertsCommand.js';
import { registerAnalyzeCommand } from './analyzeCommand.js';
import { registerBenchmarkCommand } from './benchmarkCommand.js';
import { registerCleanupCommand } from './cleanupCommand.js';
import { registerCompactCommand } from './compactCommand.js';
import { discardOutputToClosedPipes } from './discardOutputToClosedPipes.js';
import { exitAfterOutput } from './exitAfterOutput.js';
import { registerExportCommand } from './exportCommand.js';
import { registerQueryCommand } from './queryCommand.js';
import { registerRegressionsCommand } from './regressionsCommand.js';
import { registerRulesCommand } from './rulesCommand.js';
import { registerServeCommand } from './serveCommand.js';
import { registerSnapshotCommand } from './snapshotCommand.js';
import { registerSqlCommand } from './sqlCommand.js';
import { registerStartCommand } from './startCommand.js';

/** Exit codes: 0 ok, 1 failure (unexpected error, query timeout or resource limit, a failed benchmark gate), 2 invalid usage, configuration or input. */
const EXIT_USAGE = 2;
const EXIT_FAILURE = 1;
/** Errors that are outcomes rather than bad input. */
const FAILURE_CODES = new Set([
  'PERFWATCH_SQL_TIMEOUT',
  'PERFWATCH_SQL_MEMORY_LIMIT',
  'PERFWATCH_BENCHMARK_GATE_FAILED',
]);

async function main(argv: readonly string[]): Promise<void> {
  const program = new Command()
    .name('perfwatch')
    .description('OpenTelemetry-native performance monitor: metric history in DuckDB')
    .version(PERFWATCH_VERSION, '-v, --version')
    .exitOverride()
    .showHelpAfterError()
    // Program options only before a command: `benchmark compare --version V` means service.version, not perfwatch's.
    .enablePositionalOptions();
  registerStartCommand(program);
  registerServeCommand(program);
  registerSqlCommand(program);
  registerQueryCommand(program);
  registerCleanupCommand(program);
  registerSnapshotCommand(program);
  registerExportCommand(program);
  registerCompactCommand(program);
  registerAnalyzeCommand(program);
  registerRegressionsCommand(program);
  registerAlertsCommand(program);
  registerRulesCommand(program);
  registerBenchmarkCommand(program);
  await program.parseAsync(argv);
}

/** The exit code for a failed command, after printing why (to stderr, if anyone still reads it). */
function failureCode(error: unknown): number {
  if (error instanceof CommanderError) {
    // --help and --version end here too, with exit code 0; commander printed the usage already.
    return error.exitCode === 0 ? 0 : EXIT_USAGE;
  }
  if (error instanceof PerfWatchError) {
    process.stderr.write(`perfwatch: ${error.message}\n`);
    return FAILURE_CODES.has(error.code) ? EXIT_FAILURE : EXIT_USAGE;
  }
  process.stderr.write(
    `perfwatch: unexpected error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  return EXIT_FAILURE;
}

discardOutputToClosedPipes();
main(process.argv).then(
  () => exitAfterOutput(0),
  (error: unknown) => exitAfterOutput(failureCode(error)),
);
