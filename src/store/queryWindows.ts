import { type DuckDBValue, timestampValue } from '@duckdb/node-api';
import { histogramFigures, MERGED_BUCKETS, QUANTILES, type Rows, SAMPLE_AGGREGATES } from './bucketRows.js';
import {
  HISTOGRAM_INCREASES,
  HISTOGRAM_WINDOW,
  MAX_GAP_MICROS,
  NUMBER_WINDOW,
  VALUE_INCREASE,
} from './increaseSql.js';
import type { QueryRunner } from './QueryRunner.js';
import {
  answerOf,
  checkAnswerSize,
  type Group,
  type Prepared,
  prepare,
  queryTimeSeries,
  resultHeader,
  type SeriesMatcher,
  type TimeSeriesQuery,
  type TimeSeriesResult,
} from './queryTimeSeries.js';
import type { RecentPoints } from './RecentPoints.js';
import { type GroupValues, groupRows, recentWindowValues } from './recentWindowRows.js';
import type { SeriesMatchCache } from './SeriesMatchCache.js';

type Ready = Extract<Prepared, { kind: string }>;

/** A query of the batch with its preparation and where its group ids start in the batch. */
interface Batched {
  readonly index: number;
  readonly query: TimeSeriesQuery;
  readonly prepared: Ready;
  readonly firstGid: number;
  readonly refs: readonly number[];
  readonly gids: readonly number[];
}

/**
 * queryTimeSeries for many queries at once, each answer equal to what queryTimeSeries gives (an
 * answer or the error it would throw), for the queries alert rules make: one bucket (the step
 * spans the range) over raw points. Those are answered by a few statements, one per family, each
 * reading the points of every query of the family in one scan:
 *
 * - gauge figures and counter increases as per-series partial aggregates, one column per
 *   distinct range (count, sum, min, max, newest value and its time, quantiles of one series),
 *   combined per group here — summing per-group figures is summing their series' figures;
 * - sample quantiles of groups of several series (the samples of all the group's series are
 *   needed) and histograms (bucket increases merged per group, with the bounds check) per
 *   (query, group), with the statements of queryTimeSeries.
 *
 * Increases use the same SQL (increaseSql) as queryTimeSeries, over the same lookback. Other
 * queries are passed to queryTimeSeries one by one. With a `matches` cache, the series of each
 * selection are looked up only after the catalog changed; with `recent` points held in memory,
 * the number queries they can answer read no DuckDB at all.
 */
export async function queryWindows(
  db: QueryRunner,
  queries: readonly TimeSeriesQuery[],
  matches?: SeriesMatchCache,
  recent?: RecentPoints,
): Promise<(TimeSeriesResult | Error)[]> {
  return (await answerWindows(db, queries, matches, recent)).map((outcome) => {
    if (!('batched' in outcome)) return outcome;
    try {
      const rows = 'rows' in outcome ? outcome.rows : groupRows(outcome.values, outcome.present);
      return answerOf(outcome.batched.query, outcome.batched.prepared, rows);
    } catch (error) {
      return asError(error);
    }
  });
}

/** One query's answer as a value per group, for readers that need no series objects. */
export interface WindowValues {
  /**
   * The query's groups in (metric, labels) order, labels in groupBy order; the same objects from
   * one call to the next while the query's matched series stay the same.
   */
  readonly groups: readonly Group[];
  /** 1 for a group in the answer (it had data in the range), 0 for one left out, as queryTimeSeries does. */
  readonly present: Uint8Array;
  /** Each group's value; NaN for a group in the answer without one (null in queryTimeSeries). */
  readonly values: Float64Array;
}

