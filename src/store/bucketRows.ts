import { BIGINT, type DuckDBType, type DuckDBValue, LIST, TIMESTAMP, UINTEGER } from '@duckdb/node-api';
import { QueryError } from '../errors.js';
import { histogramQuantile } from './histogramQuantile.js';
import { HISTOGRAM_INCREASES, HISTOGRAM_WINDOW, NUMBER_WINDOW, VALUE_INCREASE } from './increaseSql.js';
import type { QueryRunner } from './QueryRunner.js';
import type { Aggregation } from './queryTimeSeries.js';

/**
 * The SQL shapes behind queryTimeSeries: per (group, bucket) rows for samples, counter
 * increases, rollups plus the raw tail, and histograms. Each binds only the named parameters
 * it uses.
 */

export const QUANTILES: Partial<Record<Aggregation, number>> = { p50: 0.5, p90: 0.9, p95: 0.95, p99: 0.99 };
export const SAMPLE_AGGREGATES: Partial<Record<Aggregation, string>> = {
  avg: 'avg(p.value)',
  min: 'min(p.value)',
  max: 'max(p.value)',
  sum: 'sum(p.value)',
  count: 'count(*)',
  last: 'arg_max(p.value, p.time)',
  p50: 'quantile_cont(p.value, 0.5)',
  p90: 'quantile_cont(p.value, 0.9)',
  p95: 'quantile_cont(p.value, 0.95)',
  p99: 'quantile_cont(p.value, 0.99)',
};

/** Named parameters of the query shapes; each statement binds only the ones it uses. */
export type Params = Record<
  'refs' | 'gids' | 'from_us' | 'step_us' | 'from' | 'to' | 'raw_from' | 'lookback',
  DuckDBValue
>;
const PARAM_TYPES: Record<keyof Params, DuckDBType> = {
  refs: LIST(UINTEGER),
  gids: LIST(UINTEGER),
  from_us: BIGINT,
  step_us: BIGINT,
  from: TIMESTAMP,
  to: TIMESTAMP,
  raw_from: TIMESTAMP,
  lookback: TIMESTAMP,
};

/** The parameters `sql` names ($from, $to, …) with their types: unused ones cannot be bound. */
export function bind(sql: string, params: Params) {
  const used = (Object.keys(params) as (keyof Params)[]).filter((name) =>
    new RegExp(`\\$${name}\\b`).test(sql),
  );
  return [
    Object.fromEntries(used.map((name) => [name, params[name]])),
    Object.fromEntries(used.map((name) => [name, PARAM_TYPES[name]])),
  ] as const;
}

/** Runs `sql` (binding the parameters it names) for row objects. */
function run(db: QueryRunner, sql: string, params: Params): Promise<Record<string, unknown>[]> {
  return db.query(sql, ...bind(sql, params));
}

/** Runs `sql` (binding the parameters it names) for its `gid`, `bucket` and `value` columns. */
export async function runNumbers(db: QueryRunner, sql: string, params: Params): Promise<Rows> {
  const columns = await db.queryNumbers(sql, ...bind(sql, params));
  return { gid: columns.gid!, bucket: columns.bucket!, value: columns.value! };
}

/**
 * The matched series with their group id (`$gids[i]` for `$refs[i]`, numbered by the caller in
 * (metric, labels) order): points are aggregated by group id, and the caller attaches the labels
 * once per group rather than the database once per row.
 */
const SELECTED = `sel AS (
  SELECT s.series_ref, m.gid, s.temporality, s.kind, s.monotonic
  FROM (SELECT unnest($refs) AS series_ref, unnest($gids) AS gid) m JOIN series s USING (series_ref)
)`;

const BUCKET = 'CAST((epoch_us(p.time) - $from_us) // $step_us AS INTEGER) AS bucket';

export type Source = 'raw' | 'rollup';

