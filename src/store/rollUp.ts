import type { DuckDBConnection } from '@duckdb/node-api';

export interface RollupSummary {
  /** Rollup rows written, both tables together. */
  readonly rows: number;
  /** End (exclusive) up to which every minute is rolled up, or null when there is nothing yet. */
  readonly completeUntil: Date | null;
}

const MINUTE_US = 60_000_000n;
/** Predecessors are looked for this far back, so the first minute of a batch gets its increases. */
const LOOKBACK_US = 3_600_000_000n;
/** Minutes this close to the newest point may still receive late points, so they wait. */
const SETTLE_US = MINUTE_US;

const NUMBER_ROLLUP = `
INSERT INTO rollup_number_1m
WITH pts AS (
  SELECT p.series_ref, p.time, p.value, s.kind, s.monotonic, s.temporality,
         lag(p.value) OVER (PARTITION BY p.series_ref ORDER BY p.time) AS prev
  FROM points_number p JOIN series s USING (series_ref)
  WHERE p.time >= make_timestamp($1::BIGINT - ${LOOKBACK_US}) AND p.time < make_timestamp($2::BIGINT)
)
SELECT series_ref, time_bucket(INTERVAL 1 MINUTE, time) AS minute,
       count(*), sum(value), min(value), max(value), arg_max(value, time),
       CASE WHEN any_value(kind) = 'sum' AND any_value(monotonic) THEN
         sum(CASE WHEN temporality = 'delta' THEN value
                  WHEN prev IS NULL THEN NULL
                  WHEN value < prev THEN value
                  ELSE value - prev END)
       END
FROM pts
WHERE time >= make_timestamp($1::BIGINT)
GROUP BY ALL`;

const HISTOGRAM_ROLLUP = `
INSERT INTO rollup_histogram_1m
WITH pts AS (
  SELECT p.series_ref, p.time, p.count, p.sum, p.counts, p.bounds, s.temporality,
         lag(p.count) OVER w AS prev_count, lag(p.sum) OVER w AS prev_sum, lag(p.counts) OVER w AS prev_counts
  FROM points_histogram p JOIN series s USING (series_ref)
  WHERE p.time >= make_timestamp($1::BIGINT - ${LOOKBACK_US}) AND p.time < make_timestamp($2::BIGINT)
  WINDOW w AS (PARTITION BY p.series_ref ORDER BY p.time)
), deltas AS (
  SELECT series_ref, time, bounds,
         CASE WHEN temporality = 'delta' THEN count
              WHEN prev_count IS NULL THEN NULL
              WHEN count < prev_count THEN count
              ELSE count - prev_count END AS d_count,
         CASE WHEN temporality = 'delta' OR (prev_count IS NOT NULL AND count < prev_count) THEN sum
              WHEN prev_count IS NULL THEN NULL
              ELSE sum - prev_sum END AS d_sum,
         CASE WHEN temporality = 'delta' OR (prev_count IS NOT NULL AND count < prev_count) THEN counts
              WHEN prev_count IS NULL OR len(prev_counts) <> len(counts) THEN NULL
              ELSE list_transform(list_zip(counts, prev_counts), pair -> pair[1] - pair[2]) END AS d_counts
  FROM pts
  WHERE time >= make_timestamp($1::BIGINT)
), exploded AS (
  SELECT series_ref, time_bucket(INTERVAL 1 MINUTE, time) AS minute, bounds, unnest(d_counts) AS c,
         generate_subscripts(d_counts, 1) AS i
  FROM deltas WHERE d_count IS NOT NULL
), counts AS (
  SELECT series_ref, minute, bounds, list(c ORDER BY i) AS counts
  FROM (SELECT series_ref, minute, bounds, i, sum(c)::DOUBLE AS c FROM exploded GROUP BY ALL)
  GROUP BY ALL
)
SELECT t.series_ref, t.minute, t.bounds, t.count, t.sum, c.counts
FROM (SELECT series_ref, time_bucket(INTERVAL 1 MINUTE, time) AS minute, bounds,
             sum(d_count)::DOUBLE AS count, sum(d_sum) AS sum
      FROM deltas WHERE d_count IS NOT NULL GROUP BY ALL) t
LEFT JOIN counts c USING (series_ref, minute, bounds)`;

/**
 * Rolls up every complete minute after the last run, for each point table, in batches of at most
 * `batchMillis`, each in its own transaction through `inTransaction` (which the store serialises
 * with collection writes).
 */
export async function rollUp(
  connection: DuckDBConnection,
  inTransaction: <T>(work: () => Promise<T>) => Promise<T>,
  options: { batchMillis?: number } = {},
): Promise<RollupSummary> {
  const batchUs = BigInt(options.batchMillis ?? 6 * 3_600_000) * 1000n;
  let rows = 0;
  let completeUntil: bigint | null = null;
  for (const [table, insert] of [
    ['points_number', NUMBER_ROLLUP],
    ['points_histogram', HISTOGRAM_ROLLUP],
  ] as const) {
    const bounds = (
      await connection.runAndReadAll(
        `SELECT (SELECT epoch_us(complete_until) FROM rollup_state WHERE name = $1) AS done,
                epoch_us(min(time)) AS oldest, epoch_us(max(time)) AS newest FROM ${table}`,
        [table],
      )
    ).getRowObjectsJS()[0];
    if (bounds?.newest === null || bounds?.newest === undefined) continue;
    const end = floorMinute((bounds.newest as bigint) - SETTLE_US);
    let start = (bounds.done as bigint | null) ?? floorMinute(bounds.oldest as bigint);
    while (start < end) {
      const batchEnd = start + batchUs < end ? start + batchUs : end;
      const from = start;
      rows += await inTransaction(async () => {
        const written = Number((await connection.run(insert, [from, batchEnd])).rowsChanged);
        await connection.run(
          `INSERT INTO rollup_state VALUES ($1, make_timestamp($2::BIGINT))
           ON CONFLICT (name) DO UPDATE SET complete_until = excluded.complete_until`,
          [table, batchEnd],
        );
        return written;
      });
      start = batchEnd;
    }
    if (completeUntil === null || start < completeUntil) completeUntil = start;
  }
  return { rows, completeUntil: completeUntil === null ? null : new Date(Number(completeUntil / 1000n)) };
}

function floorMinute(micros: bigint): bigint {
  return micros - (((micros % MINUTE_US) + MINUTE_US) % MINUTE_US);
}
