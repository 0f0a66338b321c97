import { type DuckDBValue, listValue, TIMESTAMP, timestampValue, UINTEGER } from '@duckdb/node-api';
import { QueryError } from '../errors.js';
import {
  counterRowsSql,
  histogramBucketRows,
  histogramRows,
  type Params,
  QUANTILES,
  type Rows,
  rollupNumberRowsSql,
  runNumbers,
  type Source,
  sampleRowsSql,
} from './bucketRows.js';
import { MAX_GAP_MICROS } from './increaseSql.js';
import type { QueryRunner } from './QueryRunner.js';

export type Aggregation =
  | 'avg'
  | 'min'
  | 'max'
  | 'sum'
  | 'count'
  | 'last'
  | 'p50'
  | 'p90'
  | 'p95'
  | 'p99'
  | 'rate'
  | 'increase';
export const AGGREGATIONS: readonly Aggregation[] = [
  'avg',
  'min',
  'max',
  'sum',
  'count',
  'last',
  'p50',
  'p90',
  'p95',
  'p99',
  'rate',
  'increase',
];

export interface TimeSeriesQuery {
  /** Metric name, or a glob (`*`, `?`, `[…]`) over names. */
  metric: string;
  /** Start of the range, inclusive. */
  from: Date;
  /** End of the range, exclusive. */
  to: Date;
  /** Bucket width in seconds. */
  stepSeconds: number;
  aggregation: Aggregation;
  /** Exact matches on point attributes, or on resource attributes when the point has no such key. */
  where?: Readonly<Record<string, string>>;
  /**
   * Prometheus-style label matchers, all of which must hold: `=`, `!=`, `=~` and `!~` (regular
   * expressions matching the whole value). An absent attribute counts as the empty string, as in
   * Prometheus, so `{key: 'error.type', op: '!=', value: ''}` means "present".
   */
  matchers?: readonly LabelMatcher[];
  /** Attribute keys (point, else resource) whose values split the result into series. */
  groupBy?: readonly string[];
  /**
   * What a metric name absent from the history gives: an error suggesting the closest name (for
   * people), or an empty answer (for alert rules, where it means "no data"). @default 'error'
   */
  ifMissing?: 'error' | 'empty';
  /** Raw points, 1-minute rollups (plus the raw points after them), or the cheaper fitting one. @default 'auto' */
  source?: 'auto' | 'raw' | 'rollup';
  /**
   * The collection interval in seconds, to refuse steps below half of it. @default inferred from
   * the data (median spacing of one matched series)
   */
  collectionIntervalSeconds?: number;
  /**
   * Only the groups [offset, offset + limit) in (metric, labels) order, to page through answers too
   * large for one result; `totalGroups` in the result says how many there are.
   */
  groupPage?: { readonly offset: number; readonly limit: number };
}

export interface LabelMatcher {
  readonly key: string;
  readonly op: '=' | '!=' | '=~' | '!~';
  readonly value: string;
}

export interface TimeSeriesPoint {
  /** Start of the bucket. */
  readonly time: Date;
  /** null when the bucket holds no data: empty buckets are explicit, never merged or dropped. */
  readonly value: number | null;
}

export interface TimeSeriesResult {
  readonly metric: string;
  readonly aggregation: Aggregation;
  readonly from: Date;
  readonly to: Date;
  readonly stepSeconds: number;
  /** Where the answer came from: raw points, or 1-minute rollups followed by the raw points after them. */
  readonly source: 'raw' | 'rollup';
  /** Groups matched before paging (equal to series.length without groupPage, when all have data). */
  readonly totalGroups: number;
  readonly series: readonly {
    readonly metric: string;
    readonly labels: Readonly<Record<string, string | null>>;
    /** Every bucket of the range (built on first access from `times` and `values`). */
    readonly points: readonly TimeSeriesPoint[];
    /** Bucket starts, shared by every series of the result. */
    readonly times: readonly Date[];
    /** One value per bucket, null when it holds no data: for bulk readers that need no point objects. */
    readonly values: readonly (number | null)[];
    /**
     * The same values as a typed array, NaN for buckets without data: for analyses over many
     * series, which need neither nulls nor boxed numbers. Set by queryTimeSeries, not enumerable
     * (not serialized); absent from results rebuilt from JSON.
     */
    readonly samples?: Float64Array;
  }[];
}

