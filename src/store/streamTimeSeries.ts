import { listValue } from '@duckdb/node-api';
import { type Params, runNumbers } from './bucketRows.js';
import type { QueryRunner } from './QueryRunner.js';
import {
  bucketTimes,
  MAX_POINTS_PER_RESULT,
  numberRowsSql,
  type Prepared,
  prepare,
  queryTimeSeries,
  seriesOf,
  type TimeSeries,
  type TimeSeriesQuery,
} from './queryTimeSeries.js';

/** A series of one of the queries given to streamTimeSeries, with the index of its query. */
export interface StreamedSeries {
  readonly queryIndex: number;
  readonly series: TimeSeries;
}

export interface StreamOptions {
  /**
   * At most this many points are read by one statement, whatever the history holds: a batch
   * costs about 40 bytes a point while it is read (DuckDB's result, its columns, the series'
   * arrays), and one batch is read while the one before is used. @default 2,000,000
   */
  readonly pointsPerBatch?: number;
}

type PreparedQuery = Extract<Prepared, { kind: string }>;

/** Groups [from, to) of a prepared query, read by one batch statement. */
interface Part {
  readonly queryIndex: number;
  readonly prepared: PreparedQuery;
  readonly from: number;
  readonly to: number;
}

/**
 * Every series of several queries, query after query and each in (metric, labels) order, as
 * queryTimeSeries would answer them without its size limit, holding a bounded number of points
 * at once. Over numbers (gauges, sums) the statements of consecutive queries that differ only in
 * their series (same statement, range, step and source, as the regression cycle's queries over
 * many metrics) are merged into batches of up to `pointsPerBatch` points: one scan of the history
 * per batch rather than per query page, since rollups lie in time order and no index finds a
 * series' rows. The next batch is read while the one before is handed out. Histograms (whose
 * figures are computed from bucket rows in JS) are read page by page through queryTimeSeries.
 */
export async function* streamTimeSeries(
  db: QueryRunner,
  queries: readonly Omit<TimeSeriesQuery, 'groupPage'>[],
  options: StreamOptions = {},
): AsyncGenerator<StreamedSeries> {
  const pointsPerBatch = options.pointsPerBatch ?? 2_000_000;
  let pending: Part[] = [];
  let pendingPoints = 0;
  let reading: Promise<StreamedSeries[]> | undefined;
  // Waits for the batch being read, starts reading `next` and hands out the batch read: one batch
  // is read while the one before is used, and never two at once.
  async function* flush(next: Part[] | undefined): AsyncGenerator<StreamedSeries> {
    const previous = await reading;
    reading = next === undefined || next.length === 0 ? undefined : readBatch(db, queries, next);
    reading?.catch(() => undefined); // reported when its turn comes
    if (previous !== undefined) yield* previous;
  }
  try {
    for (const [queryIndex, query] of queries.entries()) {
      const prepared = await prepare(db, query);
      if (prepared.kind === undefined) continue;
      if (prepared.kind === 'histogram') {
        yield* flush(pending);
        yield* flush(undefined);
        pending = [];
        pendingPoints = 0;
        yield* pagesOf(db, query, queryIndex, prepared.buckets, prepared.totalGroups);
        continue;
      }
      const groupsPerBatch = Math.max(1, Math.floor(pointsPerBatch / prepared.buckets));
      for (let from = 0; from < prepared.groups.length; ) {
        const first = pending[0];
        if (
          first !== undefined &&
          (!sameStatement(query, first, prepared) || pendingPoints >= pointsPerBatch)
        ) {
          yield* flush(pending);
          pending = [];
          pendingPoints = 0;
        }
        const room = Math.max(1, Math.floor((pointsPerBatch - pendingPoints) / prepared.buckets));
        const to = Math.min(prepared.groups.length, from + Math.min(room, groupsPerBatch));
        pending.push({ queryIndex, prepared, from, to });
        pendingPoints += (to - from) * prepared.buckets;
        from = to;
      }
    }
    yield* flush(pending);
    yield* flush(undefined);
  } finally {
    // A reader that stops early leaves a batch being read: its statement ends before this does.
    await reading?.catch(() => undefined);
  }

  /** Whether a query's statement is the one of the batch's first part, but for its series. */
  function sameStatement(
    query: Omit<TimeSeriesQuery, 'groupPage'>,
    first: Part,
    prepared: PreparedQuery,
  ): boolean {
    return (
      numberRowsSql(query, prepared) === numberRowsSql(queries[first.queryIndex]!, first.prepared) &&
      paramsKey(prepared.params) === paramsKey(first.prepared.params)
    );
  }
}

