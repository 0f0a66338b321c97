import type { Command } from 'commander';
import type { PerfWatchOptions } from '../config/PerfWatchOptions.js';
import { ConfigError } from '../errors.js';
import type { ApiServerOptions } from '../server/ApiServerOptions.js';
import { resolveApiConfig } from '../server/resolveApiConfig.js';
import type { RunningApiServer } from '../server/startApiServer.js';
import { startPerfWatch } from '../startPerfWatch.js';
import { addHistoryFlags, applyHistoryFlags, type HistoryFlags, integerFlag } from './historyFlags.js';
import { waitForSignal } from './waitForSignal.js';

interface StartFlags extends HistoryFlags {
  db?: string;
  interval?: string;
  prometheusHost?: string;
  prometheusPort?: string;
  prometheus: boolean;
  otlpEndpoint?: string;
  serviceName?: string;
  rules?: string;
  regressionRules?: string;
  defaultRules: boolean;
  alertmanagerUrl?: string;
  webhookUrl: string[];
  api: boolean;
  apiHost?: string;
  apiPort?: string;
  apiToken?: string;
}

/** `perfwatch start`: monitor this machine and process until SIGINT/SIGTERM. */
export function registerStartCommand(program: Command): void {
  addHistoryFlags(program.command('start'))
    .description('monitor this host and process, writing the history to DuckDB and serving /metrics')
    .option('--db <path>', 'DuckDB history file (env PERFWATCH_DB_PATH, default ./data/perfwatch.duckdb)')
    .option(
      '--interval <seconds>',
      'seconds between collections (env OTEL_METRIC_EXPORT_INTERVAL in ms, default 30)',
    )
    .option(
      '--prometheus-host <host>',
      'scrape endpoint interface (env OTEL_EXPORTER_PROMETHEUS_HOST, default 127.0.0.1)',
    )
    .option(
      '--prometheus-port <port>',
      'scrape endpoint port, 0 = any free port (env OTEL_EXPORTER_PROMETHEUS_PORT, default 9464)',
    )
    .option('--no-prometheus', 'do not serve the scrape endpoint')
    .option('--otlp-endpoint <url>', 'OTLP/HTTP Collector base URL (env OTEL_EXPORTER_OTLP_ENDPOINT)')
    .option(
      '--service-name <name>',
      'service.name of the resource (env OTEL_SERVICE_NAME, default perfwatch)',
    )
    .option('--rules <file>', 'alert rules file, YAML or JSON (env PERFWATCH_ALERT_RULES)')
    .option(
      '--regression-rules <file>',
      'regression rules file, YAML or JSON (env PERFWATCH_REGRESSION_RULES)',
    )
    .option('--no-default-rules', 'do not evaluate the shipped default alert rules')
    .option(
      '--alertmanager-url <url>',
      'send alerts to this Prometheus Alertmanager (env PERFWATCH_ALERTMANAGER_URL)',
    )
    .option(
      '--webhook-url <url>',
      'POST alerts as JSON to this URL; repeatable (env PERFWATCH_WEBHOOK_URLS, comma-separated)',
      (value: string, previous: string[]) => [...previous, value],
      [],
    )
    .option(
      '--api-host <host>',
      'HTTP API and dashboard interface (env PERFWATCH_API_HOST, default 127.0.0.1)',
    )
    .option(
      '--api-port <port>',
      'HTTP API and dashboard port, 0 = any free port (env PERFWATCH_API_PORT, default 9465)',
    )
    .option(
      '--api-token <token>',
      'bearer token for mutating routes and POST sql; required off loopback (env PERFWATCH_API_TOKEN)',
    )
    .option('--no-api', 'do not serve the HTTP API and dashboard')
    .action(async (flags: StartFlags) => {
      // Validated before anything starts: a refused API host must not leave a file open.
      const apiOptions = flags.api ? apiOptionsFromFlags(flags) : undefined;
      if (apiOptions !== undefined) resolveApiConfig(apiOptions);
      const perfwatch = await startPerfWatch(optionsFromFlags(flags));
      let api: RunningApiServer | undefined;
      try {
        if (apiOptions !== undefined) {
          // Loaded only here: every other command would otherwise pay for the HTTP framework.
          const { startApiServer } = await import('../server/startApiServer.js');
          api = await startApiServer(perfwatch, apiOptions, { logger: perfwatch.logger });
        }
      } catch (error) {
        await perfwatch.shutdown();
        throw error;
      }
      process.stderr.write(
        `perfwatch ${perfwatch.config.dbPath}: collecting every ${perfwatch.config.collectionIntervalMillis / 1000} s` +
          (api ? `, dashboard and API ${api.url}/` : '') +
          (perfwatch.prometheusUrl ? `, scrape ${perfwatch.prometheusUrl}` : '') +
          (perfwatch.config.otlpMetricsUrl ? `, OTLP to ${perfwatch.config.otlpMetricsUrl}` : '') +
          '; Ctrl-C to stop\n',
      );
      // SIGHUP reads the rules file again, as Prometheus does; an invalid file keeps the running rules.
      const reloadRules = () => {
        perfwatch.reloadAlertRules().then(
          (rules) => process.stderr.write(`perfwatch: alert rules reloaded (${rules.length} rules)\n`),
          (error: unknown) =>
            process.stderr.write(
              `perfwatch: alert rules not reloaded, the running rules stay: ${(error as Error).message}\n`,
            ),
        );
      };
      process.on('SIGHUP', reloadRules);
      await waitForSignal();
      process.off('SIGHUP', reloadRules);
      process.stderr.write('perfwatch: writing the last collection and closing the history file…\n');
      // A second signal while shutting down gives up on the flush.
      const forceExit = () => process.exit(130);
      process.once('SIGINT', forceExit);
      process.once('SIGTERM', forceExit);
      // The API first: no request may reach a closing store.
      await api?.close();
      await perfwatch.shutdown();
    });
}

