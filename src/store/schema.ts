/**
 * The history schema and its migrations. `MIGRATIONS[i]` upgrades a file from version i to i + 1;
 * a file whose version is higher than `SCHEMA_VERSION` was written by a newer perfwatch and is
 * refused rather than guessed at.
 *
 * Point tables reference series through `series_ref`, a dense per-file integer, not through the
 * 64-bit `series_id` hash: consecutive small integers bit-pack to a few bits per row, random 64-bit
 * hashes do not compress at all (8 bytes per point). `series_id` stays the stable identity that
 * other files, exports and later analysis records use.
 */
export const SCHEMA_VERSION = 6;

const V1 = `
CREATE TABLE perfwatch_schema (
  version INTEGER NOT NULL,
  applied_at TIMESTAMP NOT NULL DEFAULT current_timestamp::TIMESTAMP,
  perfwatch_version VARCHAR NOT NULL
);

CREATE TABLE series (
  series_ref UINTEGER PRIMARY KEY,
  series_id UBIGINT NOT NULL UNIQUE,
  metric_name VARCHAR NOT NULL,
  kind VARCHAR NOT NULL,            -- gauge | sum | histogram | exponential_histogram | summary
  unit VARCHAR NOT NULL,
  description VARCHAR NOT NULL,
  temporality VARCHAR,              -- cumulative | delta; NULL for gauges
  monotonic BOOLEAN,                -- sums only
  service_name VARCHAR,
  service_instance_id VARCHAR,
  service_version VARCHAR,
  host_name VARCHAR,
  resource_attrs MAP(VARCHAR, VARCHAR) NOT NULL,
  scope_name VARCHAR NOT NULL,
  scope_version VARCHAR,
  attrs MAP(VARCHAR, VARCHAR) NOT NULL,
  first_seen TIMESTAMP NOT NULL,
  last_seen TIMESTAMP NOT NULL
);

CREATE TABLE points_number (
  series_ref UINTEGER NOT NULL,
  start_time TIMESTAMP,
  time TIMESTAMP NOT NULL,
  value DOUBLE NOT NULL
);

CREATE TABLE points_histogram (
  series_ref UINTEGER NOT NULL,
  start_time TIMESTAMP,
  time TIMESTAMP NOT NULL,
  count UBIGINT NOT NULL,
  sum DOUBLE,
  min DOUBLE,
  max DOUBLE,
  bounds DOUBLE[] NOT NULL,
  counts UBIGINT[] NOT NULL
);

CREATE TABLE points_exp_histogram (
  series_ref UINTEGER NOT NULL,
  start_time TIMESTAMP,
  time TIMESTAMP NOT NULL,
  count UBIGINT NOT NULL,
  sum DOUBLE,
  min DOUBLE,
  max DOUBLE,
  scale INTEGER NOT NULL,
  zero_count UBIGINT NOT NULL,
  zero_threshold DOUBLE,
  positive_offset INTEGER NOT NULL,
  positive_counts UBIGINT[] NOT NULL,
  negative_offset INTEGER NOT NULL,
  negative_counts UBIGINT[] NOT NULL
);

CREATE TABLE points_summary (
  series_ref UINTEGER NOT NULL,
  start_time TIMESTAMP,
  time TIMESTAMP NOT NULL,
  count UBIGINT NOT NULL,
  sum DOUBLE NOT NULL,
  quantiles DOUBLE[] NOT NULL,
  quantile_values DOUBLE[] NOT NULL
);

-- Views shaped like the OpenTelemetry Collector's ClickHouse exporter tables, so SQL written for
-- those works here. AggregationTemporality uses OTLP's enum: 1 = delta, 2 = cumulative.
CREATE VIEW otel_metrics_gauge AS
SELECT s.resource_attrs AS ResourceAttributes, s.service_name AS ServiceName,
       s.scope_name AS ScopeName, s.scope_version AS ScopeVersion,
       s.metric_name AS MetricName, s.description AS MetricDescription, s.unit AS MetricUnit,
       s.attrs AS Attributes, p.start_time AS StartTimeUnix, p.time AS TimeUnix, p.value AS Value,
       s.series_id AS SeriesId
FROM points_number p JOIN series s USING (series_ref)
WHERE s.kind = 'gauge';

CREATE VIEW otel_metrics_sum AS
SELECT s.resource_attrs AS ResourceAttributes, s.service_name AS ServiceName,
       s.scope_name AS ScopeName, s.scope_version AS ScopeVersion,
       s.metric_name AS MetricName, s.description AS MetricDescription, s.unit AS MetricUnit,
       s.attrs AS Attributes, p.start_time AS StartTimeUnix, p.time AS TimeUnix, p.value AS Value,
       CASE s.temporality WHEN 'delta' THEN 1 WHEN 'cumulative' THEN 2 ELSE 0 END AS AggregationTemporality,
       s.monotonic AS IsMonotonic, s.series_id AS SeriesId
FROM points_number p JOIN series s USING (series_ref)
WHERE s.kind = 'sum';

CREATE VIEW otel_metrics_histogram AS
SELECT s.resource_attrs AS ResourceAttributes, s.service_name AS ServiceName,
       s.scope_name AS ScopeName, s.scope_version AS ScopeVersion,
       s.metric_name AS MetricName, s.description AS MetricDescription, s.unit AS MetricUnit,
       s.attrs AS Attributes, p.start_time AS StartTimeUnix, p.time AS TimeUnix,
       p.count AS Count, p.sum AS Sum, p.counts AS BucketCounts, p.bounds AS ExplicitBounds,
       p.min AS Min, p.max AS Max,
       CASE s.temporality WHEN 'delta' THEN 1 WHEN 'cumulative' THEN 2 ELSE 0 END AS AggregationTemporality,
       s.series_id AS SeriesId
FROM points_histogram p JOIN series s USING (series_ref);

CREATE VIEW otel_metrics_exp_histogram AS
SELECT s.resource_attrs AS ResourceAttributes, s.service_name AS ServiceName,
       s.scope_name AS ScopeName, s.scope_version AS ScopeVersion,
       s.metric_name AS MetricName, s.description AS MetricDescription, s.unit AS MetricUnit,
       s.attrs AS Attributes, p.start_time AS StartTimeUnix, p.time AS TimeUnix,
       p.count AS Count, p.sum AS Sum, p.scale AS Scale, p.zero_count AS ZeroCount,
       p.positive_offset AS PositiveOffset, p.positive_counts AS PositiveBucketCounts,
       p.negative_offset AS NegativeOffset, p.negative_counts AS NegativeBucketCounts,
       p.min AS Min, p.max AS Max,
       CASE s.temporality WHEN 'delta' THEN 1 WHEN 'cumulative' THEN 2 ELSE 0 END AS AggregationTemporality,
       s.series_id AS SeriesId
FROM points_exp_histogram p JOIN series s USING (series_ref);

CREATE VIEW otel_metrics_summary AS
SELECT s.resource_attrs AS ResourceAttributes, s.service_name AS ServiceName,
       s.scope_name AS ScopeName, s.scope_version AS ScopeVersion,
       s.metric_name AS MetricName, s.description AS MetricDescription, s.unit AS MetricUnit,
       s.attrs AS Attributes, p.start_time AS StartTimeUnix, p.time AS TimeUnix,
       p.count AS Count, p.sum AS Sum, p.quantiles AS "ValueAtQuantiles.Quantile",
       p.quantile_values AS "ValueAtQuantiles.Value", s.series_id AS SeriesId
FROM points_summary p JOIN series s USING (series_ref);
`;

