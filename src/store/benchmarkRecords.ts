import {
  DOUBLE,
  type DuckDBValue,
  INTEGER,
  LIST,
  listValue,
  TIMESTAMP,
  timestampValue,
  VARCHAR,
} from '@duckdb/node-api';
import { BenchmarkError } from '../errors.js';
import type { Statement } from './MetricStore.js';
import type { QueryRunner } from './QueryRunner.js';

/** Descriptive statistics of one side of a benchmark series, over its bucket values. */
export interface SeriesStatistics {
  readonly n: number;
  readonly mean: number;
  readonly median: number;
  readonly stddev: number;
  readonly min: number;
  readonly max: number;
  readonly p50: number;
  readonly p90: number;
  readonly p95: number;
  readonly p99: number;
}

/** One series of a window: what it is, its statistics and its bucket values. */
export interface BenchmarkSeries {
  /** JSON of [metric, statistic, service, sorted labels]: matches the same series in another window. */
  readonly key: string;
  readonly metric: string;
  readonly kind: string;
  /** value (gauges), rate (counters), p50/p95/p99 (histograms). */
  readonly statistic: string;
  readonly unit: string;
  readonly service: string | null;
  /** Point attributes. */
  readonly labels: Readonly<Record<string, string | null>>;
  readonly stats: SeriesStatistics;
  /** The statistic over the whole window as one bucket: the merged histogram's quantile, the mean rate, the mean. */
  readonly overall: number | null;
  /** One value per bucket from the window's start, null where the bucket is empty. */
  readonly values: readonly (number | null)[];
}

/** The services a window covered: per service.name, the versions and hosts seen in it. */
export interface BenchmarkResource {
  readonly service: string;
  readonly versions: readonly string[];
  readonly hosts: readonly string[];
}

/** A benchmark without its series, as listed. */
export interface BenchmarkInfo {
  readonly name: string;
  readonly createdAt: Date;
  readonly from: Date;
  readonly to: Date;
  readonly stepSeconds: number;
  /** service.name selection; empty: every service. */
  readonly services: readonly string[];
  /** Metric globs; empty: every metric except perfwatch's own. */
  readonly metrics: readonly string[];
  /** service.version selection, when there was one. */
  readonly version: string | null;
  readonly resources: readonly BenchmarkResource[];
  readonly seriesCount: number;
}

export interface Benchmark extends BenchmarkInfo {
  readonly series: readonly BenchmarkSeries[];
}

const micros = (date: Date) => timestampValue(BigInt(date.getTime()) * 1000n);
const STAT_FIELDS = ['mean', 'median', 'stddev', 'min', 'max', 'p50', 'p90', 'p95', 'p99'] as const;
/** NaN and infinities are not JSON and mean "no value" here: stored as NULL. */
const finiteOrNull = (value: number | null) => (value !== null && Number.isFinite(value) ? value : null);

/**
 * The statements (for MetricStore.execute, one transaction) that store a benchmark, replacing one of
 * the same name: the series are one INSERT over lists, since a benchmark holds thousands of them.
 */
