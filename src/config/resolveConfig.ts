import { type RegressionRule, validateRegressionRules } from '../analysis/metricPolicy.js';
import { ConfigError } from '../errors.js';
import type { LogLevel, PerfWatchConfig, PerfWatchOptions } from './PerfWatchOptions.js';

export const DEFAULT_DB_PATH = './data/perfwatch.duckdb';
/** Node's timers take at most 2^31 - 1 ms; beyond it they fire after 1 ms. */
const MAX_TIMER_MILLIS = 2_147_483_647;
/**
 * Node's and the OTel instrumentation's default is 10 ms: 100 wake-ups a second of an otherwise
 * idle loop, a measurable share of a service's CPU at moderate load (`npm run bench:overhead`:
 * 20 ms took 1.5 % off the CPU per request at 1,800 requests/s of a 15 µs handler). A stall longer
 * than the resolution always shows, understated by at most the resolution; shorter ones are sampled.
 */
const DEFAULT_EVENT_LOOP_DELAY_RESOLUTION_MILLIS = 20;
const LOG_LEVELS: readonly LogLevel[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

type Env = Readonly<Record<string, string | undefined>>;

/**
 * Validates options and environment into one frozen config. Each invalid setting raises a
 * ConfigError naming the option, its env var and the rule it broke.
 */
export function resolveConfig(options: PerfWatchOptions = {}, env: Env = process.env): PerfWatchConfig {
  const read = new SettingReader(env);
  const collectionIntervalMillis = read.integer(
    'collectionIntervalMillis',
    'OTEL_METRIC_EXPORT_INTERVAL',
    options.collectionIntervalMillis,
    30_000,
    { min: 1, max: MAX_TIMER_MILLIS },
  );
  const config: PerfWatchConfig = {
    dbPath: read.nonEmptyString('dbPath', 'PERFWATCH_DB_PATH', options.dbPath, DEFAULT_DB_PATH),
    duckdbMemoryLimitMiB: read.integer(
      'duckdbMemoryLimitMiB',
      'PERFWATCH_DUCKDB_MEMORY_LIMIT_MIB',
      options.duckdbMemoryLimitMiB,
      256,
      { min: 16, max: 1_048_576 },
    ),
    collectionIntervalMillis,
    collectionTimeoutMillis: read.integer(
      'collectionTimeoutMillis',
      'OTEL_METRIC_EXPORT_TIMEOUT',
      options.collectionTimeoutMillis,
      10_000,
      { min: 1, max: MAX_TIMER_MILLIS },
    ),
    serviceName: read.optionalString('serviceName', 'OTEL_SERVICE_NAME', options.serviceName),
    resourceAttributes: Object.freeze({ ...options.resourceAttributes }),
    prometheusEnabled: read.boolean(
      'prometheusEnabled',
      'PERFWATCH_PROMETHEUS_ENABLED',
      options.prometheusEnabled,
      true,
    ),
    prometheusHost: read.nonEmptyString(
      'prometheusHost',
      'OTEL_EXPORTER_PROMETHEUS_HOST',
      options.prometheusHost,
      '127.0.0.1',
    ),
    prometheusPort: read.integer(
      'prometheusPort',
      'OTEL_EXPORTER_PROMETHEUS_PORT',
      options.prometheusPort,
      9464,
      {
        min: 0,
        max: 65_535,
      },
    ),
    otlpMetricsUrl: resolveOtlpUrl(options.otlpEndpoint, env),
    otlpHeaders: Object.freeze({ ...options.otlpHeaders }),
    otlpExportIntervalMillis: read.integer(
      'otlpExportIntervalMillis',
      undefined,
      options.otlpExportIntervalMillis,
      collectionIntervalMillis,
      { min: 1, max: MAX_TIMER_MILLIS },
    ),
    hostMetrics: read.boolean('hostMetrics', 'PERFWATCH_HOST_METRICS', options.hostMetrics, true),
    runtimeMetrics: read.boolean('runtimeMetrics', 'PERFWATCH_RUNTIME_METRICS', options.runtimeMetrics, true),
    eventLoopDelayResolutionMillis: read.integer(
      'eventLoopDelayResolutionMillis',
      'PERFWATCH_EVENT_LOOP_DELAY_RESOLUTION_MILLIS',
      options.eventLoopDelayResolutionMillis,
      DEFAULT_EVENT_LOOP_DELAY_RESOLUTION_MILLIS,
      { min: 1, max: 1000 },
    ),
    cardinalityLimit: read.integer(
      'cardinalityLimit',
      'PERFWATCH_CARDINALITY_LIMIT',
      options.cardinalityLimit,
      2000,
      { min: 1, max: 1_000_000 },
    ),
    writeBufferCollections: read.integer(
      'writeBufferCollections',
      'PERFWATCH_WRITE_BUFFER_COLLECTIONS',
      options.writeBufferCollections,
      20,
      { min: 0, max: 100_000 },
    ),
    maxSeries: read.integer('maxSeries', 'PERFWATCH_MAX_SERIES', options.maxSeries, 100_000, {
      min: 1,
      max: 100_000_000,
    }),
    maxSeriesPerMetric: read.integer(
      'maxSeriesPerMetric',
      'PERFWATCH_MAX_SERIES_PER_METRIC',
      options.maxSeriesPerMetric,
      50_000,
      { min: 1, max: 100_000_000 },
    ),
    retentionDays: read.integer('retentionDays', 'PERFWATCH_RETENTION_DAYS', options.retentionDays, 30, {
      min: 1,
      max: 365,
    }),
    rollupRetentionDays: read.integer(
      'rollupRetentionDays',
      'PERFWATCH_ROLLUP_RETENTION_DAYS',
      options.rollupRetentionDays,
      365,
      { min: 1, max: 3650 },
    ),
    snapshotPath: read.optionalString('snapshotPath', 'PERFWATCH_SNAPSHOT_PATH', options.snapshotPath),
    snapshotIntervalMinutes: read.integer(
      'snapshotIntervalMinutes',
      'PERFWATCH_SNAPSHOT_INTERVAL_MINUTES',
      options.snapshotIntervalMinutes,
      15,
      { min: 1, max: 10_080 },
    ),
    regressionIntervalMinutes: read.integer(
      'regressionIntervalMinutes',
      'PERFWATCH_REGRESSION_INTERVAL_MINUTES',
      options.regressionIntervalMinutes,
      10,
      { min: 0, max: 1440 },
    ),
    regressionLookbackHours: read.integer(
      'regressionLookbackHours',
      'PERFWATCH_REGRESSION_LOOKBACK_HOURS',
      options.regressionLookbackHours,
      24,
      { min: 1, max: 168 },
    ),
    regressionRules: Object.freeze(regressionRulesOf(options.regressionRules)),
    regressionRulesPath: read.optionalString(
      'regressionRulesPath',
      'PERFWATCH_REGRESSION_RULES',
      options.regressionRulesPath,
    ),
    logLevel: read.oneOf('logLevel', 'PERFWATCH_LOG_LEVEL', options.logLevel, 'info', LOG_LEVELS),
    alertRulesPath: read.optionalString('alertRulesPath', 'PERFWATCH_ALERT_RULES', options.alertRulesPath),
    defaultAlertRules: read.boolean(
      'defaultAlertRules',
      'PERFWATCH_DEFAULT_ALERT_RULES',
      options.defaultAlertRules,
      true,
    ),
    alertmanagerUrl: optionalHttpUrl(
      'alertmanagerUrl (PERFWATCH_ALERTMANAGER_URL)',
      options.alertmanagerUrl ?? (env.PERFWATCH_ALERTMANAGER_URL?.trim() || undefined),
    ),
    webhookUrls: Object.freeze(
      (
        options.webhookUrls ??
        (env.PERFWATCH_WEBHOOK_URLS ?? '')
          .split(',')
          .map((url) => url.trim())
          .filter((url) => url !== '')
      ).map((url) => httpUrl('webhookUrls (PERFWATCH_WEBHOOK_URLS)', url)),
    ),
  };
  if (config.rollupRetentionDays < config.retentionDays) {
    throw new ConfigError(
      'rollupRetentionDays (PERFWATCH_ROLLUP_RETENTION_DAYS)',
      `must be at least retentionDays (${config.retentionDays}), got ${config.rollupRetentionDays}: rollups outlive raw points`,
    );
  }
  return Object.freeze(config);
}

function regressionRulesOf(rules: unknown): RegressionRule[] {
  if (rules === undefined) return [];
  try {
    return validateRegressionRules(rules);
  } catch (error) {
    throw new ConfigError('regressionRules', error instanceof Error ? error.message : String(error));
  }
}

function settingName(option: string, envVar: string | undefined): string {
  return envVar === undefined ? option : `${option} (${envVar})`;
}

class SettingReader {
  constructor(private readonly env: Env) {}

  /** The raw value and where it came from; empty env vars count as unset, as the OTel spec says. */
  private pick<T>(
    option: T | undefined,
    envVar: string | undefined,
  ): { value: T | string; from: 'option' | 'env' } | undefined {
    if (option !== undefined) return { value: option, from: 'option' };
    const fromEnv = envVar === undefined ? undefined : this.env[envVar]?.trim();
    if (fromEnv !== undefined && fromEnv !== '') return { value: fromEnv, from: 'env' };
    return undefined;
  }

  integer(
    option: string,
    envVar: string | undefined,
    given: number | undefined,
    fallback: number,
    range: { min: number; max?: number },
  ): number {
    const picked = this.pick(given, envVar);
    if (picked === undefined) return fallback;
    const name = settingName(option, envVar);
    const value = typeof picked.value === 'number' ? picked.value : parseStrictInteger(picked.value);
    if (value === undefined || !Number.isInteger(value)) {
      throw new ConfigError(name, `must be an integer, got ${JSON.stringify(picked.value)}`);
    }
    if (value < range.min || (range.max !== undefined && value > range.max)) {
      const rule = range.max === undefined ? `>= ${range.min}` : `between ${range.min} and ${range.max}`;
      throw new ConfigError(name, `must be ${rule}, got ${value}`);
    }
    return value;
  }

  boolean(option: string, envVar: string, given: boolean | undefined, fallback: boolean): boolean {
    const picked = this.pick(given, envVar);
    if (picked === undefined) return fallback;
    if (typeof picked.value === 'boolean') return picked.value;
    const text = String(picked.value).toLowerCase();
    if (text === 'true' || text === '1') return true;
    if (text === 'false' || text === '0') return false;
    throw new ConfigError(
      settingName(option, envVar),
      `must be true or false, got ${JSON.stringify(picked.value)}`,
    );
  }

  nonEmptyString(option: string, envVar: string, given: string | undefined, fallback: string): string {
    const picked = this.pick(given, envVar);
    if (picked === undefined) return fallback;
    if (typeof picked.value !== 'string' || picked.value.trim() === '') {
      throw new ConfigError(settingName(option, envVar), 'must be a non-empty string');
    }
    return picked.value;
  }

  optionalString(option: string, envVar: string, given: string | undefined): string | undefined {
    const picked = this.pick(given, envVar);
    if (picked === undefined) return undefined;
    if (typeof picked.value !== 'string' || picked.value.trim() === '') {
      throw new ConfigError(settingName(option, envVar), 'must be a non-empty string');
    }
    return picked.value;
  }

  oneOf<T extends string>(
    option: string,
    envVar: string,
    given: T | undefined,
    fallback: T,
    allowed: readonly T[],
  ): T {
    const picked = this.pick(given, envVar);
    if (picked === undefined) return fallback;
    const value = String(picked.value).toLowerCase() as T;
    if (!allowed.includes(value)) {
      throw new ConfigError(
        settingName(option, envVar),
        `must be one of ${allowed.join(', ')}, got ${JSON.stringify(picked.value)}`,
      );
    }
    return value;
  }
}

function parseStrictInteger(text: string): number | undefined {
  return /^-?\d+$/.test(text) ? Number(text) : undefined;
}

function resolveOtlpUrl(option: string | undefined, env: Env): string | undefined {
  if (option !== undefined) return otlpUrl('otlpEndpoint', option, true);
  const signalSpecific = env.OTEL_EXPORTER_OTLP_METRICS_ENDPOINT?.trim();
  if (signalSpecific)
    return otlpUrl('otlpEndpoint (OTEL_EXPORTER_OTLP_METRICS_ENDPOINT)', signalSpecific, false);
  const base = env.OTEL_EXPORTER_OTLP_ENDPOINT?.trim();
  if (base) return otlpUrl('otlpEndpoint (OTEL_EXPORTER_OTLP_ENDPOINT)', base, true);
  return undefined;
}

function optionalHttpUrl(setting: string, text: string | undefined): string | undefined {
  return text === undefined ? undefined : httpUrl(setting, text);
}

function httpUrl(setting: string, text: string): string {
  return parseHttpUrl(setting, text, 'http://127.0.0.1:9093').toString();
}

function parseHttpUrl(setting: string, text: string, example: string): URL {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new ConfigError(setting, `must be an http(s) URL such as ${example}, got ${JSON.stringify(text)}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new ConfigError(setting, `must use http or https, got ${url.protocol}`);
  }
  return url;
}

function otlpUrl(setting: string, text: string, appendSignalPath: boolean): string {
  const url = parseHttpUrl(setting, text, 'http://localhost:4318');
  if (appendSignalPath && !url.pathname.endsWith('/v1/metrics')) {
    url.pathname = `${url.pathname.replace(/\/+$/, '')}/v1/metrics`;
  }
  return url.toString();
}
