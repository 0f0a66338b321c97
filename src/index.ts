export type { AlertProcessor, AlertStatus, EvaluationSummary } from './alerts/AlertProcessor.js';
export type { AlertRule, Comparison, MetricSelector } from './alerts/AlertRule.js';
export type { AlertState } from './alerts/alertState.js';
export { loadRulesFile, parseRules } from './alerts/parseRules.js';
export {
  type BenchmarkComparison,
  type CompareBenchmarkOptions,
  type ComparedSide,
  compareBenchmark,
  type SeriesComparison,
} from './analysis/compareBenchmark.js';
export type { BenchmarkVerdict, SampleComparison, VerdictOptions } from './analysis/compareSamples.js';
export { type CreateBenchmarkOptions, createBenchmark } from './analysis/createBenchmark.js';
export { deleteBenchmark } from './analysis/deleteBenchmark.js';
export {
  AnalysisInputError,
  type ChangePoint,
  type ChangePointOptions,
  detectChangePoints,
} from './analysis/detectChangePoints.js';
export {
  type MetricClass,
  type MetricPolicy,
  type RegressionRule,
  RegressionRuleError,
  type WorseDirection,
} from './analysis/metricPolicy.js';
export {
  type ActiveCount,
  type CycleSummary,
  RegressionProcessor,
  type RegressionProcessorOptions,
} from './analysis/RegressionProcessor.js';
export type { LogLevel, PerfWatchConfig, PerfWatchOptions } from './config/PerfWatchOptions.js';
export { resolveConfig } from './config/resolveConfig.js';
export {
  BenchmarkError,
  type BenchmarkProblem,
  ConfigError,
  InvalidCollectionError,
  PerfWatchError,
  QueryError,
  RuleError,
  SchemaVersionError,
  ShutdownError,
  SqlError,
  SqlMemoryLimitError,
  SqlRefusedError,
  SqlTimeoutError,
  StoreError,
  StoreLockedError,
} from './errors.js';
export type { Logger } from './logging/Logger.js';
export {
  DuckDbMetricReader,
  type DuckDbMetricReaderOptions,
  type ReaderStatus,
} from './reader/DuckDbMetricReader.js';
export { OtlpReceiver, type OtlpReceiverOptions } from './receiver/OtlpReceiver.js';
export type { ReceivedWritesStatus } from './receiver/ReceivedWrites.js';
export type { BatchWriter } from './receiver/WriteQueue.js';
export type { ScheduledTask, Scheduler } from './scheduling/Scheduler.js';
export type { ApiServerOptions } from './server/ApiServerOptions.js';
export { type RunningApiServer, startApiServer } from './server/startApiServer.js';
export { type PerfWatch, type RunningReceiver, startPerfWatch } from './startPerfWatch.js';
export {
  type Benchmark,
  type BenchmarkInfo,
  type BenchmarkResource,
  type BenchmarkSeries,
  listBenchmarks,
  readBenchmark,
  type SeriesStatistics,
} from './store/benchmarkRecords.js';
export type { ExportOptions, ExportProgress, ExportSummary } from './store/exportParquet.js';
export { HistoryReader } from './store/HistoryReader.js';
export { histogramQuantile } from './store/histogramQuantile.js';
export {
  MetricStore,
  type MetricStoreOptions,
  type RetentionSummary,
  type WriteSummary,
} from './store/MetricStore.js';
export type { QueryRunner } from './store/QueryRunner.js';
export {
  type Aggregation,
  type LabelMatcher,
  queryTimeSeries,
  type TimeSeriesPoint,
  type TimeSeriesQuery,
  type TimeSeriesResult,
} from './store/queryTimeSeries.js';
export {
  type ChangeKind,
  type DeployVerdict,
  listDeployVerdicts,
  listRegressions,
  type RegressionFilter,
  type RegressionRecord,
  type Severity,
  type WindowStats,
} from './store/regressionRecords.js';
export type { RollupSummary } from './store/rollUp.js';
export { type SqlOptions, type SqlResult, SqlSandbox, type SqlSandboxOptions } from './store/SqlSandbox.js';
export type {
  ColumnarMetricData,
  PointColumns,
  StoredMetricData,
  StoredResourceMetrics,
  SummaryMetricData,
  SummaryValue,
} from './store/StoredResourceMetrics.js';
export type { Row } from './store/toJs.js';
export type { SnapshotSummary } from './store/writeSnapshot.js';
export type { CollectorMetric, CollectorSample, CustomCollector } from './telemetry/CollectorRegistry.js';
export { PERFWATCH_VERSION } from './version.js';
