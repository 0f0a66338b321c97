export type { LogLevel, PerfWatchConfig, PerfWatchOptions } from './config/PerfWatchOptions.js';
export { resolveConfig } from './config/resolveConfig.js';
export {
  ConfigError,
  PerfWatchError,
  SchemaVersionError,
  ShutdownError,
  SqlError,
  SqlRefusedError,
  SqlTimeoutError,
  StoreError,
  StoreLockedError,
} from './errors.js';
export type { Logger } from './logging/Logger.js';
export { DuckDbMetricReader, type DuckDbMetricReaderOptions } from './reader/DuckDbMetricReader.js';
export type { ScheduledTask, Scheduler } from './scheduling/Scheduler.js';
export { type PerfWatch, startPerfWatch } from './startPerfWatch.js';
export { MetricStore, type MetricStoreOptions, type WriteSummary } from './store/MetricStore.js';
export { type SqlOptions, type SqlResult, SqlSandbox } from './store/SqlSandbox.js';
export type { Row } from './store/toJs.js';
export type { CollectorMetric, CollectorSample, CustomCollector } from './telemetry/CollectorRegistry.js';
export { PERFWATCH_VERSION } from './version.js';