/** At most this many buckets per series (as Prometheus' 11,000 points per series). */
const MAX_BUCKETS_PER_SERIES = 11_000;
/** At most this many points in one answer; beyond it the query must be narrowed. */
export const MAX_POINTS_PER_RESULT = 1_000_000;

/** A series a query's metric and matchers select, with the group it falls in. */
export interface MatchedSeries {
  ref: number;
  metric: string;
  kind: string;
  monotonic: boolean | null;
  /** Values of the group-by keys (point attribute, else resource attribute). */
  labels: (string | null)[];
  /** JSON of [metric, labels]: the group the series belongs to. */
  group: string;
}

/** One group of the answer: a metric and its group-by values. */
export interface Group {
  metric: string;
  labels: (string | null)[];
}

/**
 * Time-bucketed series from the history: samples aggregated per bucket for gauges (and sums read
 * as values), reset-aware `increase`/`rate` for monotonic counters, and for histograms
 * Prometheus-style quantiles from bucket-count increases (`count`, `sum`, `avg` and `rate` use
 * the count and sum increases). Within a group, every sample of every matched series counts.
 */
export async function queryTimeSeries(db: QueryRunner, query: TimeSeriesQuery): Promise<TimeSeriesResult> {
  const prepared = await prepare(db, query);
  if (prepared.kind === undefined)
    return { ...resultHeader(query), totalGroups: prepared.totalGroups, series: [] };
  const { kind, groups, source, params } = prepared;
  const rows =
    kind === 'histogram'
      ? await histogramRows(
          db,
          query.aggregation,
          query.stepSeconds,
          params,
          source,
          (gid) => groups[gid]!.metric,
        )
      : await runNumbers(db, numberRowsSql(query, prepared), params);
  return answerOf(query, prepared, rows);
}

/** The statement of a prepared query over numbers (gauges, sums): rollups and raw tail, counter increases or samples. */
export function numberRowsSql(query: TimeSeriesQuery, prepared: Extract<Prepared, { kind: string }>): string {
  if (prepared.source === 'rollup')
    return rollupNumberRowsSql(
      query.aggregation,
      query.stepSeconds,
      prepared.refs.length === prepared.groups.length,
    );
  if (query.aggregation === 'rate' || query.aggregation === 'increase')
    return counterRowsSql(query.aggregation, query.stepSeconds);
  return sampleRowsSql(query.aggregation);
}

/** A series of a query's answer. */
export type TimeSeries = TimeSeriesResult['series'][number];

/** The result of a prepared query from its (group, bucket, value) rows. */
export function answerOf(
  query: TimeSeriesQuery,
  prepared: Extract<Prepared, { kind: string }>,
  rows: Rows,
): TimeSeriesResult {
  const { groups, groupBy, buckets, stepUs, source } = prepared;
  const seen = new Uint8Array(groups.length);
  let answered = 0;
  for (const gid of rows.gid) {
    if (seen[gid] === 0) answered++;
    seen[gid] = 1;
  }
  checkAnswerSize(answered, buckets);
  return {
    ...resultHeader(query),
    source,
    totalGroups: prepared.totalGroups,
    series: assemble(rows, groups, groupBy, buckets, query.from, stepUs),
  };
}

/** Refuses answers of more than MAX_POINTS_PER_RESULT points. */
export function checkAnswerSize(answered: number, buckets: number): void {
  if (answered * buckets > MAX_POINTS_PER_RESULT) {
    throw new QueryError(
      'group-by',
      `the answer would hold ${answered} series × ${buckets} points, more than ${MAX_POINTS_PER_RESULT}; narrow it with where, fewer group-by keys or a larger step`,
    );
  }
}