/** queryWindows' answers as values per group: what queryWindows answers, without building series. */
export async function queryWindowValues(
  db: QueryRunner,
  queries: readonly TimeSeriesQuery[],
  matches?: SeriesMatchCache,
  recent?: RecentPoints,
): Promise<(WindowValues | Error)[]> {
  return (await answerWindows(db, queries, matches, recent)).map((outcome) => {
    if (outcome instanceof Error) return outcome;
    if ('present' in outcome) {
      const { present, values } = outcome;
      let count = 0;
      for (let g = 0; g < present.length; g++) count += present[g]!;
      try {
        checkAnswerSize(count, 1);
      } catch (error) {
        return asError(error);
      }
      for (let g = 0; g < present.length; g++) if (!present[g]) values[g] = 0;
      return { groups: outcome.batched.prepared.groups, present, values };
    }
    if ('batched' in outcome) {
      const { prepared } = outcome.batched;
      const { gid, value } = outcome.rows;
      try {
        checkAnswerSize(gid.length, 1);
      } catch (error) {
        return asError(error);
      }
      const present = new Uint8Array(prepared.groups.length);
      const values = new Float64Array(prepared.groups.length);
      for (let i = 0; i < gid.length; i++) {
        present[gid[i]!] = 1;
        values[gid[i]!] = value[i]!;
      }
      return { groups: prepared.groups, present, values };
    }
    const groupBy = outcome.series.length === 0 ? [] : Object.keys(outcome.series[0]!.labels);
    return {
      groups: outcome.series.map((series) => ({
        metric: series.metric,
        labels: groupBy.map((key) => series.labels[key] ?? null),
      })),
      present: new Uint8Array(outcome.series.length).fill(1),
      values: Float64Array.from(outcome.series, (series) => series.values[0] ?? Number.NaN),
    };
  });
}

/** A query answered already (an error, no groups, or by queryTimeSeries), its batch rows, or its values from memory. */
type Outcome =
  | TimeSeriesResult
  | Error
  | { readonly batched: Batched; readonly rows: Rows }
  | ({ readonly batched: Batched } & GroupValues);

async function answerWindows(
  db: QueryRunner,
  queries: readonly TimeSeriesQuery[],
  matches?: SeriesMatchCache,
  recent?: RecentPoints,
): Promise<Outcome[]> {
  const outcomes: Outcome[] = new Array(queries.length);
  const match: SeriesMatcher | undefined = matches?.match;
  if (matches !== undefined) await matches.refresh(db);
  const families = {
    samples: [] as Batched[],
    groupQuantiles: [] as Batched[],
    counters: [] as Batched[],
    histograms: [] as Batched[],
  };
  let nextGid = 0;
  const toFamily = (index: number, query: TimeSeriesQuery, prepared: Ready) => {
    const gids = prepared.gids.map((gid) => gid + nextGid);
    const batched = { index, query, prepared, firstGid: nextGid, refs: prepared.refs, gids };
    nextGid += prepared.groups.length;
    if (prepared.kind === 'histogram') families.histograms.push(batched);
    else if (query.aggregation === 'rate' || query.aggregation === 'increase')
      families.counters.push(batched);
    else if (QUANTILES[query.aggregation] !== undefined && prepared.groups.length < prepared.refs.length)
      families.groupQuantiles.push(batched);
    else families.samples.push(batched);
  };
  const fromMemory = (index: number, query: TimeSeriesQuery, prepared: Ready): boolean => {
    if (recent === undefined) return false;
    const { refs, gids, kind } = prepared;
    const held = recentWindowValues(recent, { query, kind, refs, gids, groupCount: prepared.groups.length });
    if (held === undefined) return false;
    outcomes[index] = { batched: { index, query, prepared, firstGid: 0, refs, gids }, ...held };
    return true;
  };
  const misses: [number, TimeSeriesQuery, Ready][] = [];
  for (const [index, query] of queries.entries()) {
    try {
      const prepared = await prepare(db, query, match);
      if (prepared.kind === undefined) {
        outcomes[index] = { ...resultHeader(query), totalGroups: prepared.totalGroups, series: [] };
        continue;
      }
      if (prepared.source !== 'raw' || prepared.buckets !== 1) {
        outcomes[index] = await queryTimeSeries(db, query);
        continue;
      }
      if (fromMemory(index, query, prepared)) continue;
      if (recent?.fillable) misses.push([index, query, prepared]);
      else toFamily(index, query, prepared);
    } catch (error) {
      outcomes[index] = asError(error);
    }
  }
  if (misses.length > 0) {
    // Series read for the first time (a start, a new rule): their recent points are read once,
    // and held from then on.
    let filled = true;
    try {
      await recent!.fill();
    } catch {
      filled = false; // Answered from DuckDB below; they are read again by a later fill.
    }
    for (const [index, query, prepared] of misses)
      if (!filled || !fromMemory(index, query, prepared)) toFamily(index, query, prepared);
  }
  const catalogSize = matches?.seriesCount;
  await settle(outcomes, families.samples, () => sampleRows(db, families.samples, catalogSize));
  await settle(outcomes, families.groupQuantiles, () => groupQuantileRows(db, families.groupQuantiles));
  await settle(outcomes, families.counters, () => counterRows(db, families.counters));
  await settle(outcomes, families.histograms, () => histogramRows(db, families.histograms));
  return outcomes;
}

