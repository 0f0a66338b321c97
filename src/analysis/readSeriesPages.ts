import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import type { QueryRunner } from '../store/QueryRunner.js';
import {
  type Aggregation,
  type LabelMatcher,
  queryTimeSeries,
  type TimeSeriesResult,
} from '../store/queryTimeSeries.js';

/** At most this many points are read per query page, to bound memory whatever the history holds. */
const MAX_POINTS_PER_PAGE = 1_000_000;

export interface SeriesPagesQuery {
  /** One metric name (OTel instrument names hold no glob characters). */
  readonly metric: string;
  readonly aggregation: Aggregation;
  readonly groupBy: readonly string[];
  readonly from: Date;
  readonly to: Date;
  readonly stepSeconds: number;
  readonly where?: Readonly<Record<string, string>>;
  readonly matchers?: readonly LabelMatcher[];
}

/**
 * Reads one statistic of a metric through the query layer page by page (groups in label order),
 * bounding the points held at once, and hands each series to `visit` (see readAllSeriesPages).
 */
export function readSeriesPages(
  db: QueryRunner,
  query: SeriesPagesQuery,
  visit: (series: TimeSeriesResult['series'][number]) => void,
): Promise<void> {
  return readAllSeriesPages(db, [query], (series) => visit(series));
}

/**
 * Reads several queries' series page by page, in order, handing each series to `visit` with the
 * index of its query. One page is always in flight in DuckDB's threads while the one before is
 * visited — across queries too, so the first page of the next metric is not waited for — and the
 * event loop gets turns in between, so a running service keeps collecting.
 */
export async function readAllSeriesPages(
  db: QueryRunner,
  queries: readonly SeriesPagesQuery[],
  visit: (series: TimeSeriesResult['series'][number], queryIndex: number) => void,
): Promise<void> {
  const limitOf = (query: SeriesPagesQuery) => {
    const buckets = Math.ceil((query.to.getTime() - query.from.getTime()) / (query.stepSeconds * 1000));
    return Math.max(1, Math.floor(MAX_POINTS_PER_PAGE / buckets));
  };
  const page = (index: number, offset: number) => {
    const query = queries[index]!;
    return queryTimeSeries(db, {
      metric: query.metric,
      from: query.from,
      to: query.to,
      stepSeconds: query.stepSeconds,
      aggregation: query.aggregation,
      groupBy: query.groupBy,
      ...(query.where === undefined ? {} : { where: query.where }),
      ...(query.matchers === undefined ? {} : { matchers: query.matchers }),
      groupPage: { offset, limit: limitOf(query) },
    });
  };
  if (queries.length === 0) return;
  let next: Promise<TimeSeriesResult> | undefined = page(0, 0);
  // A failed prefetch is reported when its turn comes, not as an unhandled rejection before.
  next.catch(() => undefined);
  for (let index = 0; index < queries.length; index++) {
    const limit = limitOf(queries[index]!);
    for (let offset = 0; ; offset += limit) {
      const result: TimeSeriesResult = await next!;
      const more = offset + limit < result.totalGroups;
      next = more ? page(index, offset + limit) : index + 1 < queries.length ? page(index + 1, 0) : undefined;
      next?.catch(() => undefined);
      for (const [i, series] of result.series.entries()) {
        visit(series, index);
        if (i % 64 === 63) await yieldToEventLoop(); // lets the next page's query proceed
      }
      await yieldToEventLoop();
      if (!more) break;
    }
  }
}