export function benchmarkStatements(benchmark: Benchmark): Statement[] {
  const series = benchmark.series;
  const column = (pick: (s: BenchmarkSeries) => DuckDBValue) => listValue(series.map(pick));
  const statements: Statement[] = [
    ...deleteBenchmarkStatements(benchmark.name),
    {
      sql: `INSERT INTO benchmarks (name, created_at, window_from, window_to, step_seconds, services, metrics,
              service_version, resources, series_count)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
      params: [
        benchmark.name,
        micros(benchmark.createdAt),
        micros(benchmark.from),
        micros(benchmark.to),
        benchmark.stepSeconds,
        listValue([...benchmark.services]),
        listValue([...benchmark.metrics]),
        benchmark.version,
        JSON.stringify(benchmark.resources),
        series.length,
      ],
      types: [
        VARCHAR,
        TIMESTAMP,
        TIMESTAMP,
        TIMESTAMP,
        DOUBLE,
        LIST(VARCHAR),
        LIST(VARCHAR),
        VARCHAR,
        VARCHAR,
        INTEGER,
      ],
    },
  ];
  if (series.length === 0) return statements;
  statements.push({
    sql: `INSERT INTO benchmark_series (benchmark, series_key, metric_name, kind, statistic, unit, service_name,
            labels, n, ${STAT_FIELDS.join(', ')}, overall, bucket_values)
          SELECT $1, unnest($2), unnest($3), unnest($4), unnest($5), unnest($6), unnest($7), unnest($8),
                 unnest($9), ${STAT_FIELDS.map((_, i) => `unnest($${10 + i})`).join(', ')},
                 unnest($19), unnest($20)`,
    params: [
      benchmark.name,
      column((s) => s.key),
      column((s) => s.metric),
      column((s) => s.kind),
      column((s) => s.statistic),
      column((s) => s.unit),
      column((s) => s.service),
      column((s) => JSON.stringify(s.labels)),
      column((s) => s.stats.n),
      ...STAT_FIELDS.map((field) => column((s) => finiteOrNull(s.stats[field]))),
      column((s) => finiteOrNull(s.overall)),
      column((s) => listValue(s.values.map(finiteOrNull))),
    ],
    types: [
      VARCHAR,
      ...Array.from({ length: 7 }, () => LIST(VARCHAR)),
      LIST(INTEGER),
      ...STAT_FIELDS.map(() => LIST(DOUBLE)),
      LIST(DOUBLE),
      LIST(LIST(DOUBLE)),
    ],
  });
  return statements;
}

/** The statements that delete a benchmark and its series. */
export function deleteBenchmarkStatements(name: string): Statement[] {
  return [
    { sql: 'DELETE FROM benchmark_series WHERE benchmark = $1', params: [name], types: [VARCHAR] },
    { sql: 'DELETE FROM benchmarks WHERE name = $1', params: [name], types: [VARCHAR] },
  ];
}

/** Every benchmark, newest first, without series. */
export async function listBenchmarks(db: QueryRunner): Promise<BenchmarkInfo[]> {
  const rows = await db.query('SELECT * FROM benchmarks ORDER BY created_at DESC, name');
  return rows.map(infoOf);
}

/** One benchmark with its series (in metric, statistic, service, labels order), or undefined. */
export async function readBenchmark(db: QueryRunner, name: string): Promise<Benchmark | undefined> {
  const [row] = await db.query('SELECT * FROM benchmarks WHERE name = $1', [name], [VARCHAR]);
  if (row === undefined) return undefined;
  const rows = await db.query(
    'SELECT * FROM benchmark_series WHERE benchmark = $1 ORDER BY series_key',
    [name],
    [VARCHAR],
  );
  const number = (value: unknown) => (value === null || value === undefined ? Number.NaN : Number(value));
  const series = rows.map(
    (r): BenchmarkSeries => ({
      key: String(r.series_key),
      metric: String(r.metric_name),
      kind: String(r.kind),
      statistic: String(r.statistic),
      unit: String(r.unit),
      service: (r.service_name ?? null) as string | null,
      labels: JSON.parse(String(r.labels)) as Record<string, string | null>,
      stats: {
        n: Number(r.n),
        ...(Object.fromEntries(STAT_FIELDS.map((field) => [field, number(r[field])])) as Record<
          (typeof STAT_FIELDS)[number],
          number
        >),
      },
      overall: r.overall === null ? null : Number(r.overall),
      values: (r.bucket_values as (number | null)[]).map((v) => (v === null ? null : Number(v))),
    }),
  );
  return { ...infoOf(row), series };
}

/** The benchmark called `name`; a BenchmarkError (not_found) listing the known names otherwise. */
export async function requireBenchmark(db: QueryRunner, name: string, field = 'name'): Promise<Benchmark> {
  const benchmark = await readBenchmark(db, name);
  if (benchmark !== undefined) return benchmark;
  const known = (await listBenchmarks(db)).map((b) => b.name);
  throw new BenchmarkError(
    'not_found',
    field,
    `no benchmark named ${JSON.stringify(name)}; ${known.length === 0 ? 'none has been created yet' : `known: ${known.join(', ')}`}`,
  );
}

function infoOf(row: Record<string, unknown>): BenchmarkInfo {
  return {
    name: String(row.name),
    createdAt: row.created_at as Date,
    from: row.window_from as Date,
    to: row.window_to as Date,
    stepSeconds: Number(row.step_seconds),
    services: (row.services as string[]) ?? [],
    metrics: (row.metrics as string[]) ?? [],
    version: (row.service_version ?? null) as string | null,
    resources: JSON.parse(String(row.resources)) as BenchmarkResource[],
    seriesCount: Number(row.series_count),
  };
}