/** Gives each query of a family its rows, or all of them the statement's error. */
async function settle(
  outcomes: Outcome[],
  family: readonly Batched[],
  read: () => Promise<(batched: Batched) => Rows>,
): Promise<void> {
  if (family.length === 0) return;
  let rowsOf: (batched: Batched) => Rows;
  try {
    rowsOf = await read();
  } catch (error) {
    for (const batched of family) outcomes[batched.index] = asError(error);
    return;
  }
  for (const batched of family) {
    try {
      outcomes[batched.index] = { batched, rows: rowsOf(batched) };
    } catch (error) {
      outcomes[batched.index] = asError(error);
    }
  }
}

function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}

const micros = (date: Date) => BigInt(date.getTime()) * 1000n;

/**
 * Long lists travel as one comma-separated text, split and cast by DuckDB: binding a list
 * parameter converts every element on its own, which for the tens of thousands of series of an
 * evaluation cost far more than the query.
 */
const numberList = (values: readonly (number | bigint)[]) => values.join(',');
const UINTEGERS = (name: string) => `string_split($${name}, ',')::UINTEGER[]`;

/** The range of every query of a family together, and the earliest point increases need. */
function span(family: readonly Batched[]) {
  let from = micros(family[0]!.query.from);
  let to = micros(family[0]!.query.to);
  let lookback = from;
  for (const { query, prepared } of family) {
    const fromUs = micros(query.from);
    const toUs = micros(query.to);
    // As queryTimeSeries: increases look back one step or the longest gap, whichever is longer.
    let back = fromUs - MAX_GAP_MICROS;
    if (prepared.stepUs > MAX_GAP_MICROS) back = fromUs - prepared.stepUs;
    if (fromUs < from) from = fromUs;
    if (toUs > to) to = toUs;
    if (back < lookback) lookback = back;
  }
  return { from: timestampValue(from), to: timestampValue(to), lookback: timestampValue(lookback) };
}

/** The distinct ranges of a family, numbered, as `$f<k>`/`$t<k>` parameters and FILTER clauses. */
function ranges(family: readonly Batched[]) {
  const numbered = new Map<string, number>();
  const params: Record<string, DuckDBValue> = {};
  const rangeOf = new Map<Batched, number>();
  for (const batched of family) {
    const key = `${batched.query.from.getTime()}:${batched.query.to.getTime()}`;
    let k = numbered.get(key);
    if (k === undefined) {
      k = numbered.size;
      numbered.set(key, k);
      params[`f${k}`] = timestampValue(micros(batched.query.from));
      params[`t${k}`] = timestampValue(micros(batched.query.to));
    }
    rangeOf.set(batched, k);
  }
  const filter = (k: number, time = 'p.time') => `FILTER (WHERE ${time} >= $f${k} AND ${time} < $t${k})`;
  return { params, rangeOf, filter };
}

/** The row of each series (by ref; -1: none) in a result of per-series partial aggregates. */
function rowIndex(refColumn: Float64Array): Int32Array {
  let top = 0;
  for (let i = 0; i < refColumn.length; i++) if (refColumn[i]! > top) top = refColumn[i]!;
  const index = new Int32Array(top + 1).fill(-1);
  for (let i = 0; i < refColumn.length; i++) index[refColumn[i]!] = i;
  return index;
}

/**
 * Gauge figures (and sums read as values) from per-series partial aggregates per range: a group's
 * avg is its series' summed sums over their summed counts, min/max/sum/count combine alike, last is
 * the newest series' last value, and a quantile is its one series' quantile (queries whose groups
 * hold several series are answered by groupQuantileRows).
 */