/** The merged distribution of one group of histogram series over a whole range. */
export interface HistogramDistribution {
  readonly metric: string;
  readonly labels: Readonly<Record<string, string | null>>;
  readonly bounds: readonly number[];
  /** Observations per bucket (one more than bounds: the last is above the last bound). */
  readonly counts: readonly number[];
}

/**
 * The distribution of a histogram metric's observations from `from` to `to`, per group: the
 * bucket-count increases of every series of the group over the whole range (raw points, or rollups
 * and the raw tail). Groups whose series have different bounds are refused, as in queryTimeSeries.
 */
export async function queryHistogramDistribution(
  db: QueryRunner,
  query: Omit<TimeSeriesQuery, 'aggregation' | 'stepSeconds' | 'groupPage'>,
): Promise<HistogramDistribution[]> {
  const stepSeconds = (query.to.getTime() - query.from.getTime()) / 1000;
  const prepared = await prepare(db, { ...query, aggregation: 'count', stepSeconds });
  if (prepared.kind === undefined) return [];
  if (prepared.kind !== 'histogram')
    throw new QueryError('metric', `"${query.metric}" is a ${prepared.kind}, not a histogram`);
  const rows = await histogramBucketRows(db, prepared.params, prepared.source);
  const byGroup = new Map<number, { bounds: number[]; counts: number[] }>();
  for (const row of rows) {
    const gid = Number(row.gid);
    const bounds = row.bounds as number[];
    const counts = ((row.counts as (bigint | number)[] | null) ?? []).map(Number);
    const previous = byGroup.get(gid);
    if (previous !== undefined && JSON.stringify(previous.bounds) !== JSON.stringify(bounds)) {
      throw new QueryError(
        'group-by',
        `series of ${prepared.groups[gid]!.metric} in one group have different histogram bounds; group by more attributes`,
      );
    }
    byGroup.set(gid, { bounds, counts });
  }
  return [...byGroup].map(([gid, { bounds, counts }]) => ({
    metric: prepared.groups[gid]!.metric,
    labels: Object.fromEntries(
      prepared.groupBy.map((key, i) => [key, prepared.groups[gid]!.labels[i] ?? null]),
    ),
    bounds,
    counts,
  }));
}

/** A validated query with its matched series, group ids, source and SQL parameters. */
export type Prepared =
  | { kind: undefined; totalGroups: number }
  | {
      kind: string;
      totalGroups: number;
      groups: Group[];
      groupBy: readonly string[];
      buckets: number;
      stepUs: bigint;
      source: Source;
      params: Params;
      /** The matched series' refs and their group ids, as bound in `params`. */
      refs: number[];
      gids: number[];
    };

/** How prepare finds the series of a query: matchSeries, or a cache in front of it. */
export type SeriesMatcher = (db: QueryRunner, query: TimeSeriesQuery) => Promise<readonly MatchedSeries[]>;

/**
 * Validates the query and settles everything but the points: matched series, groups, source and
 * parameters.
 */
export async function prepare(
  db: QueryRunner,
  query: TimeSeriesQuery,
  match: SeriesMatcher = matchSeries,
): Promise<Prepared> {
  validate(query);
  const fromUs = BigInt(query.from.getTime()) * 1000n;
  const toUs = BigInt(query.to.getTime()) * 1000n;
  const stepUs = BigInt(Math.round(query.stepSeconds * 1_000_000));
  if (stepUs < 1000n) throw new QueryError('step', `must be at least 1 ms, got ${query.stepSeconds} s`);
  const buckets = Number((toUs - fromUs + stepUs - 1n) / stepUs);
  if (buckets > MAX_BUCKETS_PER_SERIES) {
    throw new QueryError(
      'step',
      `${query.stepSeconds} s over this range gives ${buckets} points per series, more than ${MAX_BUCKETS_PER_SERIES}; use a larger step or a shorter range`,
    );
  }

  const allMatched = await match(db, query);
  const { groupKeys, kinds, grouping: all } = groupingOf(allMatched);
  const matched = query.groupPage === undefined ? allMatched : pageOf(allMatched, groupKeys, query.groupPage);
  if (kinds.size > 1) {
    throw new QueryError(
      'metric',
      `"${query.metric}" matches metrics of different kinds (${[...kinds].join(', ')}); narrow the pattern`,
    );
  }
  if (matched.length === 0) return { kind: undefined, totalGroups: groupKeys.length };
  const kind = matched[0]!.kind;
  checkAggregation(query.aggregation, kind, matched);
  await checkStep(db, query, matched[0]!.ref, kind, fromUs, toUs);

  const groupBy = query.groupBy ?? [];
  const { groups, refs, gids } = matched === allMatched ? all : groupingOf(matched).grouping;
  const { source, rawFromUs } = await chooseSource(db, query, kind, fromUs, toUs);
  const lookbackUs = stepUs > MAX_GAP_MICROS ? stepUs : MAX_GAP_MICROS;
  const params: Params = {
    refs: listValue(refs),
    gids: listValue(gids),
    from_us: fromUs,
    step_us: stepUs,
    from: timestampValue(fromUs),
    to: timestampValue(toUs),
    raw_from: timestampValue(rawFromUs),
    lookback: timestampValue(rawFromUs - lookbackUs),
  };

  return {
    kind,
    totalGroups: groupKeys.length,
    groups,
    groupBy,
    buckets,
    stepUs,
    source,
    params,
    refs,
    gids,
  };
}

