import { describe, expect, it } from 'vitest';
import { resolveConfig } from '../../src/config/resolveConfig.js';
import { ConfigError } from '../../src/errors.js';

describe('resolveConfig', () => {
  it('applies the documented defaults and freezes the result', () => {
    const config = resolveConfig({}, {});
    expect(config).toEqual({
      dbPath: './data/perfwatch.duckdb',
      duckdbMemoryLimitMiB: 256,
      collectionIntervalMillis: 30_000,
      collectionTimeoutMillis: 10_000,
      serviceName: undefined,
      resourceAttributes: {},
      prometheusEnabled: true,
      prometheusHost: '127.0.0.1',
      prometheusPort: 9464,
      otlpMetricsUrl: undefined,
      otlpHeaders: {},
      otlpExportIntervalMillis: 30_000,
      hostMetrics: true,
      runtimeMetrics: true,
      eventLoopDelayResolutionMillis: 20,
      cardinalityLimit: 2000,
      writeBufferCollections: 20,
      maxSeries: 100_000,
      maxSeriesPerMetric: 50_000,
      retentionDays: 30,
      rollupRetentionDays: 365,
      snapshotPath: undefined,
      snapshotIntervalMinutes: 15,
      regressionIntervalMinutes: 10,
      regressionLookbackHours: 24,
      regressionRules: [],
      regressionRulesPath: undefined,
      logLevel: 'info',
      alertRulesPath: undefined,
      defaultAlertRules: true,
      alertmanagerUrl: undefined,
      webhookUrls: [],
    });
    expect(Object.isFrozen(config)).toBe(true);
  });

  it('takes the event-loop delay resolution from the option over the environment', () => {
    const env = { PERFWATCH_EVENT_LOOP_DELAY_RESOLUTION_MILLIS: '50' };
    expect(resolveConfig({}, env).eventLoopDelayResolutionMillis).toBe(50);
    expect(resolveConfig({ eventLoopDelayResolutionMillis: 10 }, env).eventLoopDelayResolutionMillis).toBe(
      10,
    );
  });

  it("takes DuckDB's memory limit from the option over the environment", () => {
    const env = { PERFWATCH_DUCKDB_MEMORY_LIMIT_MIB: '512' };
    expect(resolveConfig({}, env).duckdbMemoryLimitMiB).toBe(512);
    expect(resolveConfig({ duckdbMemoryLimitMiB: 128 }, env).duckdbMemoryLimitMiB).toBe(128);
  });

  it('reads the alert settings from the environment', () => {
    const config = resolveConfig(
      {},
      {
        PERFWATCH_ALERT_RULES: 'rules.yaml',
        PERFWATCH_DEFAULT_ALERT_RULES: 'false',
        PERFWATCH_ALERTMANAGER_URL: 'http://127.0.0.1:9093',
        PERFWATCH_WEBHOOK_URLS: 'http://a.example/hook, https://b.example/x?token=1',
      },
    );
    expect(config).toMatchObject({
      alertRulesPath: 'rules.yaml',
      defaultAlertRules: false,
      alertmanagerUrl: 'http://127.0.0.1:9093/',
      webhookUrls: ['http://a.example/hook', 'https://b.example/x?token=1'],
    });
    expect(resolveConfig({ webhookUrls: [] }, { PERFWATCH_WEBHOOK_URLS: 'http://a/' }).webhookUrls).toEqual(
      [],
    );
  });

  it('prefers the option over the environment over the default', () => {
    const env = {
      OTEL_METRIC_EXPORT_INTERVAL: '5000',
      OTEL_EXPORTER_PROMETHEUS_PORT: '9999',
      PERFWATCH_DB_PATH: '/var/lib/pw.duckdb',
    };
    expect(resolveConfig({}, env)).toMatchObject({
      collectionIntervalMillis: 5000,
      prometheusPort: 9999,
      dbPath: '/var/lib/pw.duckdb',
    });
    expect(resolveConfig({ collectionIntervalMillis: 1000, prometheusPort: 0 }, env)).toMatchObject({
      collectionIntervalMillis: 1000,
      prometheusPort: 0, // 0 is a port (pick a free one), not "unset"
      otlpExportIntervalMillis: 1000,
    });
  });

  it('treats empty environment variables as unset', () => {
    expect(resolveConfig({}, { OTEL_EXPORTER_PROMETHEUS_PORT: '', OTEL_SERVICE_NAME: ' ' })).toMatchObject({
      prometheusPort: 9464,
      serviceName: undefined,
    });
  });

  it('builds the OTLP metrics URL from the base endpoint, or takes the signal endpoint as is', () => {
    expect(resolveConfig({ otlpEndpoint: 'http://collector:4318' }, {}).otlpMetricsUrl).toBe(
      'http://collector:4318/v1/metrics',
    );
    expect(
      resolveConfig({}, { OTEL_EXPORTER_OTLP_ENDPOINT: 'https://otel.example/prefix/' }).otlpMetricsUrl,
    ).toBe('https://otel.example/prefix/v1/metrics');
    expect(
      resolveConfig(
        {},
        {
          OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: 'http://c:4318/custom',
          OTEL_EXPORTER_OTLP_ENDPOINT: 'http://x',
        },
      ).otlpMetricsUrl,
    ).toBe('http://c:4318/custom');
  });

  it.each([
    [
      { collectionIntervalMillis: -5 },
      {},
      'collectionIntervalMillis (OTEL_METRIC_EXPORT_INTERVAL): must be between 1 and 2147483647, got -5',
    ],
    [
      {},
      { OTEL_METRIC_EXPORT_INTERVAL: '30s' },
      'collectionIntervalMillis (OTEL_METRIC_EXPORT_INTERVAL): must be an integer, got "30s"',
    ],
    [
      { collectionTimeoutMillis: 0 },
      {},
      'collectionTimeoutMillis (OTEL_METRIC_EXPORT_TIMEOUT): must be between 1 and 2147483647, got 0',
    ],
    [
      { prometheusPort: 70000 },
      {},
      'prometheusPort (OTEL_EXPORTER_PROMETHEUS_PORT): must be between 0 and 65535, got 70000',
    ],
    [
      {},
      { OTEL_EXPORTER_PROMETHEUS_PORT: 'http' },
      'prometheusPort (OTEL_EXPORTER_PROMETHEUS_PORT): must be an integer, got "http"',
    ],
    [
      { prometheusHost: ' ' },
      {},
      'prometheusHost (OTEL_EXPORTER_PROMETHEUS_HOST): must be a non-empty string',
    ],
    [
      {},
      { PERFWATCH_PROMETHEUS_ENABLED: 'yes' },
      'prometheusEnabled (PERFWATCH_PROMETHEUS_ENABLED): must be true or false, got "yes"',
    ],
    [{ dbPath: '' }, {}, 'dbPath (PERFWATCH_DB_PATH): must be a non-empty string'],
    [
      {},
      { PERFWATCH_DUCKDB_MEMORY_LIMIT_MIB: '8' },
      'duckdbMemoryLimitMiB (PERFWATCH_DUCKDB_MEMORY_LIMIT_MIB): must be between 16 and 1048576, got 8',
    ],
    [
      {},
      { PERFWATCH_REGRESSION_LOOKBACK_HOURS: '0' },
      'regressionLookbackHours (PERFWATCH_REGRESSION_LOOKBACK_HOURS): must be between 1 and 168, got 0',
    ],
    [
      { regressionRules: [{ metric: 'a', worse: 'left' }] },
      {},
      'regressionRules: regression rule 1: worse must be up, down or none, got "left"',
    ],
    [{ otlpEndpoint: 'collector:4318' }, {}, 'otlpEndpoint: must use http or https, got collector:'],
    [
      { otlpEndpoint: 'not a url' },
      {},
      'otlpEndpoint: must be an http(s) URL such as http://localhost:4318, got "not a url"',
    ],
    [
      {},
      { OTEL_EXPORTER_OTLP_ENDPOINT: 'ftp://c' },
      'otlpEndpoint (OTEL_EXPORTER_OTLP_ENDPOINT): must use http or https, got ftp:',
    ],
    [{ otlpExportIntervalMillis: 0.5 }, {}, 'otlpExportIntervalMillis: must be an integer, got 0.5'],
    [
      {},
      { PERFWATCH_ALERTMANAGER_URL: 'alertmanager:9093' },
      'alertmanagerUrl (PERFWATCH_ALERTMANAGER_URL): must use http or https, got alertmanager:',
    ],
    [
      {},
      { PERFWATCH_WEBHOOK_URLS: 'http://a/hook, not a url' },
      'webhookUrls (PERFWATCH_WEBHOOK_URLS): must be an http(s) URL such as http://127.0.0.1:9093, got "not a url"',
    ],
    [
      {},
      { PERFWATCH_DEFAULT_ALERT_RULES: 'no' },
      'defaultAlertRules (PERFWATCH_DEFAULT_ALERT_RULES): must be true or false, got "no"',
    ],
    [
      { collectionIntervalMillis: 3_000_000_000 },
      {},
      'collectionIntervalMillis (OTEL_METRIC_EXPORT_INTERVAL): must be between 1 and 2147483647, got 3000000000',
    ],
    [
      { cardinalityLimit: 0 },
      {},
      'cardinalityLimit (PERFWATCH_CARDINALITY_LIMIT): must be between 1 and 1000000, got 0',
    ],
    [
      {},
      { PERFWATCH_WRITE_BUFFER_COLLECTIONS: '-1' },
      'writeBufferCollections (PERFWATCH_WRITE_BUFFER_COLLECTIONS): must be between 0 and 100000, got -1',
    ],
    [
      {},
      { PERFWATCH_HOST_METRICS: 'off' },
      'hostMetrics (PERFWATCH_HOST_METRICS): must be true or false, got "off"',
    ],
    [
      {},
      { PERFWATCH_RUNTIME_METRICS: 'nope' },
      'runtimeMetrics (PERFWATCH_RUNTIME_METRICS): must be true or false, got "nope"',
    ],
    [
      {},
      { PERFWATCH_EVENT_LOOP_DELAY_RESOLUTION_MILLIS: '0' },
      'eventLoopDelayResolutionMillis (PERFWATCH_EVENT_LOOP_DELAY_RESOLUTION_MILLIS): must be between 1 and 1000, got 0',
    ],
    [
      {},
      { PERFWATCH_LOG_LEVEL: 'loud' },
      'logLevel (PERFWATCH_LOG_LEVEL): must be one of fatal, error, warn, info, debug, trace, silent, got "loud"',
    ],
  ])('rejects %j / env %j with its own message', (options, env, message) => {
    let error: unknown;
    try {
      resolveConfig(options as never, env);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).code).toBe('PERFWATCH_CONFIG_INVALID');
    expect((error as Error).message).toBe(message);
  });
});