/** Raw histogram points from $raw_from on, as increases of count, sum and each bucket over their predecessor. */
const HISTOGRAM_DELTAS = `pts AS (
  SELECT p.series_ref, sel.gid, p.start_time, p.time, p.count, p.sum, p.counts, p.bounds, sel.temporality,
         lag(p.count) OVER w AS prev_count, lag(p.sum) OVER w AS prev_sum, lag(p.counts) OVER w AS prev_counts,
         lag(p.time) OVER w AS prev_time
  FROM points_histogram p JOIN sel USING (series_ref)
  WHERE p.time >= $lookback AND p.time < $to
  ${HISTOGRAM_WINDOW}
), deltas AS (
  SELECT gid, time, bounds, ${HISTOGRAM_INCREASES}
  FROM pts
  WHERE time >= $raw_from
)`;

/**
 * From a `per_bucket` CTE of increases (gid, bucket, bounds, d_count, d_sum, d_counts): the rest
 * of a statement summing them per (gid, bucket, bounds), bucket counts element-wise.
 */
export const MERGED_BUCKETS = `exploded AS (
       SELECT gid, bucket, bounds, unnest(d_counts) AS c, generate_subscripts(d_counts, 1) AS i
       FROM per_bucket
     ), summed_counts AS (
       SELECT gid, bucket, bounds, list(c ORDER BY i) AS counts
       FROM (SELECT gid, bucket, bounds, i, sum(c) AS c FROM exploded GROUP BY ALL)
       GROUP BY ALL
     )
     SELECT t.gid, t.bucket, t.bounds, t.d_count AS count, t.d_sum AS sum, c.counts
     FROM (SELECT gid, bucket, bounds, sum(d_count) AS d_count, sum(d_sum) AS d_sum
           FROM per_bucket GROUP BY ALL) t
     LEFT JOIN summed_counts c USING (gid, bucket, bounds)`;

/** `sources`: histogram increases from rollups before $raw_from (when used) and raw points after. */
function histogramSources(source: Source): string {
  if (source === 'raw') return `${HISTOGRAM_DELTAS}, sources AS (SELECT * FROM deltas)`;
  return `${HISTOGRAM_DELTAS}, sources AS (
    SELECT sel.gid, r.minute AS time, r.bounds, r.count AS d_count, r.sum AS d_sum, r.counts AS d_counts
    FROM rollup_histogram_1m r JOIN sel USING (series_ref)
    WHERE r.minute >= $from AND r.minute < least($to, $raw_from)
    UNION ALL
    SELECT gid, time, bounds, d_count, d_sum, d_counts FROM deltas
  )`;
}

/** Raw points after the rollups, with their predecessors (for increases). */
const RAW_TAIL_WITH_PREDECESSORS = `
  SELECT sel.gid, p.start_time, p.time, p.value, sel.temporality, sel.kind, sel.monotonic,
         lag(p.value) OVER w AS prev, lag(p.time) OVER w AS prev_time
  FROM points_number p JOIN sel USING (series_ref)
  WHERE p.time >= $lookback AND p.time < $to
  ${NUMBER_WINDOW}`;

/** Raw points after the rollups, for figures that need no predecessor. */
const RAW_TAIL = `
  SELECT sel.gid, p.time, p.value
  FROM points_number p JOIN sel USING (series_ref)
  WHERE p.time >= $raw_from AND p.time < $to`;

/** Gauge and counter figures per bucket from 1-minute rollups (before $raw_from) plus raw points. */
const ROLLUP_AGGREGATES: Partial<Record<Aggregation, string>> = {
  avg: 'sum(p.sum) / sum(p.count)',
  min: 'min(p.min)',
  max: 'max(p.max)',
  sum: 'sum(p.sum)',
  count: 'sum(p.count)',
  last: 'arg_max(p.last, p.time)',
  increase: 'sum(p.increase)',
};

/** One figure per (group id, time bucket), as parallel columns; a NaN value is a bucket without one. */
export interface Rows {
  readonly gid: Float64Array;
  readonly bucket: Float64Array;
  readonly value: Float64Array;
}

