import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import type { QueryRunner } from '../store/QueryRunner.js';
import type { Aggregation, LabelMatcher, TimeSeries } from '../store/queryTimeSeries.js';
import { streamTimeSeries } from '../store/streamTimeSeries.js';

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
 * Reads one statistic of a metric through the query layer series by series (groups in label
 * order; see streamTimeSeries), bounding the points held at once, and hands each series to `visit`.
 */
export function readSeriesPages(
  db: QueryRunner,
  query: SeriesPagesQuery,
  visit: (series: TimeSeries) => void,
): Promise<void> {
  return readAllSeriesPages(db, [query], (series) => visit(series));
}

/**
 * Reads several queries' series in order (see streamTimeSeries: batches of series of consecutive
 * queries in one statement, the next batch read while this one is visited), handing each series
 * to `visit` with the index of its query; when `visit` returns a promise, the next series waits
 * for it (back-pressure). The event loop gets turns in between, so a running service keeps
 * collecting (and the next batch is read).
 */
export async function readAllSeriesPages(
  db: QueryRunner,
  queries: readonly SeriesPagesQuery[],
  visit: (series: TimeSeries, queryIndex: number) => void | Promise<void>,
): Promise<void> {
  let i = 0;
  for await (const { series, queryIndex } of streamTimeSeries(db, queries)) {
    const waitFor = visit(series, queryIndex);
    if (waitFor !== undefined) await waitFor;
    if (++i % 64 === 0) await yieldToEventLoop();
  }
}