function optionsFromFlags(flags: StartFlags): PerfWatchOptions {
  const options: PerfWatchOptions = {
    // An empty OTEL_SERVICE_NAME counts as unset, as everywhere else.
    serviceName: flags.serviceName ?? (process.env.OTEL_SERVICE_NAME?.trim() || 'perfwatch'),
  };
  if (flags.db !== undefined) options.dbPath = flags.db;
  if (flags.interval !== undefined) {
    const seconds = Number(flags.interval);
    if (!/^\d+(\.\d+)?$/.test(flags.interval.trim()) || !(seconds > 0)) {
      throw new ConfigError(
        '--interval',
        `must be a positive number of seconds, got ${JSON.stringify(flags.interval)}`,
      );
    }
    options.collectionIntervalMillis = Math.round(seconds * 1000);
  }
  if (flags.prometheusHost !== undefined) options.prometheusHost = flags.prometheusHost;
  if (flags.prometheusPort !== undefined)
    options.prometheusPort = integerFlag('--prometheus-port', flags.prometheusPort);
  if (!flags.prometheus) options.prometheusEnabled = false;
  if (flags.otlpEndpoint !== undefined) options.otlpEndpoint = flags.otlpEndpoint;
  applyHistoryFlags(flags, options);
  if (flags.rules !== undefined) options.alertRulesPath = flags.rules;
  if (flags.regressionRules !== undefined) options.regressionRulesPath = flags.regressionRules;
  if (!flags.defaultRules) options.defaultAlertRules = false;
  if (flags.alertmanagerUrl !== undefined) options.alertmanagerUrl = flags.alertmanagerUrl;
  if (flags.webhookUrl.length > 0) options.webhookUrls = flags.webhookUrl;
  return options;
}

function apiOptionsFromFlags(flags: StartFlags): ApiServerOptions {
  const options: ApiServerOptions = {};
  if (flags.apiHost !== undefined) options.host = flags.apiHost;
  if (flags.apiPort !== undefined) options.port = integerFlag('--api-port', flags.apiPort);
  if (flags.apiToken !== undefined) options.token = flags.apiToken;
  return options;
}