/**
 * Version 2: 1-minute rollups, kept far longer than raw points (a year by default) so long ranges
 * stay fast and survive raw retention. Per series and minute: count, sum, min, max and last value
 * of the points in the minute, and — for counters and histograms — the reset-aware increase over
 * the points in the minute (each point's increase over its predecessor, as raw queries compute
 * it), so rollup answers equal raw answers. `rollup_state` holds how far rollups are complete.
 */
const V2 = `
CREATE TABLE rollup_number_1m (
  series_ref UINTEGER NOT NULL,
  minute TIMESTAMP NOT NULL,
  count UBIGINT NOT NULL,
  sum DOUBLE,
  min DOUBLE,
  max DOUBLE,
  last DOUBLE,
  increase DOUBLE
);

CREATE TABLE rollup_histogram_1m (
  series_ref UINTEGER NOT NULL,
  minute TIMESTAMP NOT NULL,
  bounds DOUBLE[] NOT NULL,
  count DOUBLE,
  sum DOUBLE,
  counts DOUBLE[]
);

CREATE TABLE rollup_state (
  name VARCHAR PRIMARY KEY,
  complete_until TIMESTAMP NOT NULL
);
`;

/**
 * Version 3: regression records, one per (analysed series, change point), kept open until the
 * metric returns, and the verdict of each deploy (service.version change) per service.
 * `series_key` identifies the analysed series (metric, statistic, service, labels) across cycles.
 */