interface Grouping {
  groupKeys: string[];
  kinds: Set<string>;
  grouping: { groups: Group[]; refs: number[]; gids: number[] };
}

/**
 * Groupings already worked out, by matched list: a SeriesMatchCache hands out the same list while
 * the catalog is unchanged, so repeated queries over it skip the sorting.
 */
const groupings = new WeakMap<readonly MatchedSeries[], Grouping>();

/** The matched series' groups, numbered in (metric, labels) order, and each series' group id. */
function groupingOf(matched: readonly MatchedSeries[]): Grouping {
  const known = groupings.get(matched);
  if (known !== undefined) return known;
  const groupKeys = [...new Set(matched.map((s) => s.group))].sort();
  // Group ids in (metric, labels) order, numbered here: the database aggregates by id and never
  // builds labels per row.
  const groupIds = new Map<string, number>();
  const groups: Group[] = [];
  const firstOfGroup = new Map<string, MatchedSeries>();
  for (const series of matched) if (!firstOfGroup.has(series.group)) firstOfGroup.set(series.group, series);
  for (const key of groupKeys) {
    const series = firstOfGroup.get(key)!;
    groupIds.set(key, groups.length);
    groups.push({ metric: series.metric, labels: series.labels });
  }
  const grouping: Grouping = {
    groupKeys,
    kinds: new Set(matched.map((s) => s.kind)),
    grouping: { groups, refs: matched.map((s) => s.ref), gids: matched.map((s) => groupIds.get(s.group)!) },
  };
  groupings.set(matched, grouping);
  return grouping;
}

function pageOf(
  matched: readonly MatchedSeries[],
  groupKeys: readonly string[],
  page: TimeSeriesQuery['groupPage'],
): readonly MatchedSeries[] {
  if (page === undefined) return matched;
  const wanted = new Set(groupKeys.slice(page.offset, page.offset + page.limit));
  return matched.filter((s) => wanted.has(s.group));
}

export function resultHeader(query: TimeSeriesQuery) {
  return {
    metric: query.metric,
    aggregation: query.aggregation,
    from: query.from,
    to: query.to,
    stepSeconds: query.stepSeconds,
    source: 'raw' as Source,
  };
}

/** Ranges longer than this are answered from rollups when they can be. */
const ROLLUP_RANGE_MICROS = 6n * 3_600_000_000n;

/**
 * Raw points, or 1-minute rollups up to where they are complete plus raw points after. Rollups
 * need whole-minute steps from a whole minute, and cannot give quantiles of gauge samples. `auto`
 * picks them for ranges over 6 h or starting before the oldest raw point (raw retention is
 * shorter than rollup retention).
 */
