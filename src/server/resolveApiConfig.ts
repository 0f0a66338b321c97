import { isLoopbackName } from '../config/isLoopbackName.js';
import { ConfigError } from '../errors.js';
import {
  type ApiServerConfig,
  type ApiServerOptions,
  DEFAULT_API_HOST,
  DEFAULT_API_PORT,
} from './ApiServerOptions.js';

/**
 * One frozen, fully defaulted config: option → environment variable → default (empty variables
 * count as unset). `port ?? env ?? default`, never `||`, so port 0 stays possible.
 */
export function resolveApiConfig(
  options: ApiServerOptions = {},
  env: NodeJS.ProcessEnv = process.env,
): ApiServerConfig {
  const envText = (name: string) => env[name]?.trim() || undefined;
  const host = options.host ?? envText('PERFWATCH_API_HOST') ?? DEFAULT_API_HOST;
  const portText = envText('PERFWATCH_API_PORT');
  const port = options.port ?? (portText === undefined ? DEFAULT_API_PORT : Number(portText));
  if (
    !Number.isInteger(port) ||
    port < 0 ||
    port > 65_535 ||
    (portText !== undefined && !/^\d+$/.test(portText))
  ) {
    throw new ConfigError(
      'apiPort (PERFWATCH_API_PORT)',
      `must be a whole number between 0 and 65535, got ${JSON.stringify(options.port ?? portText)}`,
    );
  }
  const token = options.token ?? envText('PERFWATCH_API_TOKEN');
  if (token !== undefined && token.length < 16) {
    throw new ConfigError('apiToken (PERFWATCH_API_TOKEN)', 'must be at least 16 characters long');
  }
  if (token === undefined && !isLoopbackName(host)) {
    throw new ConfigError(
      'apiHost (PERFWATCH_API_HOST)',
      `binding the API to ${host} exposes it beyond this machine; set an API token (--api-token or PERFWATCH_API_TOKEN) or bind to 127.0.0.1`,
    );
  }
  const bodyLimitBytes = options.bodyLimitBytes ?? 1_048_576;
  if (!Number.isInteger(bodyLimitBytes) || bodyLimitBytes < 1024 || bodyLimitBytes > 1_073_741_824) {
    throw new ConfigError(
      'bodyLimitBytes',
      `must be an integer between 1024 and 1073741824, got ${bodyLimitBytes}`,
    );
  }
  const sqlSnapshotMaxAgeMillis = options.sqlSnapshotMaxAgeMillis ?? 30_000;
  if (!Number.isInteger(sqlSnapshotMaxAgeMillis) || sqlSnapshotMaxAgeMillis < 0) {
    throw new ConfigError(
      'sqlSnapshotMaxAgeMillis',
      `must be an integer >= 0, got ${sqlSnapshotMaxAgeMillis}`,
    );
  }
  return Object.freeze({
    host,
    port,
    token,
    protectReads: options.protectReads ?? false,
    bodyLimitBytes,
    corsOrigins: listOption(options.corsOrigins, envText('PERFWATCH_API_CORS_ORIGINS')),
    allowedHosts: listOption(options.allowedHosts, envText('PERFWATCH_API_ALLOWED_HOSTS')),
    sqlSnapshotMaxAgeMillis,
  });
}

/** A list option, or else its comma-separated environment variable, without empty entries. */
function listOption(option: readonly string[] | undefined, envValue: string | undefined): readonly string[] {
  const items = option ?? envValue?.split(',') ?? [];
  return Object.freeze(items.map((item) => item.trim()).filter((item) => item !== ''));
}
