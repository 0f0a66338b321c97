/**
 * How a point's increase over its predecessor is computed, shared by raw queries and rollups so
 * both answer alike. The predecessor counts only when it is at most MAX_GAP older; after a longer
 * gap the point only starts a new baseline. A drop (of the value, the count, or any bucket)
 * means the counter restarted from zero, as in Prometheus.
 *
 * A cumulative point is the total since its start time (OTel data model), so its start time is a
 * zero baseline, as Prometheus' created timestamps are: a point counts its whole value when its
 * start time lies after its predecessor (or it has none: the first point of a series, the first
 * after a restart) and at most MAX_GAP before it — the same window a predecessor point must lie
 * in, so that the rule depends on the point alone, never on the query's range: rollups, raw
 * queries, batched windows and the points held in memory agree, and increases over adjacent
 * ranges add up. The start time must be strictly before the point: a total over no time at all
 * cannot hold counts, and the OTel JS SDK stamps an observable counter's first point with its
 * observation time as start (its value, a total since boot or process start, is no increase).
 * Otherwise a point without a predecessor within MAX_GAP starts a baseline only, as before.
 */
export const MAX_GAP_MICROS = 3_600_000_000n;

/**
 * The window `w` giving each point its predecessor: its series' points by time, and points of
 * equal time by value (count for histograms) — two collections within one millisecond give two
 * cumulative points of one time, the later with the larger total, and in another order the
 * smaller would look like a restart.
 */
export const NUMBER_WINDOW = 'WINDOW w AS (PARTITION BY p.series_ref ORDER BY p.time, p.value)';
export const HISTOGRAM_WINDOW = 'WINDOW w AS (PARTITION BY p.series_ref ORDER BY p.time, p.count)';
const WITHIN_GAP = `prev_time >= time - INTERVAL 1 HOUR`;

/** True when the point counts from zero at its start time (see above). */
const FROM_START = `(start_time < time AND start_time >= time - INTERVAL 1 HOUR
       AND (prev_time IS NULL OR prev_time < start_time))`;

/**
 * Columns `value`, `start_time`, `prev` (lag of value), `prev_time` (lag of time), `temporality`
 * must be in scope.
 */
export const VALUE_INCREASE = `CASE WHEN temporality = 'delta' THEN value
     WHEN ${FROM_START} THEN value
     WHEN prev IS NULL OR NOT (${WITHIN_GAP}) THEN NULL
     WHEN value < prev THEN value
     ELSE value - prev END`;

/** True when a histogram point restarted: its count or any bucket went down. */
const HISTOGRAM_RESET = `(count < prev_count OR list_min(list_transform(list_zip(counts, prev_counts),
       pair -> pair[1]::DOUBLE - pair[2]::DOUBLE)) < 0)`;

/**
 * Increases of a histogram point; columns `start_time`, `count`, `sum`, `counts`, `prev_count`,
 * `prev_sum`, `prev_counts`, `prev_time`, `temporality` must be in scope. Counts are subtracted
 * as DOUBLE: UBIGINT subtraction fails on any negative step.
 */
export const HISTOGRAM_INCREASES = `
  CASE WHEN temporality = 'delta' OR ${FROM_START} THEN count::DOUBLE
       WHEN prev_count IS NULL OR NOT (${WITHIN_GAP}) OR len(prev_counts) <> len(counts) THEN NULL
       WHEN ${HISTOGRAM_RESET} THEN count::DOUBLE
       ELSE count::DOUBLE - prev_count::DOUBLE END AS d_count,
  CASE WHEN temporality = 'delta' OR ${FROM_START} THEN sum
       WHEN prev_count IS NULL OR NOT (${WITHIN_GAP}) OR len(prev_counts) <> len(counts) THEN NULL
       WHEN ${HISTOGRAM_RESET} THEN sum
       ELSE sum - prev_sum END AS d_sum,
  CASE WHEN temporality = 'delta' OR ${FROM_START} THEN list_transform(counts, c -> c::DOUBLE)
       WHEN prev_count IS NULL OR NOT (${WITHIN_GAP}) OR len(prev_counts) <> len(counts) THEN NULL
       WHEN ${HISTOGRAM_RESET} THEN list_transform(counts, c -> c::DOUBLE)
       ELSE list_transform(list_zip(counts, prev_counts), pair -> pair[1]::DOUBLE - pair[2]::DOUBLE) END AS d_counts`;
