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
 * bounding the points held at once, and hands each series to `visit`. The next page's query runs
 * in DuckDB's threads while this one is visited; the event loop gets turns in between, so a
 * running service keeps collecting.
 */
export async function readSeriesPages(
  db: QueryRunner,
  query: SeriesPagesQuery,
  visit: (series: TimeSeriesResult['series'][number]) => void,
): Promise<void> {
  const buckets = Math.ceil((query.to.getTime() - query.from.getTime()) / (query.stepSeconds * 1000));
  const limit = Math.max(1, Math.floor(MAX_POINTS_PER_PAGE / buckets));
  const page = (offset: number) =>
    queryTimeSeries(db, {
      metric: query.metric,
      from: query.from,
      to: query.to,
      stepSeconds: query.stepSeconds,
      aggregation: query.aggregation,
      groupBy: query.groupBy,
      ...(query.where === undefined ? {} : { where: query.where }),
      ...(query.matchers === undefined ? {} : { matchers: query.matchers }),
      groupPage: { offset, limit },
    });
  let next = page(0);
  for (let offset = 0; ; offset += limit) {
    const result = await next;
    const more = offset + limit < result.totalGroups;
    if (more) next = page(offset + limit);
    for (const [i, series] of result.series.entries()) {
      visit(series);
      if (i % 64 === 63) await yieldToEventLoop(); // lets the next page's query proceed
    }
    await yieldToEventLoop();
    if (!more) return;
  }
}
