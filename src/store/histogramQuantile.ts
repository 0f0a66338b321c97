/**
 * The q-quantile of an explicit-bucket histogram, interpolated exactly as Prometheus'
 * `histogram_quantile` does (promql/quantile.go, bucketQuantile), so the numbers agree with a
 * PromQL query over the same data.
 *
 * `bounds` are the finite upper bounds in increasing order; `counts` has one more entry than
 * `bounds`, the last being the +Inf bucket; counts are per bucket (not cumulative), as OTLP has them.
 * Returns NaN without observations, the highest finite bound when the quantile falls in +Inf,
 * and linear interpolation within the bucket otherwise (the first bucket starts at 0).
 */
export function histogramQuantile(q: number, bounds: readonly number[], counts: readonly number[]): number {
  if (Number.isNaN(q)) return Number.NaN;
  if (q < 0) return Number.NEGATIVE_INFINITY;
  if (q > 1) return Number.POSITIVE_INFINITY;
  if (counts.length !== bounds.length + 1 || bounds.length === 0) return Number.NaN;

  const cumulative: number[] = [];
  let running = 0;
  for (const count of counts) {
    running += count;
    cumulative.push(running);
  }
  const observations = running;
  if (observations === 0) return Number.NaN;

  let rank = q * observations;
  // Smallest finite bucket whose cumulative count reaches the rank; none means the +Inf bucket.
  let bucket = bounds.length;
  for (let i = 0; i < bounds.length; i++) {
    if (cumulative[i]! >= rank) {
      bucket = i;
      break;
    }
  }
  if (bucket === bounds.length) return bounds[bounds.length - 1]!;
  if (bucket === 0 && bounds[0]! <= 0) return bounds[0]!;

  let start = 0;
  const end = bounds[bucket]!;
  let count = cumulative[bucket]!;
  if (bucket > 0) {
    start = bounds[bucket - 1]!;
    count -= cumulative[bucket - 1]!;
    rank -= cumulative[bucket - 1]!;
  }
  return start + (end - start) * (rank / count);
}
