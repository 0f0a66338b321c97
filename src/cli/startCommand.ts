import type { Command } from 'commander';
import type { PerfWatchOptions } from '../config/PerfWatchOptions.js';
import { startPerfWatch } from '../startPerfWatch.js';
import { addHistoryFlags, applyHistoryFlags, type HistoryFlags, integerFlag } from './historyFlags.js';
import {
  addServiceFlags,
  apiOptionsFromFlags,
  applyServiceFlags,
  runService,
  type ServiceFlags,
} from './serviceFlags.js';

interface StartFlags extends HistoryFlags, ServiceFlags {
  db?: string;
  prometheusHost?: string;
  prometheusPort?: string;
  prometheus: boolean;
  otlpEndpoint?: string;
}

/** `perfwatch start`: monitor this machine and process until SIGINT/SIGTERM. */
export function registerStartCommand(program: Command): void {
  const command = addHistoryFlags(program.command('start'))
    .description('monitor this host and process, writing the history to DuckDB and serving /metrics')
    .option('--db <path>', 'DuckDB history file (env PERFWATCH_DB_PATH, default ./data/perfwatch.duckdb)')
    .option(
      '--prometheus-host <host>',
      'scrape endpoint interface (env OTEL_EXPORTER_PROMETHEUS_HOST, default 127.0.0.1)',
    )
    .option(
      '--prometheus-port <port>',
      'scrape endpoint port, 0 = any free port (env OTEL_EXPORTER_PROMETHEUS_PORT, default 9464)',
    )
    .option('--no-prometheus', 'do not serve the scrape endpoint')
    .option('--otlp-endpoint <url>', 'OTLP/HTTP Collector base URL (env OTEL_EXPORTER_OTLP_ENDPOINT)');
  addServiceFlags(
    command,
    'seconds between collections (env OTEL_METRIC_EXPORT_INTERVAL in ms, default 30)',
  ).action(async (flags: StartFlags) => {
    const apiOptions = apiOptionsFromFlags(flags);
    const perfwatch = await startPerfWatch(optionsFromFlags(flags));
    await runService(
      perfwatch,
      apiOptions,
      (api) =>
        `perfwatch ${perfwatch.config.dbPath}: collecting every ${perfwatch.config.collectionIntervalMillis / 1000} s` +
        (api ? `, dashboard and API ${api.url}/` : '') +
        (perfwatch.prometheusUrl ? `, scrape ${perfwatch.prometheusUrl}` : '') +
        (perfwatch.config.otlpMetricsUrl ? `, OTLP to ${perfwatch.config.otlpMetricsUrl}` : ''),
      'perfwatch: writing the last collection and closing the history file…',
    );
  });
}

function optionsFromFlags(flags: StartFlags): PerfWatchOptions {
  const options: PerfWatchOptions = {};
  applyServiceFlags(flags, options);
  if (flags.db !== undefined) options.dbPath = flags.db;
  if (flags.prometheusHost !== undefined) options.prometheusHost = flags.prometheusHost;
  if (flags.prometheusPort !== undefined)
    options.prometheusPort = integerFlag('--prometheus-port', flags.prometheusPort);
  if (!flags.prometheus) options.prometheusEnabled = false;
  if (flags.otlpEndpoint !== undefined) options.otlpEndpoint = flags.otlpEndpoint;
  applyHistoryFlags(flags, options);
  return options;
}
