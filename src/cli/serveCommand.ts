import type { Command } from 'commander';
import { configuredRegressionRules } from '../analysis/loadRegressionRules.js';
import { RegressionProcessor } from '../analysis/RegressionProcessor.js';
import { scheduleRegressionCycles } from '../analysis/scheduleRegressionCycles.js';
import type { PerfWatchOptions } from '../config/PerfWatchOptions.js';
import { DEFAULT_DB_PATH, resolveConfig } from '../config/resolveConfig.js';
import { ConfigError } from '../errors.js';
import { createLogger } from '../logging/createLogger.js';
import { OtlpReceiver } from '../receiver/OtlpReceiver.js';
import { timerScheduler } from '../scheduling/Scheduler.js';
import { MetricStore } from '../store/MetricStore.js';
import { startMaintenance } from '../store/startMaintenance.js';
import { addHistoryFlags, applyHistoryFlags, type HistoryFlags, integerFlag } from './historyFlags.js';
import { waitForSignal } from './waitForSignal.js';

interface ServeFlags extends HistoryFlags {
  db?: string;
  host: string;
  port: string;
  token?: string;
  maxRequestBytes?: string;
}

/** `perfwatch serve`: a central perfwatch that services and Collectors push OTLP/HTTP metrics to. */
export function registerServeCommand(program: Command): void {
  addHistoryFlags(program.command('serve'))
    .description('receive OTLP/HTTP metrics (POST /v1/metrics, protobuf or JSON) into the DuckDB history')
    .option('--db <path>', `DuckDB history file (env PERFWATCH_DB_PATH, default ${DEFAULT_DB_PATH})`)
    .option('--host <host>', 'interface to listen on; other than loopback requires --token', '127.0.0.1')
    .option('--port <port>', 'port to listen on, 0 = any free port', '4318')
    .option('--token <token>', 'require Authorization: Bearer <token> (env PERFWATCH_API_TOKEN)')
    .option('--max-request-bytes <bytes>', 'largest request body, also after gunzip (default 8 MiB)')
    .action(async (flags: ServeFlags) => {
      const config = resolveConfig(optionsFromFlags(flags));
      const logger = createLogger(config.logLevel);
      // An empty PERFWATCH_API_TOKEN counts as unset, as every other variable does.
      const token = flags.token ?? (process.env.PERFWATCH_API_TOKEN?.trim() || undefined);
      const port = integerFlag('--port', flags.port);
      const maxRequestBytes =
        flags.maxRequestBytes === undefined
          ? undefined
          : integerFlag('--max-request-bytes', flags.maxRequestBytes);
      const regressionRules = await configuredRegressionRules(config);
      const store = await MetricStore.open(config.dbPath, { logger });
      // The same regression analysis as `perfwatch start`, over everything received.
      const regressions = new RegressionProcessor({
        store,
        logger,
        lookbackMillis: config.regressionLookbackHours * 3_600_000,
        rules: regressionRules,
      });
      let receiver: OtlpReceiver;
      let url: string;
      try {
        await regressions.loadActiveCounts();
        receiver = new OtlpReceiver({
          store,
          host: flags.host,
          port,
          ...(token !== undefined ? { token } : {}),
          ...(maxRequestBytes !== undefined ? { maxRequestBytes } : {}),
          logger,
        });
        url = await receiver.start();
      } catch (error) {
        await store.close();
        throw renamed(error);
      }
      const maintenance = startMaintenance(store, config, {
        scheduler: timerScheduler,
        logger,
        now: Date.now,
      });
      const regressionCycles = scheduleRegressionCycles(regressions, config.regressionIntervalMinutes, {
        scheduler: timerScheduler,
        logger,
      });
      process.stderr.write(
        `perfwatch serve ${store.path}: receiving OTLP/HTTP metrics at ${url}` +
          `${token === undefined ? '' : ' (bearer token required)'}; Ctrl-C to stop\n`,
      );
      await waitForSignal();
      process.stderr.write('perfwatch: writing the received metrics and closing the history file…\n');
      // A second signal while shutting down gives up on the flush.
      const forceExit = () => process.exit(130);
      process.once('SIGINT', forceExit);
      process.once('SIGTERM', forceExit);
      try {
        await receiver.shutdown();
        await regressionCycles.shutdown();
        await regressions.shutdown();
        await maintenance.shutdown();
      } finally {
        await store.close();
      }
    });
}

function optionsFromFlags(flags: ServeFlags): PerfWatchOptions {
  const options: PerfWatchOptions = {};
  if (flags.db !== undefined) options.dbPath = flags.db;
  applyHistoryFlags(flags, options);
  return options;
}

/** The receiver names its options; the CLI user knows them as flags. */
function renamed(error: unknown): unknown {
  if (!(error instanceof ConfigError)) return error;
  const flag = { host: '--host', port: '--port', token: '--token', maxRequestBytes: '--max-request-bytes' }[
    error.setting
  ];
  if (flag === undefined) return error;
  return new ConfigError(flag, error.message.slice(error.setting.length + 2), { cause: error });
}
