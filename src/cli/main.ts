#!/usr/bin/env node
import { Command, CommanderError } from 'commander';
import { PerfWatchError } from '../errors.js';
import { PERFWATCH_VERSION } from '../version.js';
import { registerStartCommand } from './startCommand.js';

/** Exit codes: 0 ok, 1 unexpected failure, 2 invalid usage or configuration. */
const EXIT_USAGE = 2;

async function main(argv: readonly string[]): Promise<void> {
  const program = new Command()
    .name('perfwatch')
    .description('OpenTelemetry-native performance monitor: metric history in DuckDB')
    .version(PERFWATCH_VERSION, '-v, --version')
    .exitOverride()
    .showHelpAfterError();
  registerStartCommand(program);
  await program.parseAsync(argv);
}

main(process.argv).then(
  () => process.exit(0),
  (error: unknown) => {
    if (error instanceof CommanderError) {
      // --help and --version end here too, with exit code 0.
      process.exit(error.exitCode === 0 ? 0 : EXIT_USAGE);
    }
    if (error instanceof PerfWatchError) {
      process.stderr.write(`perfwatch: ${error.message}\n`);
      process.exit(EXIT_USAGE);
    }
    process.stderr.write(
      `perfwatch: unexpected error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    process.exit(1);
  },
);
