import type { DuckDBConnection } from '@duckdb/node-api';
import {
  HISTOGRAM_INCREASES,
  HISTOGRAM_WINDOW,
  MAX_GAP_MICROS,
  NUMBER_WINDOW,
  VALUE_INCREASE,
} from './increaseSql.js';

export interface RollupSummary {
  /** Rollup rows written, both tables together. */
  readonly rows: number;
  /** End (exclusive) up to which every minute is rolled up, or null when there is nothing yet. */
  readonly completeUntil: Date | null;
}

const MINUTE_US = 60_000_000n;
/** Minutes this close to the newest point (or to now) may still receive points, so they wait. */
const SETTLE_US = MINUTE_US;

const NUMBER_ROLLUP = `
INSERT INTO rollup_number_1m
WITH pts AS (
  SELECT p.series_ref, p.start_time, p.time, p.value, s.kind, s.monotonic, s.temporality,
         lag(p.value) OVER w AS prev, lag(p.time) OVER w AS prev_time
  FROM points_number p JOIN series s USING (series_ref)
  WHERE p.time >= make_timestamp($1::BIGINT - ${MAX_GAP_MICROS}) AND p.time < make_timestamp($2::BIGINT)
  ${NUMBER_WINDOW}
)
SELECT series_ref, time_bucket(INTERVAL 1 MINUTE, time) AS minute,
       count(*), sum(value), min(value), max(value), arg_max(value, time),
       CASE WHEN any_value(kind) = 'sum' AND any_value(monotonic) THEN sum(${VALUE_INCREASE}) END
FROM pts
WHERE time >= make_timestamp($1::BIGINT)
GROUP BY ALL`;

const HISTOGRAM_ROLLUP = `
INSERT INTO rollup_histogram_1m
WITH pts AS (
  SELECT p.series_ref, p.start_time, p.time, p.count, p.sum, p.counts, p.bounds, s.temporality,
         lag(p.count) OVER w AS prev_count, lag(p.sum) OVER w AS prev_sum, lag(p.counts) OVER w AS prev_counts,
         lag(p.time) OVER w AS prev_time
  FROM points_histogram p JOIN series s USING (series_ref)
  WHERE p.time >= make_timestamp($1::BIGINT - ${MAX_GAP_MICROS}) AND p.time < make_timestamp($2::BIGINT)
  ${HISTOGRAM_WINDOW}
), deltas AS (
  SELECT series_ref, time, bounds, ${HISTOGRAM_INCREASES}
  FROM pts
  WHERE time >= make_timestamp($1::BIGINT)
), exploded AS (
  SELECT series_ref, time_bucket(INTERVAL 1 MINUTE, time) AS minute, bounds, unnest(d_counts) AS c,
         generate_subscripts(d_counts, 1) AS i
  FROM deltas WHERE d_count IS NOT NULL
), counts AS (
  SELECT series_ref, minute, bounds, list(c ORDER BY i) AS counts
  FROM (SELECT series_ref, minute, bounds, i, sum(c) AS c FROM exploded GROUP BY ALL)
  GROUP BY ALL
)
SELECT t.series_ref, t.minute, t.bounds, t.count, t.sum, c.counts
FROM (SELECT series_ref, time_bucket(INTERVAL 1 MINUTE, time) AS minute, bounds,
             sum(d_count) AS count, sum(d_sum) AS sum
      FROM deltas WHERE d_count IS NOT NULL GROUP BY ALL) t
LEFT JOIN counts c USING (series_ref, minute, bounds)`;

const TABLES = [
  ['points_number', NUMBER_ROLLUP],
  ['points_histogram', HISTOGRAM_ROLLUP],
] as const;

/**
 * Rolls up every complete minute after the last run, per point table, in batches of at most
 * `batchMillis`, each in its own transaction through `inTransaction` (serialised with collection
 * writes). Each batch reads where rollups stand inside its transaction, so concurrent calls never
 * roll a minute up twice. A minute is complete once a point a minute later exists and the wall
 * clock has passed it too: a point stamped in the future cannot push rollups past the present.
 * Points arriving for minutes already rolled up stay in the raw table only.
 */
export async function rollUp(
  connection: DuckDBConnection,
  inTransaction: <T>(work: () => Promise<T>) => Promise<T>,
  options: { batchMillis?: number; nowMillis?: number } = {},
): Promise<RollupSummary> {
  const batchUs = BigInt(options.batchMillis ?? 6 * 3_600_000) * 1000n;
  const nowUs = BigInt(options.nowMillis ?? Date.now()) * 1000n;
  let rows = 0;
  let completeUntil: bigint | null = null;
  for (const [table, insert] of TABLES) {
    let done: bigint | null = null;
    for (;;) {
      const step = await inTransaction(async () => {
        // `next`: the oldest point not rolled up yet, so batches jump over gaps in the history.
        const state = (
          await connection.runAndReadAll(
            `WITH done AS (SELECT epoch_us(complete_until) AS us FROM rollup_state WHERE name = $1)
             SELECT (SELECT us FROM done) AS done, epoch_us(max(time)) AS newest,
                    epoch_us(min(time) FILTER (WHERE (SELECT us FROM done) IS NULL OR epoch_us(time) >= (SELECT us FROM done))) AS next
             FROM ${table}`,
            [table],
          )
        ).getRowObjectsJS()[0];
        if (state?.newest === null || state?.newest === undefined) return undefined;
        const newest = (state.newest as bigint) < nowUs ? (state.newest as bigint) : nowUs;
        const end = floorMinute(newest - SETTLE_US);
        const done = (state.done ?? null) as bigint | null;
        const next =
          state.next === null || state.next === undefined ? end : floorMinute(state.next as bigint);
        const start = done === null || next > done ? next : done;
        if (start >= end) return { written: 0, until: start, finished: true };
        const batchEnd = start + batchUs < end ? start + batchUs : end;
        const written = Number((await connection.run(insert, [start, batchEnd])).rowsChanged);
        await connection.run(
          `INSERT INTO rollup_state VALUES ($1, make_timestamp($2::BIGINT))
           ON CONFLICT (name) DO UPDATE SET complete_until = excluded.complete_until`,
          [table, batchEnd],
        );
        return { written, until: batchEnd, finished: batchEnd >= end };
      });
      if (step === undefined) break;
      rows += step.written;
      done = step.until;
      if (step.finished) break;
    }
    if (done !== null && (completeUntil === null || done < completeUntil)) completeUntil = done;
  }
  return { rows, completeUntil: completeUntil === null ? null : new Date(Number(completeUntil / 1000n)) };
}

function floorMinute(micros: bigint): bigint {
  return micros - (((micros % MINUTE_US) + MINUTE_US) % MINUTE_US);
}