const V3 = `
CREATE TABLE regressions (
  id VARCHAR PRIMARY KEY,
  series_key VARCHAR NOT NULL,
  metric_name VARCHAR NOT NULL,
  statistic VARCHAR NOT NULL,        -- value | rate | p50 | p95 | p99 | error_rate
  unit VARCHAR NOT NULL,
  service_name VARCHAR,
  labels VARCHAR NOT NULL,           -- JSON object of the series' labels
  metric_class VARCHAR NOT NULL,
  kind VARCHAR NOT NULL,             -- regression | improvement | change
  severity VARCHAR NOT NULL,         -- info | warning | critical
  status VARCHAR NOT NULL,           -- open | resolved
  direction VARCHAR NOT NULL,        -- up | down
  change_time TIMESTAMP NOT NULL,
  version_before VARCHAR,
  version_after VARCHAR,
  baseline_from TIMESTAMP NOT NULL,
  baseline_to TIMESTAMP NOT NULL,
  baseline_n INTEGER NOT NULL,
  baseline_mean DOUBLE,
  baseline_median DOUBLE,
  baseline_stddev DOUBLE,
  baseline_p95 DOUBLE,
  current_from TIMESTAMP NOT NULL,
  current_to TIMESTAMP NOT NULL,
  current_n INTEGER NOT NULL,
  current_mean DOUBLE,
  current_median DOUBLE,
  current_stddev DOUBLE,
  current_p95 DOUBLE,
  absolute_change DOUBLE,
  relative_change DOUBLE,
  effect_low DOUBLE,                 -- 95 % interval of the shift, in the effect's unit
  effect_high DOUBLE,
  effect_kind VARCHAR NOT NULL,      -- relative | absolute
  min_effect DOUBLE NOT NULL,
  p_value DOUBLE NOT NULL,
  test VARCHAR NOT NULL,
  explanation VARCHAR NOT NULL,
  first_seen TIMESTAMP NOT NULL,
  last_seen TIMESTAMP NOT NULL,
  resolved_at TIMESTAMP
);

CREATE TABLE deploy_verdicts (
  service_name VARCHAR NOT NULL,
  version_before VARCHAR NOT NULL,
  version_after VARCHAR NOT NULL,
  deploy_time TIMESTAMP NOT NULL,
  verdict VARCHAR NOT NULL,          -- regressed | improved | unchanged | insufficient_data
  series_compared INTEGER NOT NULL,
  regressions INTEGER NOT NULL,
  improvements INTEGER NOT NULL,
  summary VARCHAR NOT NULL,
  evaluated_at TIMESTAMP NOT NULL,
  PRIMARY KEY (service_name, version_before, version_after)
);
`;

/**
 * Version 4, alerts: every state transition of every alert series (`alert_events`: rule, the series' labels,
 * new and previous state, value, when its condition became active and when it fired, so a restart
 * restores pending and firing alerts), and per rule its worst current state, how often it fired and
 * when it last did (`alert_rule_state`, as the original system kept them).
 */
