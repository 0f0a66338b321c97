import { compareWindows } from './detectChangePoints.js';
import type { MetricPolicy } from './metricPolicy.js';
import { welchT } from './statistics.js';

export type BenchmarkVerdict = 'improved' | 'degraded' | 'stable' | 'insufficient_data';
export const BENCHMARK_VERDICTS: readonly BenchmarkVerdict[] = [
  'degraded',
  'improved',
  'stable',
  'insufficient_data',
];

export interface VerdictOptions {
  /** Relative change of the mean within which a series is stable whatever the test says. @default 0.05 (±5 %, the original's) */
  readonly stableBand?: number;
  /** A change must be this significant (rank test p below it). @default 0.01 */
  readonly alpha?: number;
  /** Fewest bucket values on each side. @default 5 */
  readonly minPoints?: number;
}

/** Two samples of one series compared, and what that means for the metric. */
export interface SampleComparison {
  readonly verdict: BenchmarkVerdict;
  /** One sentence saying why. */
  readonly reason: string;
  /** (mean after − mean before) / |mean before|; ±Infinity from a mean of 0, NaN without data. */
  readonly relativeChange: number;
  readonly absoluteChange: number;
  /** The detector's two-window test: Mann–Whitney (autocorrelation-corrected) or a Poisson rate test for sparse counts. */
  readonly test: {
    readonly name: 'mann-whitney' | 'poisson-rate';
    readonly pValue: number;
    /** Hodges–Lehmann shift (after − before) with its 95 % interval (NaN: a mean difference, no interval). */
    readonly shift: number;
    readonly shiftLow: number;
    readonly shiftHigh: number;
  } | null;
  /** Welch's t-test of the means. */
  readonly welch: { readonly t: number; readonly df: number; readonly pValue: number } | null;
}

/**
 * The verdict on one series: `insufficient_data` with fewer than `minPoints` values on a side;
 * otherwise `degraded` or `improved` only when the change is both significant (p < alpha) and
 * beyond the stable band, and the mean and the median moved the same way — worse or better by the
 * metric's direction (the regression rules'), so a latency drop is an improvement, never a
 * degradation. Metrics without a worse direction (throughput) are `stable`: their changes are
 * reported, not judged.
 */
export function compareSamples(
  before: readonly number[],
  after: readonly number[],
  policy: Pick<MetricPolicy, 'worse' | 'metricClass'>,
  options: VerdictOptions = {},
): SampleComparison {
  const band = options.stableBand ?? 0.05;
  const alpha = options.alpha ?? 0.01;
  const minPoints = options.minPoints ?? 5;
  const meanBefore = mean(before);
  const meanAfter = mean(after);
  const absoluteChange = meanAfter - meanBefore;
  const relativeChange =
    before.length === 0 || after.length === 0
      ? Number.NaN
      : meanBefore === 0
        ? absoluteChange === 0
          ? 0
          : Math.sign(absoluteChange) * Number.POSITIVE_INFINITY
        : absoluteChange / Math.abs(meanBefore);
  if (before.length < minPoints || after.length < minPoints) {
    return {
      verdict: 'insufficient_data',
      reason: `${before.length} baseline and ${after.length} current values; at least ${minPoints} on each side are needed`,
      relativeChange,
      absoluteChange,
      test: null,
      welch: null,
    };
  }
  const point = compareWindows(before, after);
  const w = welchT(before, after);
  const base = {
    relativeChange,
    absoluteChange,
    test: {
      name: point.test,
      pValue: point.pValue,
      shift: point.shift,
      shiftLow: point.shiftLow,
      shiftHigh: point.shiftHigh,
    },
    welch: { t: w.t, df: w.df, pValue: w.pValue },
  };
  const change = `${formatPercent(relativeChange)} (p=${point.pValue.toExponential(1)})`;
  if (policy.worse === 'none')
    return {
      ...base,
      verdict: 'stable',
      reason: `informational: ${policy.metricClass} metrics have no worse direction; changed ${change}`,
    };
  if (!(point.pValue < alpha))
    return { ...base, verdict: 'stable', reason: `changed ${change}: not significant at p < ${alpha}` };
  if (!(Math.abs(relativeChange) > band))
    return {
      ...base,
      verdict: 'stable',
      reason: `changed ${change}: within the stable band of ±${formatPercent(band, false)}`,
    };
  const direction = relativeChange > 0 ? 'up' : 'down';
  if (direction !== point.direction)
    return {
      ...base,
      verdict: 'stable',
      reason: `the mean moved ${direction} ${change} but the median ${point.direction}: no consistent change`,
    };
  const worse = direction === policy.worse;
  return {
    ...base,
    verdict: worse ? 'degraded' : 'improved',
    reason: `${direction === 'up' ? 'rose' : 'fell'} ${change}; ${policy.metricClass} is worse when it ${policy.worse === 'up' ? 'rises' : 'falls'}`,
  };
}

function mean(values: readonly number[]): number {
  let sum = 0;
  for (const value of values) sum += value;
  return values.length === 0 ? Number.NaN : sum / values.length;
}

/** `+12.3 %`; `signed` false drops the sign. */
export function formatPercent(fraction: number, signed = true): string {
  if (!Number.isFinite(fraction)) return Number.isNaN(fraction) ? 'n/a' : fraction > 0 ? '+∞ %' : '−∞ %';
  const text = `${Number((Math.abs(fraction) * 100).toPrecision(3))} %`;
  if (!signed) return text;
  return `${fraction < 0 ? '−' : '+'}${text}`;
}