async function sampleRows(db: QueryRunner, family: readonly Batched[], catalogSize: number | undefined) {
  const { params, rangeOf, filter } = ranges(family);
  const wanted = new Map<string, string>();
  const want = (name: string, expression: string) => wanted.set(name, expression);
  for (const batched of family) {
    const k = rangeOf.get(batched)!;
    const aggregation = batched.query.aggregation;
    want(`n${k}`, `count(*) ${filter(k)}`);
    if (aggregation === 'avg' || aggregation === 'sum') want(`s${k}`, `sum(p.value) ${filter(k)}`);
    else if (aggregation === 'min') want(`lo${k}`, `min(p.value) ${filter(k)}`);
    else if (aggregation === 'max') want(`hi${k}`, `max(p.value) ${filter(k)}`);
    else if (aggregation === 'last') {
      want(`l${k}`, `${SAMPLE_AGGREGATES.last!} ${filter(k)}`);
      want(`lt${k}`, `epoch_us(max(p.time) ${filter(k)})`);
    } else if (aggregation !== 'count')
      want(`${aggregation}_${k}`, `${SAMPLE_AGGREGATES[aggregation]!} ${filter(k)}`);
  }
  const refs = [...new Set(family.flatMap((batched) => batched.refs))];
  // Narrowing the scan to the selected series costs about as much as aggregating every series of
  // the range: when the rules select most of the catalog, the others are aggregated and ignored.
  const narrow = catalogSize === undefined || refs.length * 2 < catalogSize;
  const sql = `SELECT p.series_ref AS ref, ${[...wanted].map(([name, expression]) => `${expression} AS ${name}`).join(', ')}
    FROM points_number p
    WHERE p.time >= $from AND p.time < $to
      ${narrow ? `AND p.series_ref IN (SELECT unnest(${UINTEGERS('refs')}))` : ''}
    GROUP BY p.series_ref`;
  const { from, to } = span(family);
  const columns = await db.queryNumbers(sql, {
    ...params,
    ...(narrow ? { refs: numberList(refs) } : {}),
    from,
    to,
  });
  const rowOf = rowIndex(columns.ref!);
  return (batched: Batched): Rows => {
    const k = rangeOf.get(batched)!;
    const aggregation = batched.query.aggregation;
    const groups = batched.prepared.groups.length;
    const values = new Float64Array(groups);
    const count = new Float64Array(groups);
    const newest = new Float64Array(groups).fill(Number.NEGATIVE_INFINITY);
    const present = new Uint8Array(groups);
    const n = columns[`n${k}`]!;
    const part =
      aggregation === 'avg' || aggregation === 'sum'
        ? columns[`s${k}`]!
        : aggregation === 'min'
          ? columns[`lo${k}`]!
          : aggregation === 'max'
            ? columns[`hi${k}`]!
            : aggregation === 'last'
              ? columns[`l${k}`]!
              : aggregation === 'count'
                ? n
                : columns[`${aggregation}_${k}`]!;
    const lastTime = columns[`lt${k}`];
    for (const [i, ref] of batched.refs.entries()) {
      const row = rowOf[ref] ?? -1;
      if (row < 0 || !(n[row]! > 0)) continue;
      const g = batched.prepared.gids[i]!;
      const value = part[row]!;
      if (!present[g]) {
        present[g] = 1;
        values[g] = value;
        count[g] = n[row]!;
        if (lastTime !== undefined) newest[g] = lastTime[row]!;
        continue;
      }
      count[g] = count[g]! + n[row]!;
      if (aggregation === 'avg' || aggregation === 'sum' || aggregation === 'count')
        values[g] = values[g]! + value;
      // DuckDB orders NaN above every number: a group's min passes over a NaN, its max is NaN.
      else if (aggregation === 'min')
        values[g] = Number.isNaN(value) || value > values[g]! ? values[g]! : value;
      else if (aggregation === 'max') values[g] = Math.max(values[g]!, value);
      else if (aggregation === 'last' && lastTime![row]! > newest[g]!) {
        newest[g] = lastTime![row]!;
        values[g] = value;
      }
    }
    if (aggregation === 'avg') for (let g = 0; g < groups; g++) values[g] = values[g]! / count[g]!;
    return groupRows(values, present);
  };
}

