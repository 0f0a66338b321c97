/**
 * How a point's increase over its predecessor is computed, shared by raw queries and rollups so
 * both answer alike. The predecessor counts only when it is at most MAX_GAP older; after a longer
 * gap the point only starts a new baseline. A drop (of the value, the count, or any bucket)
 * means the counter restarted from zero, as in Prometheus.
 */
export const MAX_GAP_MICROS = 3_600_000_000n;
const WITHIN_GAP = `prev_time >= time - INTERVAL 1 HOUR`;

/** Columns `value`, `prev` (lag of value), `prev_time` (lag of time), `temporality` must be in scope. */
export const VALUE_INCREASE = `CASE WHEN temporality = 'delta' THEN value
     WHEN prev IS NULL OR NOT (${WITHIN_GAP}) THEN NULL
     WHEN value < prev THEN value
     ELSE value - prev END`;

/** True when a histogram point restarted: its count or any bucket went down. */
const HISTOGRAM_RESET = `(count < prev_count OR list_min(list_transform(list_zip(counts, prev_counts),
       pair -> pair[1]::DOUBLE - pair[2]::DOUBLE)) < 0)`;

/**
 * Increases of a histogram point; columns `count`, `sum`, `counts`, `prev_count`, `prev_sum`,
 * `prev_counts`, `prev_time`, `temporality` must be in scope. Counts are subtracted as DOUBLE:
 * UBIGINT subtraction fails on any negative step.
 */
export const HISTOGRAM_INCREASES = `
  CASE WHEN temporality = 'delta' THEN count::DOUBLE
       WHEN prev_count IS NULL OR NOT (${WITHIN_GAP}) OR len(prev_counts) <> len(counts) THEN NULL
       WHEN ${HISTOGRAM_RESET} THEN count::DOUBLE
       ELSE count::DOUBLE - prev_count::DOUBLE END AS d_count,
  CASE WHEN temporality = 'delta' THEN sum
       WHEN prev_count IS NULL OR NOT (${WITHIN_GAP}) OR len(prev_counts) <> len(counts) THEN NULL
       WHEN ${HISTOGRAM_RESET} THEN sum
       ELSE sum - prev_sum END AS d_sum,
  CASE WHEN temporality = 'delta' THEN list_transform(counts, c -> c::DOUBLE)
       WHEN prev_count IS NULL OR NOT (${WITHIN_GAP}) OR len(prev_counts) <> len(counts) THEN NULL
       WHEN ${HISTOGRAM_RESET} THEN list_transform(counts, c -> c::DOUBLE)
       ELSE list_transform(list_zip(counts, prev_counts), pair -> pair[1]::DOUBLE - pair[2]::DOUBLE) END AS d_counts`;
