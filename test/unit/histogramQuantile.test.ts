import { describe, expect, it } from 'vitest';
import { histogramQuantile } from '../../src/store/histogramQuantile.js';

describe('histogramQuantile (Prometheus interpolation)', () => {
  // 100 observations: 10 in (0,1], 60 in (1,2], 20 in (2,5], 10 above 5.
  const bounds = [1, 2, 5];
  const counts = [10, 60, 20, 10];

  it('interpolates linearly inside the bucket that holds the rank', () => {
    // rank 50 → bucket (1,2], 40 of its 60 → 1 + 1 × 40/60
    expect(histogramQuantile(0.5, bounds, counts)).toBeCloseTo(1 + 40 / 60, 12);
    // rank 5 → first bucket, which starts at 0 → 0 + 1 × 5/10
    expect(histogramQuantile(0.05, bounds, counts)).toBeCloseTo(0.5, 12);
    // rank 80 → bucket (2,5], 10 of its 20 → 2 + 3 × 10/20
    expect(histogramQuantile(0.8, bounds, counts)).toBeCloseTo(3.5, 12);
  });

  it('returns the highest finite bound when the rank falls in the +Inf bucket', () => {
    expect(histogramQuantile(0.95, bounds, counts)).toBe(5);
    expect(histogramQuantile(1, bounds, counts)).toBe(5);
  });

  it('follows Prometheus at the edges', () => {
    expect(histogramQuantile(0.5, bounds, [0, 0, 0, 0])).toBeNaN();
    expect(histogramQuantile(-0.1, bounds, counts)).toBe(Number.NEGATIVE_INFINITY);
    expect(histogramQuantile(1.1, bounds, counts)).toBe(Number.POSITIVE_INFINITY);
    expect(histogramQuantile(0, bounds, counts)).toBe(0);
    // A first bucket with a non-positive upper bound is returned as is.
    expect(histogramQuantile(0.01, [-1, 0, 1], [5, 0, 0, 0])).toBe(-1);
    expect(histogramQuantile(0.5, [1, 2], [1, 1])).toBeNaN(); // malformed: counts must be bounds + 1
  });
});