/**
 * The matched series of a family with their batch group ids and query numbers, and each query's
 * range and aggregation, as a `sel` CTE of (series_ref, gid, start_time, end_time, agg).
 */
function selection(family: readonly Batched[]) {
  const refs: number[] = [];
  const gids: number[] = [];
  const qids: number[] = [];
  const starts: bigint[] = [];
  const ends: bigint[] = [];
  const aggs: number[] = [];
  const aggregations: TimeSeriesQuery['aggregation'][] = [];
  for (const [q, { query, refs: own, gids: ownGids }] of family.entries()) {
    let agg = aggregations.indexOf(query.aggregation);
    if (agg < 0) agg = aggregations.push(query.aggregation) - 1;
    starts.push(micros(query.from));
    ends.push(micros(query.to));
    aggs.push(agg);
    for (const [i, ref] of own.entries()) {
      refs.push(ref);
      gids.push(ownGids[i]!);
      qids.push(q);
    }
  }
  const params: Record<string, DuckDBValue> = {
    refs: numberList(refs),
    gids: numberList(gids),
    qids: numberList(qids),
    starts: numberList(starts),
    ends: numberList(ends),
    aggs: numberList(aggs),
  };
  const cte = `q AS (
      SELECT make_timestamp(unnest(string_split($starts, ',')::BIGINT[])) AS start_time,
             make_timestamp(unnest(string_split($ends, ',')::BIGINT[])) AS end_time,
             unnest(${UINTEGERS('aggs')}) AS agg, generate_subscripts(${UINTEGERS('aggs')}, 1) - 1 AS qid
    ), sel AS (
      SELECT m.series_ref, m.gid, q.start_time, q.end_time, q.agg
      FROM (SELECT unnest(${UINTEGERS('refs')}) AS series_ref, unnest(${UINTEGERS('gids')}) AS gid,
                   unnest(${UINTEGERS('qids')}) AS qid) m JOIN q USING (qid)
    )`;
  return { params, cte, aggregations };
}

/** Splits rows numbered by batch group id into each query's rows, renumbered from 0, in one bucket. */
function rowsPerQuery(
  family: readonly Batched[],
  gid: Float64Array,
  value: Float64Array,
): (batched: Batched) => Rows {
  const last = family[family.length - 1]!;
  const owner = new Int32Array(last.firstGid + last.prepared.groups.length);
  for (const [q, { firstGid, prepared }] of family.entries())
    owner.fill(q, firstGid, firstGid + prepared.groups.length);
  const counts = new Int32Array(family.length);
  for (let i = 0; i < gid.length; i++) counts[owner[gid[i]!]!]!++;
  const out = family.map((_, q) => ({
    gid: new Float64Array(counts[q]!),
    bucket: new Float64Array(counts[q]!),
    value: new Float64Array(counts[q]!),
  }));
  const filled = new Int32Array(family.length);
  for (let i = 0; i < gid.length; i++) {
    const q = owner[gid[i]!]!;
    const at = filled[q]!++;
    out[q]!.gid[at] = gid[i]! - family[q]!.firstGid;
    out[q]!.value[at] = value[i]!;
  }
  const byQuery = new Map(family.map((batched, q) => [batched, out[q]!]));
  return (batched) => byQuery.get(batched)!;
}

/** Sample quantiles of groups of several series: every sample of the group, per (query, group). */
async function groupQuantileRows(db: QueryRunner, family: readonly Batched[]) {
  const { params, cte, aggregations } = selection(family);
  const columns = aggregations.map(
    (aggregation, i) => `${SAMPLE_AGGREGATES[aggregation]!} FILTER (WHERE sel.agg = ${i}) AS v${i}`,
  );
  const sql = `WITH ${cte}
    SELECT sel.gid, any_value(sel.agg) AS agg, ${columns.join(', ')}
    FROM points_number p JOIN sel USING (series_ref)
    WHERE p.time >= $from AND p.time < $to AND p.time >= sel.start_time AND p.time < sel.end_time
    GROUP BY sel.gid`;
  const { from, to } = span(family);
  const result = await db.queryNumbers(sql, { ...params, from, to });
  const gid = result.gid!;
  const value = new Float64Array(gid.length);
  for (let i = 0; i < gid.length; i++) value[i] = result[`v${result.agg![i]!}`]![i]!;
  return rowsPerQuery(family, gid, value);
}