async function chooseSource(
  db: QueryRunner,
  query: TimeSeriesQuery,
  kind: string,
  fromUs: bigint,
  toUs: bigint,
): Promise<{ source: Source; rawFromUs: bigint }> {
  const wanted = query.source ?? 'auto';
  const raw = { source: 'raw' as const, rawFromUs: fromUs };
  if (wanted === 'raw') return raw;
  const sampleQuantile = kind !== 'histogram' && QUANTILES[query.aggregation] !== undefined;
  const eligible =
    query.stepSeconds % 60 === 0 &&
    query.from.getTime() % 60_000 === 0 &&
    query.to.getTime() % 60_000 === 0 &&
    !sampleQuantile;
  if (!eligible) {
    if (wanted === 'rollup') {
      throw new QueryError(
        'source',
        'rollups answer whole-minute steps over a range from and to whole minutes, and no quantiles of gauge samples; use raw',
      );
    }
    return raw;
  }
  const table = kind === 'histogram' ? 'points_histogram' : 'points_number';
  const [state] = await db.query(
    `SELECT (SELECT epoch_us(complete_until) FROM rollup_state WHERE name = $1) AS complete_until,
            (SELECT epoch_us(min(time)) FROM (SELECT time FROM ${table} LIMIT 2048)) AS oldest_raw`,
    [table],
  );
  const completeUntil = (state?.complete_until ?? null) as bigint | null;
  if (completeUntil === null || completeUntil <= fromUs)
    return wanted === 'rollup' ? { source: 'rollup', rawFromUs: fromUs } : raw;
  const oldestRaw = (state?.oldest_raw ?? null) as bigint | null;
  const useRollups =
    wanted === 'rollup' || toUs - fromUs > ROLLUP_RANGE_MICROS || (oldestRaw !== null && fromUs < oldestRaw);
  if (!useRollups) return raw;
  return { source: 'rollup', rawFromUs: completeUntil < toUs ? completeUntil : toUs };
}

function validate(query: TimeSeriesQuery): void {
  if (typeof query.metric !== 'string' || query.metric.trim() === '')
    throw new QueryError('metric', 'must be a metric name or glob');
  if (!isValidGlob(query.metric))
    throw new QueryError('metric', `"${query.metric}" is not a valid glob (unclosed "[")`);
  if (!(query.from instanceof Date) || Number.isNaN(query.from.getTime()))
    throw new QueryError('from', 'must be a valid time');
  if (!(query.to instanceof Date) || Number.isNaN(query.to.getTime()))
    throw new QueryError('to', 'must be a valid time');
  if (query.from.getTime() >= query.to.getTime()) {
    throw new QueryError('from', `${query.from.toISOString()} is not before --to ${query.to.toISOString()}`);
  }
  if (!(query.stepSeconds > 0) || !Number.isFinite(query.stepSeconds))
    throw new QueryError('step', 'must be a positive duration');
  for (const matcher of query.matchers ?? []) {
    if (!['=', '!=', '=~', '!~'].includes(matcher.op))
      throw new QueryError('matchers', `unknown operator ${JSON.stringify(matcher.op)} for ${matcher.key}`);
  }
  const page = query.groupPage;
  if (page !== undefined) {
    if (!Number.isInteger(page.offset) || page.offset < 0)
      throw new QueryError('group-page', `offset must be an integer >= 0, got ${page.offset}`);
    if (!Number.isInteger(page.limit) || page.limit < 1)
      throw new QueryError('group-page', `limit must be an integer >= 1, got ${page.limit}`);
  }
  if (!AGGREGATIONS.includes(query.aggregation)) {
    throw new QueryError(
      'agg',
      `must be one of ${AGGREGATIONS.join(', ')}, got ${JSON.stringify(query.aggregation)}`,
    );
  }
}

function isValidGlob(pattern: string): boolean {
  let open = false;
  for (const char of pattern) {
    if (char === '[') {
      if (open) return false;
      open = true;
    } else if (char === ']') open = false;
  }
  return !open;
}

/**
 * The series the query selects (its metric glob, `where` and matchers) with their group-by labels;
 * none when the metric exists with other attributes (or is missing and `ifMissing` is `empty`).
 */