/** The parameters but the series (refs, gids), to tell whether two statements can be merged. */
function paramsKey(params: Params): string {
  const { refs: _refs, gids: _gids, ...rest } = params;
  return JSON.stringify(rest, (_, value) => (typeof value === 'bigint' ? String(value) : value));
}

/** A query's series through queryTimeSeries, one page (of at most its answer size limit) at a time. */
async function* pagesOf(
  db: QueryRunner,
  query: Omit<TimeSeriesQuery, 'groupPage'>,
  queryIndex: number,
  buckets: number,
  totalGroups: number,
): AsyncGenerator<StreamedSeries> {
  const limit = Math.max(1, Math.floor(MAX_POINTS_PER_RESULT / buckets));
  for (let offset = 0; offset < totalGroups; offset += limit) {
    const page = await queryTimeSeries(db, { ...query, groupPage: { offset, limit } });
    for (const series of page.series) yield { queryIndex, series };
  }
}

/**
 * One statement over the series of several parts (their group ids renumbered one after the
 * other), its rows spread into one array of buckets per group with data; its series in part
 * order, groups without data left out (as queryTimeSeries does).
 */
async function readBatch(
  db: QueryRunner,
  queries: readonly Omit<TimeSeriesQuery, 'groupPage'>[],
  parts: readonly Part[],
): Promise<StreamedSeries[]> {
  const refs: number[] = [];
  const gids: number[] = [];
  const offsets: number[] = [];
  let groups = 0;
  for (const part of parts) {
    offsets.push(groups - part.from);
    const { refs: partRefs, gids: partGids } = part.prepared;
    for (let i = 0; i < partRefs.length; i++) {
      const gid = partGids[i]!;
      if (gid < part.from || gid >= part.to) continue;
      refs.push(partRefs[i]!);
      gids.push(groups + gid - part.from);
    }
    groups += part.to - part.from;
  }
  const first = parts[0]!;
  const sql = numberRowsSql(queries[first.queryIndex]!, first.prepared);
  const params: Params = { ...first.prepared.params, refs: listValue(refs), gids: listValue(gids) };
  const samples: (Float64Array | undefined)[] = new Array(groups);
  const buckets = first.prepared.buckets;
  const rows = await runNumbers(db, sql, params);
  for (let i = 0; i < rows.gid.length; i++) {
    const b = rows.bucket[i]!;
    let group = samples[rows.gid[i]!];
    if (group === undefined) {
      group = new Float64Array(buckets).fill(Number.NaN);
      samples[rows.gid[i]!] = group;
    }
    if (b >= 0 && b < buckets) group[b] = rows.value[i]!;
  }
  const out: StreamedSeries[] = [];
  for (const [p, part] of parts.entries()) {
    const query = queries[part.queryIndex]!;
    const { groups: partGroups, groupBy, stepUs } = part.prepared;
    const times = bucketTimes(query.from, buckets, stepUs);
    for (let gid = part.from; gid < part.to; gid++) {
      const groupSamples = samples[gid + offsets[p]!];
      if (groupSamples !== undefined)
        out.push({
          queryIndex: part.queryIndex,
          series: seriesOf(partGroups[gid]!, groupBy, groupSamples, times),
        });
    }
  }
  return out;
}