const ALERTS = `
CREATE SEQUENCE alert_event_seq;

CREATE TABLE alert_events (
  event_id BIGINT NOT NULL DEFAULT nextval('alert_event_seq'),
  time TIMESTAMP NOT NULL,
  rule VARCHAR NOT NULL,
  series_key VARCHAR NOT NULL,      -- canonical JSON of the labels: identifies the alert series
  labels MAP(VARCHAR, VARCHAR) NOT NULL,
  state VARCHAR NOT NULL,           -- pending | firing | resolved | inactive | nodata
  previous_state VARCHAR NOT NULL,  -- inactive | pending | firing | nodata
  value DOUBLE,
  severity VARCHAR NOT NULL,
  active_at TIMESTAMP,
  fired_at TIMESTAMP
);

CREATE TABLE alert_rule_state (
  rule VARCHAR PRIMARY KEY,
  state VARCHAR NOT NULL,           -- worst series state: firing > pending > nodata > inactive
  severity VARCHAR NOT NULL,
  trigger_count UBIGINT NOT NULL,
  last_triggered TIMESTAMP,
  updated_at TIMESTAMP NOT NULL
);
`;

/**
 * Regressions of histogram statistics carry a test of the whole distribution too: observations
 * before and after the change compared bucket by bucket (binned Mann–Whitney), and how often an
 * observation after exceeds one before.
 */
const REGRESSION_DISTRIBUTIONS = `
ALTER TABLE regressions ADD COLUMN distribution_p_value DOUBLE;
ALTER TABLE regressions ADD COLUMN distribution_superiority DOUBLE;
`;

/**
 * Version 6, benchmarks: named baselines captured from a window (`benchmarks`: the window, the
 * selection, the services' versions and hosts) and per series its statistics and bucket values
 * (`benchmark_series`), so later comparisons can run significance tests. The original system kept
 * benchmarks in memory only; these survive restarts. No key on `benchmark_series`: it is written
 * and replaced as a whole per benchmark, in one transaction.
 */
const BENCHMARKS = `
CREATE TABLE benchmarks (
  name VARCHAR PRIMARY KEY,
  created_at TIMESTAMP NOT NULL,
  window_from TIMESTAMP NOT NULL,
  window_to TIMESTAMP NOT NULL,
  step_seconds DOUBLE NOT NULL,      -- bucket width of the stored values
  services VARCHAR[] NOT NULL,       -- service.name selection; [] = every service
  metrics VARCHAR[] NOT NULL,        -- metric globs; [] = every metric except perfwatch.*
  service_version VARCHAR,           -- service.version selection
  resources VARCHAR NOT NULL,        -- JSON: per service, the versions and hosts seen in the window
  series_count INTEGER NOT NULL
);

CREATE TABLE benchmark_series (
  benchmark VARCHAR NOT NULL,
  series_key VARCHAR NOT NULL,       -- JSON of [metric, statistic, service, labels]
  metric_name VARCHAR NOT NULL,
  kind VARCHAR NOT NULL,
  statistic VARCHAR NOT NULL,        -- value | rate | p50 | p95 | p99
  unit VARCHAR NOT NULL,
  service_name VARCHAR,
  labels VARCHAR NOT NULL,           -- JSON object of the point attributes
  n INTEGER NOT NULL,                -- buckets with data
  mean DOUBLE,
  median DOUBLE,
  stddev DOUBLE,
  min DOUBLE,
  max DOUBLE,
  p50 DOUBLE,
  p90 DOUBLE,
  p95 DOUBLE,
  p99 DOUBLE,
  overall DOUBLE,                    -- the statistic over the whole window (merged histogram, mean rate)
  bucket_values DOUBLE[] NOT NULL    -- one per bucket from window_from, NULL where empty
);
`;

/** Each entry upgrades the schema by one version; index 0 creates version 1 in an empty file. */
export const MIGRATIONS: readonly string[] = [V1, V2, V3, ALERTS, REGRESSION_DISTRIBUTIONS, BENCHMARKS];