export async function matchSeries(db: QueryRunner, query: TimeSeriesQuery): Promise<MatchedSeries[]> {
  const matched = await matchingSeries(db, query);
  if (matched.length > 0) return matched;
  // Nothing matched: the metric may exist with other attributes (an empty answer), or not at all.
  const names = await db.query('SELECT DISTINCT metric_name FROM series WHERE metric_name GLOB $1', [
    query.metric,
  ]);
  if (names.length === 0) {
    if (query.ifMissing === 'empty') return [];
    const [closest] = await db.query(
      `SELECT metric_name FROM (SELECT DISTINCT metric_name FROM series)
       WHERE jaro_winkler_similarity(metric_name, $1) >= 0.8
       ORDER BY jaro_winkler_similarity(metric_name, $1) DESC LIMIT 1`,
      [query.metric],
    );
    const hint = closest === undefined ? '' : `; did you mean ${String(closest.metric_name)}?`;
    throw new QueryError('metric', `no metric named "${query.metric}" in the history${hint}`);
  }
  return [];
}

/** The series of the metric (glob) that pass `where` and the matchers, with their group labels. */
async function matchingSeries(db: QueryRunner, query: TimeSeriesQuery): Promise<MatchedSeries[]> {
  const where = Object.entries(query.where ?? {});
  const params: DuckDBValue[] = [query.metric];
  const conditions = where.map(([key, value]) => {
    params.push(key, value);
    const k = `$${params.length - 1}`;
    const v = `$${params.length}`;
    return `coalesce(element_at(attrs, ${k})[1], element_at(resource_attrs, ${k})[1]) = ${v}`;
  });
  for (const matcher of query.matchers ?? []) {
    params.push(matcher.key, matcher.value);
    const label = `coalesce(element_at(attrs, $${params.length - 1})[1], element_at(resource_attrs, $${params.length - 1})[1], '')`;
    const v = `$${params.length}`;
    conditions.push(
      matcher.op === '='
        ? `${label} = ${v}`
        : matcher.op === '!='
          ? `${label} <> ${v}`
          : `${matcher.op === '!~' ? 'NOT ' : ''}regexp_full_match(${label}, ${v})`,
    );
  }
  const groupBy = query.groupBy ?? [];
  const labels = groupBy.map((key) => {
    params.push(key);
    return `coalesce(element_at(attrs, $${params.length})[1], element_at(resource_attrs, $${params.length})[1])`;
  });
  const rows = await db.query(
    `SELECT series_ref, metric_name, kind, monotonic, [${labels.join(', ')}]::VARCHAR[] AS labels FROM series
     WHERE metric_name GLOB $1 ${conditions.map((c) => `AND ${c}`).join(' ')}
     ORDER BY series_ref`,
    params,
  );
  return rows.map((row) => ({
    ref: Number(row.series_ref),
    metric: String(row.metric_name),
    kind: String(row.kind),
    monotonic: row.monotonic as boolean | null,
    labels: row.labels as (string | null)[],
    group: JSON.stringify([String(row.metric_name), row.labels]),
  }));
}

function checkAggregation(aggregation: Aggregation, kind: string, matched: readonly MatchedSeries[]): void {
  if (kind === 'exponential_histogram' || kind === 'summary') {
    throw new QueryError('metric', `${kind} metrics cannot be queried here yet; use perfwatch sql`);
  }
  if (kind === 'histogram' && ['min', 'max', 'last'].includes(aggregation)) {
    throw new QueryError(
      'agg',
      `${aggregation} is not defined for histograms; use p50…p99, avg, sum, count, rate or increase`,
    );
  }
  if ((aggregation === 'rate' || aggregation === 'increase') && kind !== 'histogram') {
    const notCounter = matched.find((s) => s.kind !== 'sum' || s.monotonic !== true);
    if (notCounter) {
      throw new QueryError(
        'agg',
        `${aggregation} needs a monotonic counter, but ${notCounter.metric} is a ${notCounter.monotonic === false ? 'non-monotonic sum' : notCounter.kind}; use avg, min, max or last`,
      );
    }
  }
}

