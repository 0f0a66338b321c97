import type { Command } from 'commander';
import type { PerfWatchOptions } from '../config/PerfWatchOptions.js';
import { DEFAULT_DB_PATH } from '../config/resolveConfig.js';
import { ConfigError } from '../errors.js';
import { startPerfWatch } from '../startPerfWatch.js';
import { addHistoryFlags, applyHistoryFlags, type HistoryFlags, integerFlag } from './historyFlags.js';
import {
  addServiceFlags,
  apiOptionsFromFlags,
  applyServiceFlags,
  runService,
  type ServiceFlags,
} from './serviceFlags.js';

interface ServeFlags extends HistoryFlags, ServiceFlags {
  db?: string;
  host: string;
  port: string;
  token?: string;
  maxRequestBytes?: string;
}

/**
 * `perfwatch serve`: a central perfwatch that services and Collectors push OTLP/HTTP metrics to.
 * The same wiring as `start` (startPerfWatch: alert rules, regression cycles, retention, snapshots,
 * the HTTP API and dashboard) with the OTLP receiver as the source instead of this host's metrics.
 */
export function registerServeCommand(program: Command): void {
  const command = addHistoryFlags(program.command('serve'))
    .description(
      'receive OTLP/HTTP metrics (POST /v1/metrics, protobuf or JSON) into the DuckDB history, analyse them and serve the API and dashboard',
    )
    .option('--db <path>', `DuckDB history file (env PERFWATCH_DB_PATH, default ${DEFAULT_DB_PATH})`)
    .option(
      '--host <host>',
      'receiver interface to listen on; other than loopback requires --token',
      '127.0.0.1',
    )
    .option('--port <port>', 'receiver port, 0 = any free port', '4318')
    .option(
      '--token <token>',
      'require Authorization: Bearer <token> on the receiver, and on the API unless --api-token (env PERFWATCH_API_TOKEN)',
    )
    .option('--max-request-bytes <bytes>', 'largest request body, also after gunzip (default 8 MiB)');
  addServiceFlags(
    command,
    "seconds between alert evaluations over the received metrics, and collections of perfwatch's own (default 30)",
  ).action(async (flags: ServeFlags) => {
    // An empty PERFWATCH_API_TOKEN counts as unset, as every other variable does.
    const token = flags.token ?? (process.env.PERFWATCH_API_TOKEN?.trim() || undefined);
    const apiOptions = apiOptionsFromFlags(flags, token);
    let perfwatch: Awaited<ReturnType<typeof startPerfWatch>>;
    try {
      perfwatch = await startPerfWatch(optionsFromFlags(flags, token));
    } catch (error) {
      throw renamed(error);
    }
    const receiver = perfwatch.receiver as NonNullable<typeof perfwatch.receiver>;
    await runService(
      perfwatch,
      apiOptions,
      (api) =>
        `perfwatch serve ${perfwatch.store.path}: receiving OTLP/HTTP metrics at ${receiver.url}` +
        `${token === undefined ? '' : ' (bearer token required)'}` +
        (api ? `, dashboard and API ${api.url}/` : ''),
      'perfwatch: writing the received metrics and closing the history file…',
    );
  });
}

function optionsFromFlags(flags: ServeFlags, token: string | undefined): PerfWatchOptions {
  const maxRequestBytes =
    flags.maxRequestBytes === undefined
      ? undefined
      : integerFlag('--max-request-bytes', flags.maxRequestBytes);
  const options: PerfWatchOptions = {
    // The metrics are the received ones: none of this host, and no scrape endpoint (serve does not
    // re-export what it receives; the Collector's exporters do that, see collector-config/).
    hostMetrics: false,
    runtimeMetrics: false,
    prometheusEnabled: false,
    otlpReceiver: {
      host: flags.host,
      port: integerFlag('--port', flags.port),
      ...(token === undefined ? {} : { token }),
      ...(maxRequestBytes === undefined ? {} : { maxRequestBytes }),
    },
  };
  applyServiceFlags(flags, options);
  if (flags.db !== undefined) options.dbPath = flags.db;
  applyHistoryFlags(flags, options);
  return options;
}

/** The receiver's settings are known to the CLI user as flags. */
function renamed(error: unknown): unknown {
  if (!(error instanceof ConfigError)) return error;
  const flag = {
    'otlpReceiver.host': '--host',
    'otlpReceiver.port': '--port',
    'otlpReceiver.token': '--token',
    'otlpReceiver.maxRequestBytes': '--max-request-bytes',
  }[error.setting];
  if (flag === undefined) return error;
  return new ConfigError(flag, error.message.slice(error.setting.length + 2), { cause: error });
}
