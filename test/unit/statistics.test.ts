import { describe, expect, it } from 'vitest';
import {
  autocorrelations,
  binnedMannWhitney,
  describeDistribution,
  hodgesLehmann,
  lag1Autocorrelation,
  mannWhitney,
  mannWhitneyExactLowerTail,
  normalQuantileUpper,
  normalUpperTail,
  ranks,
  summarize,
  welchT,
} from '../../src/analysis/statistics.js';

describe('statistics', () => {
  it('summarizes a sample', () => {
    const summary = summarize([4, 1, 3, 2, 10]);
    expect(summary).toMatchObject({ n: 5, mean: 4, median: 3, min: 1, max: 10 });
    expect(summary.stddev).toBeCloseTo(Math.sqrt(12.5), 12);
    expect(summary.p95).toBeCloseTo(8.8, 12); // position 3.8, between 4 and 10
    expect(summarize([]).n).toBe(0);
  });

  it('gives tied values their average rank and the tie term', () => {
    const { ranks: r, tieTerm } = ranks([10, 20, 20, 30, 20]);
    expect([...r]).toEqual([1, 3, 3, 5, 3]);
    expect(tieTerm).toBe(27 - 3);
  });

  it('matches the normal tail and its inverse', () => {
    expect(normalUpperTail(1.959964)).toBeCloseTo(0.025, 6);
    expect(normalUpperTail(0)).toBeCloseTo(0.5, 7);
    expect(normalQuantileUpper(0.025)).toBeCloseTo(1.959964, 4);
    expect(normalQuantileUpper(1e-6)).toBeCloseTo(4.753424, 3);
  });

  it('computes Mann–Whitney U, z and p as scipy (asymptotic, no continuity correction)', () => {
    const separated = mannWhitney([1, 2, 3, 4, 5], [6, 7, 8, 9, 10]);
    expect(separated.u).toBe(25);
    expect(separated.z).toBeCloseTo(12.5 / Math.sqrt((25 * 11) / 12), 10);
    expect(separated.pValue).toBeCloseTo(0.00902, 4);
    // With ties: ranks 1.5 1.5 3.5 | 3.5 5.5 5.5, U = 8.5, variance 0.75 × (7 − 18/30) = 4.8
    const tied = mannWhitney([1, 1, 2], [2, 3, 3]);
    expect(tied.u).toBe(8.5);
    expect(tied.z).toBeCloseTo(4 / Math.sqrt(4.8), 10);
    // An inflated variance (autocorrelation) weakens the same evidence.
    expect(mannWhitney([1, 2, 3, 4, 5], [6, 7, 8, 9, 10], 4).pValue).toBeGreaterThan(separated.pValue);
  });

  it('gives the exact Mann–Whitney tail, as counting every arrangement does', () => {
    // P(U ≤ u) over all C(m + n, n) orders of m values of one sample and n of the other.
    const enumerate = (u: number, m: number, n: number) => {
      let total = 0;
      let hits = 0;
      for (let mask = 0; mask < 1 << (m + n); mask++) {
        let ones = 0;
        let pairs = 0;
        for (let i = 0; i < m + n; i++) {
          if (mask & (1 << i)) ones++;
          else pairs += ones; // values of the second sample below this one of the first
        }
        if (ones !== n) continue;
        total++;
        if (pairs <= u) hits++;
      }
      return hits / total;
    };
    for (const [m, n] of [
      [3, 4],
      [6, 6],
      [8, 3],
      [1, 7],
    ] as const) {
      for (let u = -1; u <= m * n; u++)
        expect(mannWhitneyExactLowerTail(u, m, n)).toBeCloseTo(enumerate(u, m, n), 12);
    }
    // Six values all above 120 others: 1 / C(126, 6).
    expect(mannWhitneyExactLowerTail(0, 120, 6)).toBeCloseTo(1 / 4925156775, 18);
  });

  it('estimates the Hodges–Lehmann shift with a confidence interval around it', () => {
    const { shift, low, high } = hodgesLehmann([1, 2, 3], [4, 5, 6]);
    expect(shift).toBe(3);
    expect(low).toBeLessThanOrEqual(3);
    expect(high).toBeGreaterThanOrEqual(3);
    const large = hodgesLehmann(
      Array.from({ length: 5000 }, (_, i) => i % 100),
      Array.from({ length: 5000 }, (_, i) => (i % 100) + 10),
    );
    expect(large.shift).toBeCloseTo(10, 0);
    expect(large.low).toBeLessThanOrEqual(10);
    expect(large.high).toBeGreaterThanOrEqual(10);
  });

  it('computes autocorrelations at every lag as the lag-by-lag sums do', () => {
    const values = Array.from({ length: 997 }, (_, i) => Math.sin(i / 7) + (i % 3) + ((i * 7919) % 13) / 13);
    const n = values.length;
    const mean = values.reduce((a, b) => a + b, 0) / n;
    const centred = values.map((x) => x - mean);
    const variance = centred.reduce((a, b) => a + b * b, 0);
    const acf = autocorrelations(values, 400);
    expect(acf).toHaveLength(401);
    for (const lag of [0, 1, 2, 3, 50, 333, 400]) {
      let sum = 0;
      for (let i = lag; i < n; i++) sum += centred[i]! * centred[i - lag]!;
      expect(acf[lag]).toBeCloseTo(sum / variance, 10);
    }
    expect(acf[1]).toBeCloseTo(lag1Autocorrelation(values), 10);
    expect([...autocorrelations([5, 5, 5, 5], 2)]).toEqual([0, 0, 0]);
  });

  it('measures lag-1 autocorrelation', () => {
    expect(lag1Autocorrelation([1, -1, 1, -1, 1, -1])).toBeLessThan(-0.8);
    expect(lag1Autocorrelation(Array.from({ length: 100 }, (_, i) => i))).toBeGreaterThan(0.9);
    expect(lag1Autocorrelation([5, 5, 5])).toBe(0);
  });

  it('computes Welch t, its degrees of freedom and two-sided p as scipy.stats.ttest_ind(equal_var=False)', () => {
    const a = [27.5, 21.0, 19.0, 23.6, 17.0, 17.9, 16.9, 20.1, 21.9, 22.6, 23.1, 19.6, 19.0, 21.7, 21.4];
    const b = [27.1, 22.0, 20.8, 23.4, 23.4, 23.5, 25.8, 22.0, 24.8, 20.2, 21.9, 22.1, 22.9, 20.5, 24.4];
    const first = welchT(a, b);
    expect(first.t).toBeCloseTo(2.455356398286006, 10);
    expect(first.df).toBeCloseTo(24.988529290231416, 9);
    expect(first.pValue).toBeCloseTo(0.021378001462866992, 10);
    expect(first.difference).toBeCloseTo(32.5 / 15, 10);
    // Unequal sizes and variances; the sign follows after − before.
    const second = welchT([10, 12, 15, 11, 30, 25, 19], [1, 2, 3, 4, 5]);
    expect(second.t).toBeCloseTo(-4.856555072026883, 10);
    expect(second.df).toBeCloseTo(6.705952207571055, 9);
    expect(second.pValue).toBeCloseTo(0.0020786754651932002, 10);
  });

  it('gives Welch t no p-value below two values a side, and certainty without variance', () => {
    expect(welchT([1], [2, 3]).pValue).toBeNaN();
    expect(welchT([2, 2, 2], [2, 2]).pValue).toBe(1);
    expect(welchT([2, 2, 2], [3, 3]).pValue).toBe(0);
  });

  it('describes a distribution with p50, p90 and p99 (linear interpolation)', () => {
    const values = Array.from({ length: 101 }, (_, i) => 100 - i);
    expect(describeDistribution(values)).toMatchObject({
      n: 101,
      p50: 50,
      median: 50,
      p90: 90,
      p95: 95,
      p99: 99,
    });
  });
});

describe('binnedMannWhitney', () => {
  it('equals Mann–Whitney on the expanded observations, where a bucket is a tie', () => {
    const before = [3, 5, 2, 0];
    const after = [1, 2, 4, 3];
    const expand = (counts: number[]) => counts.flatMap((count, bucket) => new Array(count).fill(bucket));
    const expected = mannWhitney(expand(before), expand(after));
    const binned = binnedMannWhitney(before, after);
    expect(binned.u).toBeCloseTo(expected.u, 10);
    expect(binned.z).toBeCloseTo(expected.z, 10);
    expect(binned.pValue).toBeCloseTo(expected.pValue, 10);
    expect(binned.superiority).toBeCloseTo(expected.u / (10 * 10), 10);
  });

  it('has no answer for an empty side', () => {
    expect(binnedMannWhitney([0, 0], [1, 2])).toMatchObject({ pValue: 1, superiority: Number.NaN });
  });
});
