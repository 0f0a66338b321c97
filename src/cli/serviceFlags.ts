import type { Command } from 'commander';
import type { PerfWatchOptions } from '../config/PerfWatchOptions.js';
import { ConfigError } from '../errors.js';
import type { ApiServerOptions } from '../server/ApiServerOptions.js';
import { resolveApiConfig } from '../server/resolveApiConfig.js';
import type { RunningApiServer } from '../server/startApiServer.js';
import type { PerfWatch } from '../startPerfWatch.js';
import { integerFlag } from './historyFlags.js';
import { waitForSignal } from './waitForSignal.js';

/**
 * Flags of the long-running commands (`start`, `serve`): collection interval and service name,
 * alert and regression rules and where alerts go, and the HTTP API and dashboard.
 */
export interface ServiceFlags {
  interval?: string;
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
  apiAllowedHost: string[];
  apiCorsOrigin: string[];
}

export function addServiceFlags(command: Command, intervalHelp: string): Command {
  return command
    .option('--interval <seconds>', intervalHelp)
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
    .option(
      '--api-allowed-host <name>',
      'a Host name the API answers to besides loopback ones, e.g. behind a reverse proxy; repeatable (env PERFWATCH_API_ALLOWED_HOSTS, comma-separated)',
      (value: string, previous: string[]) => [...previous, value],
      [],
    )
    .option(
      '--api-cors-origin <origin>',
      'an origin whose pages may call the API (CORS, and mutating requests from it); repeatable (env PERFWATCH_API_CORS_ORIGINS, comma-separated)',
      (value: string, previous: string[]) => [...previous, value],
      [],
    )
    .option('--no-api', 'do not serve the HTTP API and dashboard');
}

/** Copies the service flags that were given into `options`. */
export function applyServiceFlags(flags: ServiceFlags, options: PerfWatchOptions): void {
  // An empty OTEL_SERVICE_NAME counts as unset, as everywhere else.
  options.serviceName = flags.serviceName ?? (process.env.OTEL_SERVICE_NAME?.trim() || 'perfwatch');
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
  if (flags.rules !== undefined) options.alertRulesPath = flags.rules;
  if (flags.regressionRules !== undefined) options.regressionRulesPath = flags.regressionRules;
  if (!flags.defaultRules) options.defaultAlertRules = false;
  if (flags.alertmanagerUrl !== undefined) options.alertmanagerUrl = flags.alertmanagerUrl;
  if (flags.webhookUrl.length > 0) options.webhookUrls = flags.webhookUrl;
}

/**
 * The API options from the flags, validated now (a refused host must not leave a file open), or
 * undefined with `--no-api`. `fallbackToken` is the command's other token (serve's `--token`).
 */
export function apiOptionsFromFlags(
  flags: ServiceFlags,
  fallbackToken?: string,
): ApiServerOptions | undefined {
  if (!flags.api) return undefined;
  const options: ApiServerOptions = {};
  if (flags.apiHost !== undefined) options.host = flags.apiHost;
  if (flags.apiPort !== undefined) options.port = integerFlag('--api-port', flags.apiPort);
  if (flags.apiAllowedHost.length > 0) options.allowedHosts = flags.apiAllowedHost;
  if (flags.apiCorsOrigin.length > 0) options.corsOrigins = flags.apiCorsOrigin;
  const token = flags.apiToken ?? fallbackToken;
  if (token !== undefined) options.token = token;
  resolveApiConfig(options);
  return options;
}

/**
 * Serves the API (unless `apiOptions` is undefined), prints the banner `describe` makes, waits for
 * SIGINT/SIGTERM, then closes the API and the perfwatch — the API first, so no request reaches a
 * closing store. A second signal while shutting down gives up on the flush.
 */
export async function runService(
  perfwatch: PerfWatch,
  apiOptions: ApiServerOptions | undefined,
  describe: (api: RunningApiServer | undefined) => string,
  closingMessage: string,
): Promise<void> {
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
  // Every handler is in place before the line that says the service is up: a signal sent as soon
  // as it is read (a supervisor's, a test's) must not meet the default action and end the process.
  process.on('SIGHUP', reloadRules);
  const signalled = waitForSignal();
  process.stderr.write(`${describe(api)}; Ctrl-C to stop\n`);
  await signalled;
  process.off('SIGHUP', reloadRules);
  process.stderr.write(`${closingMessage}\n`);
  const forceExit = () => process.exit(130);
  process.once('SIGINT', forceExit);
  process.once('SIGTERM', forceExit);
  try {
    await api?.close();
  } finally {
    await perfwatch.shutdown();
  }
}
