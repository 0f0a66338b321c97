import type { Attributes } from '@opentelemetry/api';
import type { RegressionRule } from '../analysis/metricPolicy.js';
import type { Logger } from '../logging/Logger.js';
import type { OtlpReceiverOptions } from '../receiver/OtlpReceiver.js';
import type { Scheduler } from '../scheduling/Scheduler.js';

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

/**
 * Options of `startPerfWatch` and `perfwatch start`. Precedence for every setting:
 * the option given here → its environment variable → the documented default.
 */
export interface PerfWatchOptions {
  /** Path of the DuckDB history file; its folder is created. Env `PERFWATCH_DB_PATH`. @default './data/perfwatch.duckdb' */
  dbPath?: string;
  /**
   * MiB DuckDB's buffer manager may hold (its `memory_limit`; past it, queries spill to
   * `<dbPath>.tmp`). DuckDB's own default, 80 % of RAM, is no limit for a service sharing a host.
   * Env `PERFWATCH_DUCKDB_MEMORY_LIMIT_MIB` (16–1048576). @default 256
   */
  duckdbMemoryLimitMiB?: number;
  /** Milliseconds between two collections written to DuckDB. Env `OTEL_METRIC_EXPORT_INTERVAL`. @default 30000 */
  collectionIntervalMillis?: number;
  /** Milliseconds the instruments' callbacks may take in one collection (the SDK's collection timeout). Env `OTEL_METRIC_EXPORT_TIMEOUT`. @default 10000 */
  collectionTimeoutMillis?: number;
  /** `service.name` of the resource. Env `OTEL_SERVICE_NAME`. @default the SDK's `unknown_service:node` */
  serviceName?: string;
  /** Extra resource attributes, merged over `OTEL_RESOURCE_ATTRIBUTES`. @default {} */
  resourceAttributes?: Attributes;
  /** Serve the Prometheus scrape endpoint. Env `PERFWATCH_PROMETHEUS_ENABLED`. @default true */
  prometheusEnabled?: boolean;
  /** Interface of the scrape endpoint. Env `OTEL_EXPORTER_PROMETHEUS_HOST`. @default '127.0.0.1' */
  prometheusHost?: string;
  /** Port of the scrape endpoint; 0 picks a free one. Env `OTEL_EXPORTER_PROMETHEUS_PORT`. @default 9464 */
  prometheusPort?: number;
  /**
   * OTLP/HTTP base URL of a Collector, e.g. `http://collector:4318`; `/v1/metrics` is appended unless
   * the URL already ends with it. Env `OTEL_EXPORTER_OTLP_METRICS_ENDPOINT` (used as is) or
   * `OTEL_EXPORTER_OTLP_ENDPOINT` (base). Headers come from `OTEL_EXPORTER_OTLP_HEADERS`.
   * @default undefined (no OTLP export)
   */
  otlpEndpoint?: string;
  /** Extra HTTP headers of the OTLP export, merged over `OTEL_EXPORTER_OTLP_HEADERS`. @default {} */
  otlpHeaders?: Record<string, string>;
  /** Milliseconds between two OTLP exports. @default collectionIntervalMillis */
  otlpExportIntervalMillis?: number;
  /** Collect system and process metrics (CPU, memory, network, load, disk, threads, fds). Env `PERFWATCH_HOST_METRICS`. @default true */
  hostMetrics?: boolean;
  /** Collect Node.js runtime metrics (event loop, GC, V8 heap). Env `PERFWATCH_RUNTIME_METRICS`. @default true */
  runtimeMetrics?: boolean;
  /**
   * Interval of the event-loop delay monitor, in ms: the loop is woken this often to measure how
   * late it runs. Shorter sees shorter stalls exactly and costs more wake-ups. Env
   * `PERFWATCH_EVENT_LOOP_DELAY_RESOLUTION_MILLIS` (1–1000). @default 20
   */
  eventLoopDelayResolutionMillis?: number;
  /** Most series one metric may have; further attribute sets go to the SDK's overflow series. Env `PERFWATCH_CARDINALITY_LIMIT`. @default 2000 */
  cardinalityLimit?: number;
  /** Collections kept in memory while DuckDB writes fail; the oldest is dropped beyond it. Env `PERFWATCH_WRITE_BUFFER_COLLECTIONS`. @default 20 */
  writeBufferCollections?: number;
  /**
   * Most series the history takes; points of new series past it are refused (counted, logged,
   * and in an OTLP answer's partial success), known series keep being written.
   * Env `PERFWATCH_MAX_SERIES`. @default 100000
   */
  maxSeries?: number;
  /** Most series of one metric name, as `maxSeries`. Env `PERFWATCH_MAX_SERIES_PER_METRIC`. @default 50000 */
  maxSeriesPerMetric?: number;
  /** Days of raw points kept; older ones are deleted hourly. Env `PERFWATCH_RETENTION_DAYS` (1–365). @default 30 */
  retentionDays?: number;
  /** Days of 1-minute rollups kept (≥ retentionDays). Env `PERFWATCH_ROLLUP_RETENTION_DAYS` (1–3650). @default 365 */
  rollupRetentionDays?: number;
  /**
   * Where the running service writes a periodic, read-only-openable copy of the history (the live
   * file is locked while perfwatch writes it). Env `PERFWATCH_SNAPSHOT_PATH`. @default undefined (no snapshots)
   */
  snapshotPath?: string;
  /** Minutes between snapshots. Env `PERFWATCH_SNAPSHOT_INTERVAL_MINUTES` (1–10080). @default 15 */
  snapshotIntervalMinutes?: number;
  /** Minutes between regression cycles; 0 turns the schedule off. Env `PERFWATCH_REGRESSION_INTERVAL_MINUTES` (0–1440). @default 10 */
  regressionIntervalMinutes?: number;
  /** Hours of history each regression cycle analyses. Env `PERFWATCH_REGRESSION_LOOKBACK_HOURS` (1–168). @default 24 */
  regressionLookbackHours?: number;
  /** Regression rules (metric glob → worse direction, minimum effect, enabled); later rules win, and these come after the file's. @default [] */
  regressionRules?: readonly RegressionRule[];
  /** YAML or JSON file of regression rules (`regressions:` list). Env `PERFWATCH_REGRESSION_RULES`. @default undefined */
  regressionRulesPath?: string;
  /** Level of perfwatch's own structured log (stderr). Env `PERFWATCH_LOG_LEVEL`. @default 'info' */
  logLevel?: LogLevel;
  /** Alert rules file (YAML or JSON), evaluated after every collection next to the default rules. Env `PERFWATCH_ALERT_RULES`. @default undefined */
  alertRulesPath?: string;
  /** Evaluate the shipped default rules (`alerts/default-rules.yaml`). Env `PERFWATCH_DEFAULT_ALERT_RULES`. @default true */
  defaultAlertRules?: boolean;
  /** Prometheus Alertmanager base URL, e.g. `http://127.0.0.1:9093`; alerts go to its v2 API. Env `PERFWATCH_ALERTMANAGER_URL`. @default undefined */
  alertmanagerUrl?: string;
  /** URLs that receive a JSON POST whenever an alert starts or stops firing. Env `PERFWATCH_WEBHOOK_URLS` (comma-separated). @default [] */
  webhookUrls?: readonly string[];
  /**
   * Also receive OTLP/HTTP metrics that other services or a Collector push (`POST /v1/metrics`)
   * into the same history, where the same alert rules and regression cycles analyse them: what
   * `perfwatch serve` runs. The settings are OtlpReceiver's (host, port — 4318 by default —, token,
   * maxRequestBytes, …); errors name them `otlpReceiver.port` and so on.
   * @default undefined (no receiver)
   */
  otlpReceiver?: Omit<OtlpReceiverOptions, 'store' | 'logger'>;
  /** Logger to use instead of the default pino logger on stderr. */
  logger?: Logger;
  /** Timer source for periodic collection and retention; tests inject a manual one. @default real, unref'd timers */
  scheduler?: Scheduler;
  /** Wall clock for retention cut-offs. @default Date.now */
  now?: () => number;
}