/** Refuses steps below half the collection interval: such buckets would be mostly empty. */
async function checkStep(
  db: QueryRunner,
  query: TimeSeriesQuery,
  ref: number,
  kind: string,
  fromUs: bigint,
  toUs: bigint,
): Promise<void> {
  const interval =
    query.collectionIntervalSeconds ?? (await observedIntervalSeconds(db, ref, kind, fromUs, toUs));
  if (interval !== undefined && query.stepSeconds < interval * 0.5) {
    throw new QueryError(
      'step',
      `${query.stepSeconds} s is less than half the collection interval (${interval} s); use a step of at least ${interval} s`,
    );
  }
}

/**
 * How often a series was collected: the median spacing in seconds of its first points (up to 64)
 * in [from, to), or undefined with fewer than two there.
 */
export async function observedIntervalSeconds(
  db: QueryRunner,
  ref: number,
  kind: string,
  fromUs: bigint,
  toUs: bigint,
): Promise<number | undefined> {
  // A LIMIT stops the scan early, and the time filter (on the column itself) lets DuckDB skip row
  // groups outside the range.
  const table = kind === 'histogram' ? 'points_histogram' : 'points_number';
  const rows = await db.query(
    `SELECT epoch_us(time) AS t FROM ${table} WHERE time >= $2 AND time < $3 AND series_ref = $1 LIMIT 64`,
    [ref, timestampValue(fromUs), timestampValue(toUs)],
    [UINTEGER, TIMESTAMP, TIMESTAMP],
  );
  const times = rows.map((row) => Number(row.t)).sort((x, y) => x - y);
  const gaps = times
    .slice(1)
    .map((t, i) => (t - times[i]!) / 1e6)
    .sort((x, y) => x - y);
  return gaps.length === 0 ? undefined : gaps[Math.floor(gaps.length / 2)];
}

/** One series per group with data, in (metric, labels) order, with every bucket of the range present. */
function assemble(
  rows: Rows,
  groups: readonly Group[],
  groupBy: readonly string[],
  buckets: number,
  from: Date,
  stepUs: bigint,
): TimeSeriesResult['series'] {
  // Typed arrays filled with NaN (no data): no boxed numbers or nulls per point; the null-valued
  // arrays of the public shape are built only when read.
  const samples: (Float64Array | undefined)[] = new Array(groups.length);
  for (let i = 0; i < rows.gid.length; i++) {
    const gid = rows.gid[i]!;
    const bucket = rows.bucket[i]!;
    let group = samples[gid];
    if (group === undefined) {
      group = new Float64Array(buckets).fill(Number.NaN);
      samples[gid] = group;
    }
    if (bucket >= 0 && bucket < buckets) group[bucket] = rows.value[i]!;
  }
  const times = bucketTimes(from, buckets, stepUs);
  const out: TimeSeries[] = [];
  for (const [gid, group] of groups.entries()) {
    const groupSamples = samples[gid];
    if (groupSamples !== undefined) out.push(seriesOf(group, groupBy, groupSamples, times));
  }
  return out;
}

/** The start of every bucket, shared by every series of an answer. */
export function bucketTimes(from: Date, buckets: number, stepUs: bigint): Date[] {
  const stepMs = Number(stepUs) / 1000;
  return Array.from({ length: buckets }, (_, i) => new Date(from.getTime() + i * stepMs));
}

/** One series of an answer from its group's samples (NaN: no data). */
export function seriesOf(
  group: Group,
  groupBy: readonly string[],
  groupSamples: Float64Array,
  times: readonly Date[],
): TimeSeries {
  let values: (number | null)[] | undefined;
  let points: TimeSeriesPoint[] | undefined;
  const series = {
    metric: group.metric,
    labels: Object.fromEntries(groupBy.map((key, i) => [key, group.labels[i] ?? null])),
    get values() {
      values ??= Array.from(groupSamples, (value) => (Number.isNaN(value) ? null : value));
      return values;
    },
    get points() {
      points ??= this.values.map((value, i) => ({ time: times[i]!, value }));
      return points;
    },
    times,
  };
  Object.defineProperty(series, 'samples', { value: groupSamples, enumerable: false });
  return series;
}
