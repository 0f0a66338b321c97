import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import type { QueryRunner } from '../store/QueryRunner.js';
import {
  type Aggregation,
  type LabelMatcher,
  streamTimeSeries,
  type TimeSeries,
} from '../store/queryTimeSeries.js';

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
 * Reads several queries' series in order, handing each series to `visit` with the index of its
 * query. The next query is started while the current one is visited, so DuckDB reads (and sorts)
 * it in its threads meanwhile, and the event loop gets turns in between, so a running service
 * keeps collecting.
 */
export async function readAllSeriesPages(
  db: QueryRunner,
  queries: readonly SeriesPagesQuery[],
  visit: (series: TimeSeries, queryIndex: number) => void,
): Promise<void> {
  const streams = queries.map((query) => streamTimeSeries(db, query));
  // The first series of a query, asked for before its turn: that runs its statement.
  const started = (index: number) => {
    const first = streams[index]?.next();
    // A failed prefetch is reported when its turn comes, not as an unhandled rejection before.
    first?.catch(() => undefined);
    return first;
  };
  let next = started(0);
  try {
    for (let index = 0; index < queries.length; index++) {
      const stream = streams[index]!;
      let result = await next!;
      next = started(index + 1);
      for (let i = 0; !result.done; i++) {
        visit(result.value, index);
        if (i % 64 === 63) await yieldToEventLoop();
        result = await stream.next();
      }
    }
  } finally {
    // Ends a stream left open by a failure (its statement and connection).
    await Promise.allSettled(streams.map((stream) => stream.return(undefined)));
  }
}