/** The validated, fully defaulted, frozen configuration. */
export interface PerfWatchConfig {
  readonly dbPath: string;
  readonly duckdbMemoryLimitMiB: number;
  readonly collectionIntervalMillis: number;
  readonly collectionTimeoutMillis: number;
  readonly serviceName: string | undefined;
  readonly resourceAttributes: Readonly<Attributes>;
  readonly prometheusEnabled: boolean;
  readonly prometheusHost: string;
  readonly prometheusPort: number;
  /** Full URL including `/v1/metrics`, or undefined when OTLP export is off. */
  readonly otlpMetricsUrl: string | undefined;
  readonly otlpHeaders: Readonly<Record<string, string>>;
  readonly otlpExportIntervalMillis: number;
  readonly hostMetrics: boolean;
  readonly runtimeMetrics: boolean;
  readonly eventLoopDelayResolutionMillis: number;
  readonly cardinalityLimit: number;
  readonly writeBufferCollections: number;
  readonly maxSeries: number;
  readonly maxSeriesPerMetric: number;
  readonly retentionDays: number;
  readonly rollupRetentionDays: number;
  readonly snapshotPath: string | undefined;
  readonly snapshotIntervalMinutes: number;
  readonly regressionIntervalMinutes: number;
  readonly regressionLookbackHours: number;
  readonly regressionRules: readonly RegressionRule[];
  readonly regressionRulesPath: string | undefined;
  readonly logLevel: LogLevel;
  readonly alertRulesPath: string | undefined;
  readonly defaultAlertRules: boolean;
  readonly alertmanagerUrl: string | undefined;
  readonly webhookUrls: readonly string[];
}