/** Samples aggregated per (group, bucket): raw points only. */
export function sampleRowsSql(aggregation: Aggregation): string {
  const aggregate = SAMPLE_AGGREGATES[aggregation]!;
  return `WITH ${SELECTED}
       SELECT sel.gid, ${BUCKET}, ${aggregate} AS value
                     FROM points_number p JOIN sel USING (series_ref)
                     WHERE p.time >= $from AND p.time < $to
                     GROUP BY ALL`;
}

/**
 * Per-series increases between consecutive points, with Prometheus' reset rule (a value below
 * its predecessor restarts from zero), summed per bucket. A point from before the range is the
 * baseline of the first one in it when there is one; a point counts from zero at its start time
 * when that lies between its predecessor and itself (increaseSql), else the first point of a
 * series only sets the baseline.
 */
export function counterRowsSql(aggregation: 'rate' | 'increase', stepSeconds: number): string {
  const divisor = aggregation === 'rate' ? stepSeconds : 1;
  return `WITH ${SELECTED}, pts AS (
         SELECT sel.gid, p.start_time, p.time, p.value, sel.temporality,
                lag(p.value) OVER w AS prev, lag(p.time) OVER w AS prev_time
         FROM points_number p JOIN sel USING (series_ref)
         WHERE p.time >= $lookback AND p.time < $to
         ${NUMBER_WINDOW}
       )
       SELECT p.gid, ${BUCKET}, sum(p.delta) / ${divisor} AS value
                     FROM (SELECT gid, time, ${VALUE_INCREASE} AS delta FROM pts) p
                     WHERE p.time >= $from AND p.delta IS NOT NULL
                     GROUP BY ALL`;
}

/** Numbers from rollups and the raw tail: everything but sample quantiles, which need raw samples. */
export function rollupNumberRowsSql(
  aggregation: Aggregation,
  stepSeconds: number,
  oneSeriesPerGroup = false,
): string {
  const aggregate =
    aggregation === 'rate' ? `sum(p.increase) / ${stepSeconds}` : ROLLUP_AGGREGATES[aggregation];
  if (aggregate === undefined) throw new QueryError('agg', `${aggregation} cannot be answered from rollups`);
  // Only increases need each raw point's predecessor (a window over an extra hour of points).
  const counting = aggregation === 'rate' || aggregation === 'increase';
  const rollupParts = `SELECT sel.gid, r.minute AS time, r.count, r.sum, r.min, r.max, r.last, r.increase
         FROM rollup_number_1m r JOIN sel USING (series_ref)
         WHERE r.minute >= $from AND r.minute < least($to, $raw_from)`;
  const rawParts = `SELECT gid, time, 1 AS count, value AS sum, value AS min, value AS max, value AS last,
                ${counting ? `CASE WHEN kind = 'sum' AND monotonic THEN ${VALUE_INCREASE} END` : 'NULL'} AS increase
         FROM raw WHERE time >= $raw_from`;
  if (oneSeriesPerGroup && stepSeconds === 60) {
    // Minute buckets of single series: each rollup row is its bucket's figure already, and
    // aggregating a million rows by (group, bucket) would cost the database more than the rest
    // of the query. Only the raw tail after the rollups is aggregated.
    return `WITH ${SELECTED}, raw AS (${counting ? RAW_TAIL_WITH_PREDECESSORS : RAW_TAIL})
       SELECT p.gid, ${BUCKET}, ${rowAggregate(aggregation, stepSeconds)} AS value FROM (${rollupParts}) p
       UNION ALL
       SELECT p.gid, ${BUCKET}, ${aggregate} AS value FROM (${rawParts}) p GROUP BY ALL`;
  }
  return `WITH ${SELECTED}, raw AS (${counting ? RAW_TAIL_WITH_PREDECESSORS : RAW_TAIL}), parts AS (
         ${rollupParts}
         UNION ALL
         ${rawParts}
       )
       SELECT p.gid, ${BUCKET}, ${aggregate} AS value FROM parts p GROUP BY ALL`;
}