/**
 * Counter increases: each series' points since the earliest lookback with their predecessors
 * (once per series, however many queries select it), summed per series and range, then per group.
 */
async function counterRows(db: QueryRunner, family: readonly Batched[]) {
  const { params, rangeOf, filter } = ranges(family);
  const sums = [...new Set(rangeOf.values())].map((k) => `sum(delta) ${filter(k, 'time')} AS s${k}`);
  const refs = [...new Set(family.flatMap((batched) => batched.refs))];
  const sql = `WITH pts AS (
      SELECT p.series_ref, p.start_time, p.time, p.value, s.temporality,
             lag(p.value) OVER w AS prev, lag(p.time) OVER w AS prev_time
      FROM points_number p JOIN series s USING (series_ref)
      WHERE p.time >= $lookback AND p.time < $to AND p.series_ref IN (SELECT unnest(${UINTEGERS('refs')}))
      ${NUMBER_WINDOW}
    ), deltas AS (
      SELECT series_ref, time, ${VALUE_INCREASE} AS delta FROM pts WHERE time >= $from
    )
    SELECT series_ref AS ref, ${sums.join(', ')} FROM deltas GROUP BY series_ref`;
  const { from, to, lookback } = span(family);
  const columns = await db.queryNumbers(sql, { ...params, refs: numberList(refs), from, to, lookback });
  const rowOf = rowIndex(columns.ref!);
  return (batched: Batched): Rows => {
    const sum = columns[`s${rangeOf.get(batched)!}`]!;
    const groups = batched.prepared.groups.length;
    const values = new Float64Array(groups);
    const present = new Uint8Array(groups);
    for (const [i, ref] of batched.refs.entries()) {
      const row = rowOf[ref] ?? -1;
      // NULL (NaN): no increase of this series in the range.
      if (row < 0 || Number.isNaN(sum[row]!)) continue;
      const g = batched.prepared.gids[i]!;
      values[g] = present[g] ? values[g]! + sum[row]! : sum[row]!;
      present[g] = 1;
    }
    if (batched.query.aggregation === 'rate')
      for (let g = 0; g < groups; g++) values[g] = values[g]! / batched.query.stepSeconds;
    return groupRows(values, present);
  };
}

/** Histogram increases per series, merged per (query, group), reduced as queryTimeSeries does. */
async function histogramRows(db: QueryRunner, family: readonly Batched[]) {
  const { params, cte } = selection(family);
  const sql = `WITH ${cte}, pts AS (
      SELECT p.series_ref, p.start_time, p.time, p.count, p.sum, p.counts, p.bounds, s.temporality,
             lag(p.count) OVER w AS prev_count, lag(p.sum) OVER w AS prev_sum,
             lag(p.counts) OVER w AS prev_counts, lag(p.time) OVER w AS prev_time
      FROM points_histogram p JOIN (SELECT DISTINCT series_ref FROM sel) r USING (series_ref)
           JOIN series s USING (series_ref)
      WHERE p.time >= $lookback AND p.time < $to
      ${HISTOGRAM_WINDOW}
    ), deltas AS (
      SELECT series_ref, time, bounds, ${HISTOGRAM_INCREASES} FROM pts WHERE time >= $from
    ), per_bucket AS (
      SELECT sel.gid, 0 AS bucket, d.bounds, d.d_count, d.d_sum, d.d_counts
      FROM deltas d JOIN sel USING (series_ref)
      WHERE d.time >= sel.start_time AND d.time < sel.end_time AND d.d_count IS NOT NULL
    ), ${MERGED_BUCKETS}`;
  const { from, to, lookback } = span(family);
  const rows = await db.query(sql, { ...params, from, to, lookback });
  return ({ firstGid, prepared, query }: Batched): Rows => {
    const last = firstGid + prepared.groups.length;
    const own = rows
      .filter((row) => Number(row.gid) >= firstGid && Number(row.gid) < last)
      .map((row) => ({ ...row, gid: Number(row.gid) - firstGid }));
    return histogramFigures(own, query.aggregation, query.stepSeconds, (gid) => prepared.groups[gid]!.metric);
  };
}