/** ROLLUP_AGGREGATES (and rate) over a bucket holding one rollup row: that row's own figure. */
function rowAggregate(aggregation: Aggregation, stepSeconds: number): string {
  switch (aggregation) {
    case 'avg':
      return 'p.sum / p.count';
    case 'rate':
      return `p.increase / ${stepSeconds}`;
    case 'min':
    case 'max':
    case 'sum':
    case 'count':
    case 'last':
    case 'increase':
      return `p.${aggregation}`;
    default:
      throw new QueryError('agg', `${aggregation} cannot be answered from rollups`);
  }
}

/**
 * Histograms: per series, the increase of count, sum and every bucket count between consecutive
 * points (reset when the count drops), summed per group and time bucket, then reduced to the
 * requested figure. Buckets with different bounds are never mixed: a group whose series disagree
 * on bounds is an error.
 */
export async function histogramRows(
  db: QueryRunner,
  aggregation: Aggregation,
  stepSeconds: number,
  params: Params,
  source: Source,
  metricOf: (gid: number) => string,
): Promise<Rows> {
  return histogramFigures(await histogramBucketRows(db, params, source), aggregation, stepSeconds, metricOf);
}

/** histogramRows' reduction of merged bucket rows (gid, bucket, bounds, count, sum, counts) to one figure each. */
export function histogramFigures(
  rows: readonly Record<string, unknown>[],
  aggregation: Aggregation,
  stepSeconds: number,
  metricOf: (gid: number) => string,
): Rows {
  const seenBounds = new Map<string, string>();
  const quantile = QUANTILES[aggregation];
  const out: Rows = {
    gid: new Float64Array(rows.length),
    bucket: new Float64Array(rows.length),
    value: new Float64Array(rows.length),
  };
  for (const [i, row] of rows.entries()) {
    const gid = Number(row.gid);
    const groupKey = `${gid}:${Number(row.bucket)}`;
    const boundsText = JSON.stringify(row.bounds);
    const previous = seenBounds.get(groupKey);
    if (previous !== undefined && previous !== boundsText) {
      throw new QueryError(
        'group-by',
        `series of ${metricOf(gid)} in one group have different histogram bounds; group by more attributes so each group has one set of bounds`,
      );
    }
    seenBounds.set(groupKey, boundsText);
    const count = Number(row.count);
    const sum = row.sum === null ? null : Number(row.sum);
    let value: number | null;
    if (quantile !== undefined) {
      const counts = ((row.counts as (bigint | number)[] | null) ?? []).map(Number);
      const result = histogramQuantile(quantile, row.bounds as number[], counts);
      value = Number.isNaN(result) ? null : result;
    } else if (aggregation === 'count' || aggregation === 'increase') value = count;
    else if (aggregation === 'rate') value = count / stepSeconds;
    else if (aggregation === 'sum') value = sum;
    else value = count > 0 && sum !== null ? sum / count : null; // avg
    out.gid[i] = gid;
    out.bucket[i] = Number(row.bucket);
    out.value[i] = value ?? Number.NaN;
  }
  return out;
}

/**
 * Per (group, time bucket, bounds): the increases of count and sum and of every bucket count,
 * summed over the group's series — the merged distribution of each bucket.
 */
export function histogramBucketRows(
  db: QueryRunner,
  params: Params,
  source: Source,
): Promise<Record<string, unknown>[]> {
  return run(
    db,
    `WITH ${SELECTED}, ${histogramSources(source)}, per_bucket AS (
       SELECT p.gid, ${BUCKET}, p.bounds, p.d_count, p.d_sum, p.d_counts
       FROM sources p
       WHERE p.time >= $from AND p.d_count IS NOT NULL
     ), ${MERGED_BUCKETS}`,
    params,
  );
}
