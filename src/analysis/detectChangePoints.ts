import { PerfWatchError } from '../errors.js';
import {
  autocorrelations,
  hodgesLehmann,
  lag1Autocorrelation,
  mannWhitney,
  mannWhitneyExactLowerTail,
  normalQuantileUpper,
  normalUpperTail,
  ranks,
  type Summary,
  summarize,
} from './statistics.js';

export interface ChangePointOptions {
  /** Fewest points on each side of a change: a shift that reverts sooner is an outlier. @default 5 */
  minSegment?: number;
  /** Family-wise false-alarm rate of the search over one segment, and the confirmation level. @default 0.001 */
  alpha?: number;
  /** Keep only increases (`up`), only decreases (`down`), or both. @default 'both' */
  direction?: 'up' | 'down' | 'both';
  /** Smallest |shift| / |median before| reported; 0 reports every significant change. @default 0 */
  minRelativeEffect?: number;
}

export interface ChangePoint {
  /** 0-based index (in the input, gaps included) of the first point after the change. */
  readonly index: number;
  /**
   * The values from the previous change (or the start) up to this one, and from this one to the
   * next (or the end); for a step on a trend whose sides compare the other way round, the 25
   * values next to it on each side (`n` says how many). In a series with a regular cycle, the
   * values less the cycle's profile (whose mean is 0), as the detector compares them.
   */
  readonly before: Summary;
  readonly after: Summary;
  /**
   * Hodges–Lehmann estimate of after − before, with its 95 % confidence interval; for sparse counts
   * and discrete values whose median does not move, the mean difference, without an interval (NaN).
   */
  readonly shift: number;
  readonly shiftLow: number;
  readonly shiftHigh: number;
  /** shift / |median before|; NaN when the median before is 0. */
  readonly relativeChange: number;
  readonly pValue: number;
  readonly test: 'mann-whitney' | 'poisson-rate';
  readonly direction: 'up' | 'down';
}

/** Input that cannot be analysed (not an array, non-numeric entries). */
export class AnalysisInputError extends PerfWatchError {
  constructor(message: string) {
    super('PERFWATCH_ANALYSIS_INPUT', message);
  }
}

/** Autocorrelation beyond this is treated as this: the variance inflation stays finite. */
const MAX_AUTOCORRELATION = 0.95;

/**
 * Change points of a series, robust to outliers, skew and autocorrelation, with defaults meant to
 * work on any metric without tuning:
 *
 * 1. Search: binary segmentation on the rank statistic of Mann–Whitney. In each segment the split
 *    with the largest standardized U is a candidate; it is kept when its z, corrected for the
 *    lag-1 autocorrelation of the rank residuals around the split, passes a Bonferroni threshold
 *    over all candidate splits (so stationary series stay quiet however long they are).
 *    A candidate must also be abrupt (see isAbrupt): where no trend is significant, the two sides
 *    next to the split must differ; on a trend (seasonality, a fast drift), about the same shift
 *    at two scales and a significant jump in a line with one slope fitted across the split.
 *    For sparse counts the split is the Poisson maximum-likelihood one.
 *    When the whole-segment split is not significant or not abrupt, a local scan (MOSUM, windows
 *    of 20 and 60 points, tested with ranks within the window) finds steps that a seasonal swing
 *    or a short-lived change hides from it.
 * 2. Confirmation: each change is tested again between its neighbouring changes — Mann–Whitney,
 *    or a Poisson rate test for sparse counts where ranks tie too much — and dropped (and the
 *    others re-tested) until all pass.
 *
 * 3. A regular cycle (hourly batch load, a daily swing over several days; see periodOf) looks like
 *    a change every half period: where the values are cut more than once, the cycle's median
 *    profile over its periods is removed and the search runs again.
 *
 * Null and non-finite values are gaps: skipped, never filled in; indices refer to the input.
 */
export function detectChangePoints(
  values: readonly (number | null)[] | Float64Array,
  options: ChangePointOptions = {},
): ChangePoint[] {
  if (!Array.isArray(values) && !(values instanceof Float64Array))
    throw new AnalysisInputError('values must be an array of numbers (null for gaps)');
  const minSegment = options.minSegment ?? 5;
  if (!Number.isInteger(minSegment) || minSegment < 2) {
    throw new AnalysisInputError(`minSegment must be an integer >= 2, got ${String(options.minSegment)}`);
  }
  const alpha = options.alpha ?? 0.001;
  if (!(alpha > 0 && alpha < 1)) throw new AnalysisInputError(`alpha must be between 0 and 1, got ${alpha}`);
  const direction = options.direction ?? 'both';
  if (!['up', 'down', 'both'].includes(direction)) {
    throw new AnalysisInputError(
      `direction must be up, down or both, got ${JSON.stringify(options.direction)}`,
    );
  }
  const xs: number[] = [];
  const positions: number[] = [];
  for (let i = 0; i < values.length; i++) {
    const value = values[i];
    if (value === null || value === undefined) continue;
    if (typeof value !== 'number')
      throw new AnalysisInputError(`value at index ${i} is not a number: ${JSON.stringify(value)}`);
    if (!Number.isFinite(value)) continue;
    xs.push(value);
    positions.push(i);
  }
  if (xs.length < 2 * minSegment) return [];

  const sparse = isSparseCounts(xs);
  const search = (values: readonly number[]) => {
    const cuts: number[] = [];
    segment(values, 0, values.length, minSegment, alpha, sparse ? countSplit : rankSplit, cuts);
    cuts.sort((a, b) => a - b);
    return confirm(values, refine(values, cuts, minSegment, sparse), alpha, sparse);
  };
  let searched: readonly number[] = xs;
  let confirmed = search(xs);
  // A regular cycle (hourly batch load, a daily swing over several days) is no change, but looks
  // like one every half period: where the values are cut more than once, the search runs again
  // on the values without the cycle, if there is one. (Only then: the period costs an FFT.)
  if (!sparse && confirmed.length >= 2) {
    const period = periodOf(xs, minSegment);
    if (period > 0) {
      searched = withoutSeason(xs, positions, period);
      confirmed = search(searched);
    }
  }

  const minEffect = options.minRelativeEffect ?? 0;
  return (
    confirmed
      .map(({ cut, from, to, pValue }) => describe(searched, positions, from, cut, to, pValue, sparse))
      .filter((point) => direction === 'both' || point.direction === direction)
      // From a level of 0 any shift is infinitely large: such changes always pass.
      .filter(
        (point) =>
          minEffect <= 0 || Number.isNaN(point.relativeChange) || Math.abs(point.relativeChange) >= minEffect,
      )
  );
}

/**
 * Compares two windows as the detector confirms a change (Mann–Whitney with the autocorrelation
 * correction, or the Poisson rate test for sparse counts) and describes the difference: for
 * windows chosen by something other than the detector, such as the two sides of a deploy.
 */
export function compareWindows(before: readonly number[], after: readonly number[]): ChangePoint {
  const xs = [...before, ...after].filter((x) => Number.isFinite(x));
  const cut = before.filter((x) => Number.isFinite(x)).length;
  if (cut === 0 || cut === xs.length)
    throw new AnalysisInputError('both windows need at least one finite value');
  const sparse = isSparseCounts(xs);
  const positions = xs.map((_, i) => i);
  return describe(xs, positions, 0, cut, xs.length, pValueOf(xs, 0, cut, xs.length, sparse), sparse, false);
}

/** Finds the accepted split of one segment (an index inside it), or -1 when there is none. */
type SplitFinder = (segment: readonly number[], minSegment: number, alpha: number) => number;

/** Binary segmentation: split where `findSplit` accepts, then search both sides the same way. */
function segment(
  xs: readonly number[],
  from: number,
  to: number,
  minSegment: number,
  alpha: number,
  findSplit: SplitFinder,
  cuts: number[],
): void {
  if (to - from < 2 * minSegment) return;
  const split = findSplit(xs.slice(from, to), minSegment, alpha);
  if (split < 0) return;
  cuts.push(from + split);
  segment(xs, from, from + split, minSegment, alpha, findSplit, cuts);
  segment(xs, from + split, to, minSegment, alpha, findSplit, cuts);
}

/**
 * The strongest split on the rank statistic, if it passes the autocorrelation-corrected
 * Bonferroni threshold and is abrupt; otherwise the strongest local step (see localRankSplit),
 * which finds steps that a significant but gradual swing (seasonality, a drift) or a short-lived
 * change hides from the whole-segment statistic.
 */
const rankSplit: SplitFinder = (values, minSegment, alpha) => {
  const n = values.length;
  const { ranks: r, tieTerm } = ranks(values);
  const tieFactor = 1 - tieTerm / (n * n * n - n);
  if (tieFactor <= 0) return -1; // constant segment
  const { split, z } = bestRankSplit(r, minSegment, tieFactor);
  if (split < 0) return -1;
  const threshold = normalQuantileUpper(alpha / (4 * (n - 2 * minSegment + 1)));
  const inflation = varianceInflation(r, split);
  let standardized = Math.abs(z);
  // The exact tail only where the approximation falls short: it is never below it.
  if (standardized / Math.sqrt(inflation) < threshold && tieTerm === 0) standardized = exactZ(r, split, z);
  if (standardized / Math.sqrt(inflation) >= threshold && isAbrupt(r, split)) return split;
  return localRankSplit(r, minSegment, alpha / 2);
};

/** Below this many points on the short side of a split, its U is judged by the exact distribution. */
const EXACT_SIDE = 30;
/** The normal z beyond which the exact tail is worth computing (the threshold is well above it). */
const EXACT_FROM_Z = 3;
/** Most coefficient updates spent on one exact tail (short side × U); beyond, the approximation stands. */
const EXACT_MAX_WORK = 2_000_000;

/**
 * |z| of a split's U, from the exact null distribution when one side is short (see
 * mannWhitneyExactLowerTail) and the normal approximation from `z` otherwise: a short, clean step
 * to a near-constant level at the end of a series is as certain as its ranks can say, which the
 * approximation understates by orders of magnitude. Untied values only.
 */
function exactZ(r: ArrayLike<number>, split: number, z: number): number {
  const n = r.length;
  const shortSide = Math.min(split, n - split);
  if (shortSide >= EXACT_SIDE || Math.abs(z) < EXACT_FROM_Z) return Math.abs(z);
  let rankSumAfter = 0;
  for (let i = split; i < n; i++) rankSumAfter += r[i]!;
  const after = n - split;
  const u = rankSumAfter - (after * (after + 1)) / 2; // pairs with the later value above
  const lower = Math.min(u, split * after - u);
  if (shortSide * lower > EXACT_MAX_WORK) return Math.abs(z);
  const tail = mannWhitneyExactLowerTail(lower, split, after);
  return Math.max(Math.abs(z), normalQuantileUpper(Math.max(tail, Number.MIN_VALUE)));
}

/**
 * The multiplicity of a local scan with windows of `h`: its statistics at neighbouring positions
 * share almost all their points, so the scan holds about n / h independent tests, not n; four
 * times that keeps a margin (Bonferroni over every position would miss steps a mature scan finds).
 */
function localTests(n: number, h: number): number {
  return Math.min(n - 2 * h + 1, Math.ceil((4 * n) / h));
}

/** Window widths of the local scan, in points on each side. */
const LOCAL_BANDWIDTHS = [20, 60];

/**
 * A moving-window scan (MOSUM): at each position, the mean rank of the `h` points after minus that
 * of the `h` points before. The strongest few positions per bandwidth are then tested on their own
 * window — a Mann–Whitney test of the `h` points before against the `h` after, ranked among
 * themselves, with the autocorrelation correction — against a Bonferroni threshold over positions
 * and bandwidths. Ranking within the window matters: a seasonal swing or a drift spreads the ranks
 * of the whole segment far wider than the noise around a step. The strongest abrupt one, or -1.
 */
function localRankSplit(r: Float64Array, minSegment: number, alpha: number): number {
  const n = r.length;
  const prefix = new Float64Array(n + 1);
  for (let i = 0; i < n; i++) prefix[i + 1] = prefix[i]! + r[i]!;
  const bandwidths = LOCAL_BANDWIDTHS.filter((h) => h >= minSegment && 4 * h <= n);
  let best = -1;
  let bestExcess = 0;
  for (const h of bandwidths) {
    const threshold = normalQuantileUpper(alpha / (2 * bandwidths.length * localTests(n, h)));
    for (const k of strongestPositions(prefix, h, LOCAL_CANDIDATES)) {
      const window = r.subarray(k - h, k + h);
      const z = windowMannWhitneyZ(window, h);
      const excess = Math.abs(z) / threshold;
      if (excess >= 1 && excess > bestExcess && isAbrupt(r, k)) {
        bestExcess = excess;
        best = k;
      }
    }
  }
  return best;
}

/**
 * Mann–Whitney z of the last `window.length - h` values against the first `h`, counting pairs
 * (cheaper than ranking for the short windows of the local scan), with the tie correction and the
 * autocorrelation widening; 0 for a constant window.
 */
function windowMannWhitneyZ(window: Float64Array, h: number): number {
  const m = window.length;
  const n2 = m - h;
  // Pairs counted by merging the two sides sorted: O(h log h) rather than h².
  const before = window.slice(0, h).sort();
  const after = window.slice(h).sort();
  let u = 0;
  let ties = 0;
  let below = 0; // before values < x
  let atOrBelow = 0; // before values <= x
  for (let i = 0; i < n2; i++) {
    const x = after[i]!;
    while (below < h && before[below]! < x) below++;
    if (atOrBelow < below) atOrBelow = below;
    while (atOrBelow < h && before[atOrBelow]! <= x) atOrBelow++;
    u += below + (atOrBelow - below) / 2;
    ties += atOrBelow - below;
  }
  let tieFactor = 1;
  if (ties > 0) {
    const { tieTerm } = ranks(window);
    tieFactor = 1 - tieTerm / (m * m * m - m);
    if (tieFactor <= 0) return 0;
  }
  const variance = ((h * n2) / 12) * (m + 1) * tieFactor * varianceInflation(window, h);
  return (u - (h * n2) / 2) / Math.sqrt(variance);
}

/** Positions tested per bandwidth by the local scan. */
const LOCAL_CANDIDATES = 6;

/** The `count` positions with the largest |mean after − mean before| over `h` points, local maxima only. */
function strongestPositions(prefix: Float64Array, h: number, count: number): number[] {
  const n = prefix.length - 1;
  const scores = new Float64Array(n + 1);
  for (let k = h; k <= n - h; k++) scores[k] = Math.abs(prefix[k + h]! - 2 * prefix[k]! + prefix[k - h]!);
  const best: number[] = []; // positions, strongest first
  for (let k = h; k <= n - h; k++) {
    const value = scores[k]!;
    if ((k > h && scores[k - 1]! > value) || (k < n - h && scores[k + 1]! >= value)) continue;
    if (best.length === count && value <= scores[best[count - 1]!]!) continue;
    let at = best.length === count ? count - 1 : best.length;
    while (at > 0 && scores[best[at - 1]!]! < value) {
      if (at < count) best[at] = best[at - 1]!;
      at--;
    }
    best[at] = k;
  }
  return best;
}

/**
 * The split of a ranked segment with the largest standardized Mann–Whitney U between its two
 * sides (rank sums of the right side from prefix sums, O(n)); split -1 when none is allowed.
 */
function bestRankSplit(
  r: ArrayLike<number>,
  minSegment: number,
  tieFactor: number,
): { split: number; z: number } {
  const n = r.length;
  const prefix = new Float64Array(n + 1);
  for (let i = 0; i < n; i++) prefix[i + 1] = prefix[i]! + r[i]!;
  let split = -1;
  let best = 0;
  for (let k = minSegment; k <= n - minSegment; k++) {
    const n2 = n - k;
    const u = prefix[n]! - prefix[k]! - (n2 * (n2 + 1)) / 2;
    const z = (u - (k * n2) / 2) / Math.sqrt(((k * n2) / 12) * (n + 1) * tieFactor);
    if (split < 0 || Math.abs(z) > Math.abs(best)) {
      best = z;
      split = k;
    }
  }
  return { split, z: best };
}

/**
 * For sparse counts: the strongest split on the Poisson rate statistic instead of ranks, which tie
 * too much when most values are 0.
 */
const countSplit: SplitFinder = (counts, minSegment, alpha) => {
  const split = bestRateSplit(counts, minSegment, -1);
  if (split < 0) return -1;
  const threshold = normalQuantileUpper(alpha / (4 * (counts.length - 2 * minSegment + 1)));
  const z = normalQuantileUpper(poissonRatePValue(counts.slice(0, split), counts.slice(split)) / 2);
  // Counts are too coarse for fitted lines: the two-scale comparison alone.
  if (z >= threshold && isAbrupt(counts, split, false)) return split;
  return localCountSplit(counts, minSegment, alpha / 2);
};

/** Window widths of the local scan of counts: wider than for ranks, as sparse counts carry less per point. */
const LOCAL_COUNT_BANDWIDTHS = [25, 50, 100];

/**
 * The local scan for counts: at each position, the events in the `h` points after against the `h`
 * before, by the conditional (binomial) test of two Poisson rates with the quasi-Poisson widening;
 * the strongest position over all bandwidths passing a Bonferroni threshold, if abrupt, or -1.
 * Rate changes that come and go (0.3 → 0.9 → 0.3 …) cancel in the whole-segment statistic.
 */
function localCountSplit(counts: readonly number[], minSegment: number, alpha: number): number {
  const n = counts.length;
  const prefix = new Float64Array(n + 1);
  for (let i = 0; i < n; i++) prefix[i + 1] = prefix[i]! + counts[i]!;
  const overdispersion = Math.max(1, dispersion(counts));
  const bandwidths = LOCAL_COUNT_BANDWIDTHS.filter((h) => h >= minSegment && 4 * h <= n);
  let best = -1;
  let bestExcess = 0;
  for (const h of bandwidths) {
    const threshold = normalQuantileUpper(alpha / (2 * bandwidths.length * localTests(n, h)));
    for (let k = h; k <= n - h; k++) {
      const after = prefix[k + h]! - prefix[k]!;
      const before = prefix[k]! - prefix[k - h]!;
      const total = after + before;
      if (total === 0) continue;
      const excess = Math.abs(after - before) / Math.sqrt(total * overdispersion) / threshold;
      if (excess >= 1 && excess > bestExcess && isAbrupt(counts, k, false)) {
        bestExcess = excess;
        best = k;
      }
    }
  }
  return best;
}

/**
 * How much serial correlation widens the variance of a rank sum: (1 + φ) / (1 − φ) for an AR(1)
 * coefficient φ. Two estimates, each too high in its own failure case, and the smaller is used:
 * - from the first differences (ρ₁ of the differences is (φ − 1) / 2): blind to level shifts —
 *   the very thing being tested — which residuals would mistake for correlation when a segment
 *   holds several changes; but flat, heavily tied stretches (a noiseless step) look like a random
 *   walk to it;
 * - from the residuals around the split (each side minus its mean): right for one change and for
 *   tied values, too high when the segment holds more changes.
 */
function varianceInflation(r: ArrayLike<number>, split: number): number {
  const n = r.length;
  const differences = new Float64Array(Math.max(0, n - 1));
  for (let i = 1; i < n; i++) differences[i - 1] = r[i]! - r[i - 1]!;
  const fromDifferences = 1 + 2 * lag1Autocorrelation(differences);
  let left = 0;
  for (let i = 0; i < split; i++) left += r[i]!;
  let right = 0;
  for (let i = split; i < n; i++) right += r[i]!;
  const residuals = new Float64Array(n);
  for (let i = 0; i < n; i++) residuals[i] = r[i]! - (i < split ? left / split : right / (n - split));
  const fromResiduals = lag1Autocorrelation(residuals);
  const phi = Math.min(MAX_AUTOCORRELATION, Math.max(0, Math.min(fromDifferences, fromResiduals)));
  return (1 + phi) / (1 - phi);
}

/** Points on each side of a split that judge whether it is abrupt. */
const ABRUPT_WINDOW = 100;
/** With fewer points than this on the short side, the significance test alone decides. */
const MIN_ABRUPT_WINDOW = 12;
/**
 * A local slope with a t statistic beyond this (in a line-plus-step fit around the split) means
 * the split lies on a trend of its own — a seasonal swing, a fast drift — that only a locally
 * fitted line describes. Below it, the segment's own slope (estimated from all its points, so
 * almost exactly) stands for the trend: fitting a local line anyway would cost a step test most of
 * its power (the slope and the step indicator are correlated at 0.87 over a symmetric window: 4×
 * the variance).
 */
const TREND_T = 2;

/**
 * True when the shift at `split` is abrupt: a jump that stands out, at the detector's level
 * (JUMP_Z), beyond any trend through it, judged in the ABRUPT_WINDOW points on each side.
 * - On a local trend (seasonality, a fast drift): the jump in a line with one slope fitted across
 *   the split, to the ranks within the window (`checkJump`; counts are too coarse for fitted
 *   lines and skip this).
 * - Otherwise: the difference of the two sides' means (of the ranks, or of the counts), less what the segment's slope (a line plus
 *   a step at the split, fitted to the whole segment) predicts over that distance. A slow drift's
 *   neighbouring sides differ by about that much, a step's by much more. The segment's slope is
 *   estimated from far more points than a local one, so the step keeps its power; and the other
 *   steps of a staircase tilt it without sending the split to the stricter local test.
 */
function isAbrupt(r: ArrayLike<number>, split: number, checkJump = true): boolean {
  const half = Math.min(ABRUPT_WINDOW, split, r.length - split);
  if (half < MIN_ABRUPT_WINDOW) return true;
  const window = Float64Array.from({ length: 2 * half }, (_, i) => r[split - half + i]!);
  if (checkJump) {
    // Ranks within the window: on a smooth trend they rise about linearly, as the fitted line
    // assumes, whereas the segment's ranks bend with the distribution of the whole segment (a
    // seasonal swing's values crowd at its extremes) and mimic a jump.
    const local = fitStep(ranks(window).ranks, 0, half, 2 * half);
    if (Math.abs(local.slopeT) >= TREND_T) return local.jumpZ >= JUMP_Z;
  }
  const near = fitStep(window, 0, half, 2 * half);
  const segment = fitStep(r, 0, split, r.length);
  const beyondTrend = near.stepOnly - segment.slope * half;
  const standardError = Math.hypot(near.stepOnlySe, half * segment.slopeSe);
  return (
    beyondTrend !== 0 &&
    Math.sign(beyondTrend) === Math.sign(near.stepOnly) &&
    Math.abs(beyondTrend) >= (checkJump ? JUMP_Z : COUNT_JUMP_Z) * standardError
  );
}

/**
 * How many standard errors a jump must stand out beyond the trend (see isAbrupt). Its candidates
 * are chosen among many — the strongest split of a segment, or the strongest positions of the
 * local scan, where noise on a swing or a drift gives jumps of 3 standard errors at one of them —
 * so the jump must pass the detector's default level (0.001), Bonferroni over the candidates of
 * both bandwidths (about 3.9).
 */
const JUMP_Z = normalQuantileUpper(0.001 / (2 * LOCAL_BANDWIDTHS.length * LOCAL_CANDIDATES));
/**
 * The same for sparse counts, lower: their windows hold few events, where the normal approximation
 * of a difference of means is conservative, and every candidate has already passed a Poisson rate
 * test at a Bonferroni level.
 */
const COUNT_JUMP_Z = 3;

/**
 * Fits y = a + b·x + c·[x ≥ split] to the `w` points on each side of `split` (one slope for both
 * sides: a seasonal swing or a drift is smooth there; c the jump) and returns, in standard errors
 * widened for AR(1) correlation of the residuals: the jump (`jumpZ`: near 0 where a swing merely
 * slopes through the split, large at a step) and the slope (`slopeT`); also the slope per point
 * with its standard error, and the jump of the model without a slope (`stepOnly`: the difference
 * of the two sides' means) with its standard error.
 */
function fitStep(r: ArrayLike<number>, start: number, split: number, end: number): StepFit {
  const n = end - start;
  const w = split - start;
  const after = (n - w) / n; // the step indicator's mean: centred, like x
  let sy = 0;
  for (let i = 0; i < n; i++) sy += r[start + i]!;
  const meanY = sy / n;
  const meanX = (n - 1) / 2;
  let sxx = 0;
  let sxd = 0;
  let sdd = 0;
  let sxy = 0;
  let sdy = 0;
  for (let i = 0; i < n; i++) {
    const x = i - meanX;
    const d = (i >= w ? 1 : 0) - after;
    const y = r[start + i]! - meanY;
    sxx += x * x;
    sxd += x * d;
    sdd += d * d;
    sxy += x * y;
    sdy += d * y;
  }
  const determinant = sxx * sdd - sxd * sxd;
  const infinite = Number.POSITIVE_INFINITY;
  if (!(determinant > 0))
    return { jumpZ: infinite, slopeT: 0, slope: 0, slopeSe: 0, stepOnly: sdy / sdd, stepOnlySe: 0, phi: 0 };
  const slope = (sdd * sxy - sxd * sdy) / determinant;
  const jump = (sxx * sdy - sxd * sxy) / determinant;
  const residuals = new Float64Array(n);
  let squares = 0;
  for (let i = 0; i < n; i++) {
    const e = r[start + i]! - meanY - slope * (i - meanX) - jump * ((i >= w ? 1 : 0) - after);
    residuals[i] = e;
    squares += e * e;
  }
  const phi = Math.min(MAX_AUTOCORRELATION, Math.max(0, lag1Autocorrelation(residuals)));
  const inflation = (1 + phi) / (1 - phi);
  const variance = (squares / (n - 3)) * inflation;
  // Curvature the line misses (a seasonal swing) looks like autocorrelation in the residuals; the
  // first differences are blind to it (see varianceInflation), so the slope takes the smaller of
  // the two estimates: a swing's slope stays significant. The jumps keep the residuals' estimate:
  // where a line with a step fits the window badly, the difference of its sides' means says less.
  const differences = new Float64Array(n - 1);
  for (let i = 1; i < n; i++) differences[i - 1] = r[start + i]! - r[start + i - 1]!;
  const phiLocal = Math.min(phi, Math.max(0, 1 + 2 * lag1Autocorrelation(differences)));
  const inflationLocal = (1 + phiLocal) / (1 - phiLocal);
  const varianceLocal = (squares / (n - 3)) * inflationLocal;
  // Step-only model: the jump is the difference of the sides' means, sdy / sdd; its residuals
  // are those of the full model plus the slope's share, whose variance the full fit already bounds.
  const stepOnly = sdy / sdd;
  if (!(variance > 0)) {
    // A noiseless window: any jump or slope is exact.
    return {
      jumpZ: jump === 0 ? 0 : infinite,
      slopeT: slope === 0 ? 0 : infinite,
      slope,
      slopeSe: 0,
      stepOnly,
      stepOnlySe: 0,
      phi,
    };
  }
  const stepOnlyVariance = (squares + slope * slope * (sxx - (sxd * sxd) / sdd)) / (n - 2);
  const slopeSe = Math.sqrt((varianceLocal * sdd) / determinant);
  return {
    jumpZ: Math.abs(jump) / Math.sqrt((variance * sxx) / determinant),
    slopeT: slope / slopeSe,
    slope,
    slopeSe,
    stepOnly,
    stepOnlySe: Math.sqrt((stepOnlyVariance * inflation) / sdd),
    phi,
  };
}

interface StepFit {
  readonly jumpZ: number;
  readonly slopeT: number;
  readonly slope: number;
  readonly slopeSe: number;
  readonly stepOnly: number;
  readonly stepOnlySe: number;
  /** Lag-1 autocorrelation of the residuals, in [0, MAX_AUTOCORRELATION]. */
  readonly phi: number;
}

/**
 * Sparse event counts — mostly zeros, small non-negative integers, variance about the mean (as
 * Poisson counts have) — where ranks tie too much. Integer metrics that merely contain many zeros
 * (GC pause milliseconds, on/off values) are far more dispersed and take the rank path.
 */
function isSparseCounts(xs: readonly number[]): boolean {
  let zeros = 0;
  let sum = 0;
  for (const x of xs) {
    if (x < 0 || !Number.isInteger(x)) return false;
    if (x === 0) zeros++;
    sum += x;
  }
  if (zeros < xs.length * 0.3) return false;
  return sum === 0 || dispersion(xs) <= MAX_POISSON_DISPERSION;
}

/** Counts whose variance exceeds their mean by more than this are not treated as Poisson. */
const MAX_POISSON_DISPERSION = 2;

/** Variance / mean: 1 for Poisson counts. */
function dispersion(xs: readonly number[]): number {
  const { mean, stddev } = summarize(xs);
  return mean > 0 ? (stddev * stddev) / mean : 1;
}

/**
 * Re-locates each change between its final neighbours: the first search placed it within a
 * segment that may have held other changes, which pulls the maximum of the statistic off the
 * true position.
 */
function refine(
  xs: readonly number[],
  cuts: readonly number[],
  minSegment: number,
  sparse: boolean,
): number[] {
  const refined = [...cuts];
  for (let i = 0; i < refined.length; i++) {
    const from = i === 0 ? 0 : refined[i - 1]!;
    const to = i === refined.length - 1 ? xs.length : refined[i + 1]!;
    if (sparse) {
      refined[i] = from + bestRateSplit(xs.slice(from, to), minSegment, refined[i]! - from);
      continue;
    }
    const { ranks: r } = ranks(xs.slice(from, to));
    const { split: best } = bestRankSplit(r, minSegment, 1);
    // A gradual maximum (a seasonal swing between the neighbours) is no better place for a step.
    if (best < 0 || !isAbrupt(r, best)) continue;
    refined[i] = from + best;
  }
  for (let i = 0; i < refined.length && !sparse; i++) {
    const from = i === 0 ? 0 : refined[i - 1]!;
    const to = i === refined.length - 1 ? xs.length : refined[i + 1]!;
    refined[i] = nearestL1Split(xs, from, placeStep(xs, from, refined[i]!, to, minSegment), to, minSegment);
  }
  return [...new Set(refined)].sort((a, b) => a - b);
}

/** Points on each side of a split that the autocorrelation-aware placement fits. */
const PLACE_WINDOW = 100;
/** How far (in points) that placement may move a split. */
const PLACE_REACH = 15;

/**
 * The split within PLACE_REACH of `split` where a line plus a step, with AR(1) errors, fits the
 * ranks of the neighbouring values best (least squares on the prewhitened ranks, y_t − φ·y_{t−1},
 * φ from the residuals at the current split): the maximum-likelihood position of a step under
 * that model. The rank statistic of the search assumes independent values and no trend: under
 * autocorrelation its maximum wanders with the noise's slow swings, on a seasonal swing it is
 * pulled towards the swing. Prewhitened, the step is one sharp point (its full size at the step,
 * (1 − φ) of it after), which pins it down; the line absorbs a trend through it.
 */
function placeStep(
  xs: readonly number[],
  from: number,
  split: number,
  to: number,
  minSegment: number,
): number {
  const start = Math.max(from, split - PLACE_WINDOW);
  const end = Math.min(to, split + PLACE_WINDOW);
  const low = Math.max(from + minSegment, split - PLACE_REACH, start + 1);
  const high = Math.min(to - minSegment, split + PLACE_REACH, end - 1);
  if (high <= low || end - start < 2 * MIN_ABRUPT_WINDOW) return split;
  const { ranks: y } = ranks(xs.slice(start, end));
  const phi = fitStep(y, 0, split - start, y.length).phi;
  // Prewhitened values z_t (t = 1 … m − 1 in the window), residualised on a constant and a line
  // (whose prewhitened forms span the same space), with the time index centred.
  const m = y.length;
  const length = m - 1;
  const meanT = m / 2; // of t = 1 … m − 1
  let sumZ = 0;
  let sumTZ = 0;
  let sumTT = 0;
  const z = new Float64Array(m);
  for (let t = 1; t < m; t++) {
    z[t] = y[t]! - phi * y[t - 1]!;
    sumZ += z[t]!;
  }
  const meanZ = sumZ / length;
  for (let t = 1; t < m; t++) {
    sumTZ += (t - meanT) * (z[t]! - meanZ);
    sumTT += (t - meanT) ** 2;
  }
  const slope = sumTZ / sumTT;
  for (let t = 1; t < m; t++) z[t] = z[t]! - meanZ - slope * (t - meanT);
  // The prewhitened step at k is g_t = 0 before k, 1 at k, 1 − φ after: its products with z, 1 and
  // t from sums over t > k, kept from the end of the window backwards.
  const candidates = new Map<number, number>();
  let afterZ = 0;
  let afterOne = 0;
  let afterT = 0;
  for (let k = m - 1; k >= low - start; k--) {
    if (k <= high - start) {
      const gz = z[k]! + (1 - phi) * afterZ;
      const gOne = 1 + (1 - phi) * afterOne;
      const gT = k - meanT + (1 - phi) * afterT;
      const gg = 1 + (1 - phi) ** 2 * afterOne;
      const residualNorm = gg - (gOne * gOne) / length - (gT * gT) / sumTT;
      if (residualNorm > 0) candidates.set(start + k, (gz * gz) / residualNorm);
    }
    afterZ += z[k]!;
    afterOne += 1;
    afterT += k - meanT;
  }
  let best = split;
  let bestFit = candidates.get(split) ?? Number.NEGATIVE_INFINITY;
  for (const [k, fit] of candidates) {
    if (fit > bestFit) {
      bestFit = fit;
      best = k;
    }
  }
  return best;
}

/** How far (in points) the value-scale placement may move a split found on ranks. */
const L1_REACH = 3;
/** Points on each side of a split that the value-scale placement compares. */
const L1_WINDOW = 60;

/**
 * The split within L1_REACH of `split` where two levels fit the neighbouring values best (least
 * absolute deviations from each side's median, robust to outliers). Ranks keep no magnitudes: at
 * a step to a near-constant level, the last value before it may rank next to the values after it
 * and pull the rank statistic's maximum one point early.
 */
function nearestL1Split(
  xs: readonly number[],
  from: number,
  split: number,
  to: number,
  minSegment: number,
): number {
  const start = Math.max(from, split - L1_WINDOW);
  const end = Math.min(to, split + L1_WINDOW);
  const cost = (a: number, b: number) => {
    const side = xs.slice(a, b).sort((x, y) => x - y);
    const median = side[Math.floor(side.length / 2)]!;
    let sum = 0;
    for (const x of side) sum += Math.abs(x - median);
    return sum;
  };
  let best = split;
  let bestCost = cost(start, split) + cost(split, end);
  for (let c = split - L1_REACH; c <= split + L1_REACH; c++) {
    if (c === split || c - from < minSegment || to - c < minSegment) continue;
    const total = cost(start, c) + cost(c, end);
    if (total < bestCost) {
      bestCost = total;
      best = c;
    }
  }
  return best;
}

/**
 * The maximum-likelihood split of a count segment under a Poisson model with one rate on each
 * side: the split maximizing the log-likelihood ratio S₁ ln(S₁/k) + S₂ ln(S₂/(n−k)) − S ln(S/n).
 * It places a rate change more precisely than the largest standardized difference, which favours
 * splits near the middle of the segment.
 */
function bestRateSplit(counts: readonly number[], minSegment: number, fallback: number): number {
  const n = counts.length;
  const prefix = new Float64Array(n + 1);
  for (let k = 0; k < n; k++) prefix[k + 1] = prefix[k]! + counts[k]!;
  const total = prefix[n]!;
  if (total === 0) return fallback;
  const xLogRate = (sum: number, length: number) => (sum > 0 ? sum * Math.log(sum / length) : 0);
  let best = fallback;
  let bestRatio = Number.NEGATIVE_INFINITY;
  for (let k = minSegment; k <= n - minSegment; k++) {
    const before = prefix[k]!;
    const ratio = xLogRate(before, k) + xLogRate(total - before, n - k);
    if (ratio > bestRatio) {
      bestRatio = ratio;
      best = k;
    }
  }
  return best;
}

/** Re-tests each change between its neighbours; drops the weakest failure and repeats. */
function confirm(xs: readonly number[], cuts: readonly number[], alpha: number, sparse: boolean) {
  let kept = [...cuts];
  for (;;) {
    const tested = kept.map((cut, i) => {
      const from = i === 0 ? 0 : kept[i - 1]!;
      const to = i === kept.length - 1 ? xs.length : kept[i + 1]!;
      return { cut, from, to, pValue: pValueOf(xs, from, cut, to, sparse) };
    });
    const failures = tested.filter((t) => !(t.pValue < alpha));
    if (failures.length === 0) return tested;
    const weakest = failures.reduce((a, b) => (b.pValue > a.pValue ? b : a));
    kept = kept.filter((cut) => cut !== weakest.cut);
  }
}

function pValueOf(xs: readonly number[], from: number, cut: number, to: number, sparse: boolean): number {
  const before = xs.slice(from, cut);
  const after = xs.slice(cut, to);
  if (sparse) return poissonRatePValue(before, after);
  const { ranks: r, tieTerm } = ranks([...before, ...after]);
  const inflation = varianceInflation(r, before.length);
  const test = mannWhitney(before, after);
  // Untied and one side short: the exact tail (see exactZ), widened for autocorrelation alike.
  const z = tieTerm === 0 ? exactZ(r, before.length, test.z) : Math.abs(test.z);
  return Math.min(1, 2 * normalUpperTail(z / Math.sqrt(inflation)));
}

/**
 * Conditional test of two Poisson rates: given the total count, the count after the change is
 * binomial with p = n_after / n; normal approximation, two-sided.
 */
function poissonRatePValue(before: readonly number[], after: readonly number[]): number {
  const sumBefore = before.reduce((a, b) => a + b, 0);
  const sumAfter = after.reduce((a, b) => a + b, 0);
  const total = sumBefore + sumAfter;
  if (total === 0) return 1;
  const p = after.length / (before.length + after.length);
  // Quasi-Poisson: extra variance (within each side, so the change itself does not count) widens the test.
  const overdispersion = Math.max(
    1,
    (dispersion(before) * before.length + dispersion(after) * after.length) / (before.length + after.length),
  );
  const z = (sumAfter - total * p) / Math.sqrt(total * p * (1 - p) * overdispersion);
  return Math.min(1, 2 * normalUpperTail(Math.abs(z)));
}

/** Points on each side of a change that tell its direction when the whole sides disagree (see describe). */
const DIRECTION_WINDOW = 25;

function describe(
  xs: readonly number[],
  positions: readonly number[],
  from: number,
  cut: number,
  to: number,
  pValue: number,
  sparse: boolean,
  atStep = true,
): ChangePoint {
  const before = xs.slice(from, cut);
  const after = xs.slice(cut, to);
  let hl = hodgesLehmann(before, after);
  let beforeSummary: Summary | undefined;
  let afterSummary: Summary | undefined;
  if (atStep && !sparse) {
    // A trend through both sides (a seasonal swing) can outweigh the step between the sides'
    // whole spans: a step up on a falling swing compares as lower. The points next to the step
    // then say which way it went and by how much, and they are the windows described.
    const nearBefore = before.slice(-DIRECTION_WINDOW);
    const nearAfter = after.slice(0, DIRECTION_WINDOW);
    const near = hodgesLehmann(nearBefore, nearAfter);
    if (near.shift * hl.shift < 0) {
      hl = near;
      beforeSummary = summarize(nearBefore);
      afterSummary = summarize(nearAfter);
    }
  }
  beforeSummary ??= summarize(before);
  afterSummary ??= summarize(after);
  // For sparse counts, and discrete values where the median shift is 0 although the
  // distribution moved, the mean difference says more.
  const byMean = sparse || (hl.shift === 0 && afterSummary.mean !== beforeSummary.mean);
  const shift = byMean ? afterSummary.mean - beforeSummary.mean : hl.shift;
  const reference = byMean ? beforeSummary.mean : beforeSummary.median;
  return {
    index: positions[cut]!,
    before: beforeSummary,
    after: afterSummary,
    shift,
    // No interval for a mean difference: NaN says "not computed" rather than a zero-width interval.
    shiftLow: byMean ? Number.NaN : hl.low,
    shiftHigh: byMean ? Number.NaN : hl.high,
    relativeChange: reference === 0 ? Number.NaN : shift / Math.abs(reference),
    pValue,
    test: sparse ? 'poisson-rate' : 'mann-whitney',
    direction: shift > 0 || (shift === 0 && afterSummary.mean > beforeSummary.mean) ? 'up' : 'down',
  };
}

/** Lag-1 autocorrelation of the values below which no period is looked for (white noise has ~0). */
const PERIOD_MIN_LAG1 = 0.3;
/** How high the autocorrelation at a period must peak, and how far above the trough before it. */
const PERIOD_MIN_PEAK = 0.3;
/** Fewest whole periods in the series for its profile to be told from level shifts. */
const PERIOD_MIN_CYCLES = 3;
/**
 * How far the autocorrelation at the period must rise above that at half of it: where level
 * shifts lift every lag, their wiggles are no cycle.
 */
const PERIOD_MIN_DEPTH = 0.1;
/** How deep the second period must peak, as a share of the first's depth. */
const PERIOD_MIN_REPEAT = 0.75;

/**
 * The period (in points) of a regular cycle in the series — hourly batch load, a daily swing over
 * several days — or 0: the first lag where the autocorrelation of the ranks peaks at least
 * PERIOD_MIN_PEAK high and that share of the room above its trough before it, again at twice the
 * lag, with PERIOD_MIN_CYCLES periods in the series. The autocorrelations of noise, autocorrelated
 * or not, and of level shifts only decay. Only looked for where neighbouring values correlate
 * (PERIOD_MIN_LAG1): a cycle too weak for that barely moves the detector either.
 */
function periodOf(xs: readonly number[], minSegment: number): number {
  const n = xs.length;
  const longest = Math.floor(n / PERIOD_MIN_CYCLES);
  const shortest = 4 * minSegment;
  if (longest <= shortest) return 0;
  if (lag1Autocorrelation(xs) < PERIOD_MIN_LAG1) return 0;
  const { ranks: r } = ranks(xs);
  const acf = autocorrelations(r, 2 * longest + 1);
  let trough = 1;
  let first = 0;
  for (let k = 1; k <= longest && first === 0; k++) {
    const value = acf[k]!;
    if (value < trough) trough = value;
    // The depth is relative to the room above the trough: level shifts add a slowly decaying
    // share to every lag, which lifts the trough and leaves the cycle less room.
    if (k >= shortest && value >= PERIOD_MIN_PEAK && value - trough >= PERIOD_MIN_PEAK * (1 - trough)) {
      // The top of this peak: the highest point before the next could begin.
      let top = k;
      for (let j = k + 1; j <= Math.min(longest, Math.floor(1.5 * k)); j++) if (acf[j]! > acf[top]!) top = j;
      first = top;
    }
  }
  if (first === 0) return 0;
  // A cycle swings (PERIOD_MIN_DEPTH) and repeats: the next period must peak over the half-period
  // before it about as much (the wiggles of a random walk's autocorrelation do not come back at the
  // same spacing). Compared unbiased: the estimate at lag k sums n − k products over n.
  const unbiased = (k: number) => (acf[k]! * n) / (n - k);
  const depth = unbiased(first) - unbiased(Math.round(first / 2));
  const again = unbiased(2 * first) - unbiased(Math.round(1.5 * first));
  if (depth < PERIOD_MIN_DEPTH || again < PERIOD_MIN_REPEAT * depth) return 0;
  // The peak at the furthest whole multiple of the period that fits places it to a fraction of a
  // point, which keeps the phases of the last cycles in step with the first.
  const multiple = Math.max(1, Math.floor(longest / first));
  const reach = Math.max(1, Math.floor(first / 4));
  let peak = multiple * first;
  for (let k = Math.max(1, peak - reach); k <= Math.min(acf.length - 1, peak + reach); k++) {
    if (acf[k]! > acf[peak]!) peak = k;
  }
  return peak / multiple;
}

/**
 * The values less the cycle's profile: for each phase of the period, the median over the cycles
 * of the values' deviations from their moving mean over one period (which follows level shifts,
 * so the profile holds the cycle only). Steps stay as they were; the cycle no longer looks like
 * one every half period.
 */
function withoutSeason(xs: readonly number[], positions: readonly number[], period: number): number[] {
  const n = xs.length;
  const bins = Math.round(period);
  const phase = (i: number) => Math.floor(((positions[i]! % period) / period) * bins) % bins;
  const prefix = new Float64Array(n + 1);
  for (let i = 0; i < n; i++) prefix[i + 1] = prefix[i]! + xs[i]!;
  const half = Math.floor(bins / 2);
  const byPhase: number[][] = Array.from({ length: bins }, () => []);
  for (let i = 0; i < n; i++) {
    const from = Math.max(0, i - half);
    const to = Math.min(n, i - half + bins);
    const level = (prefix[to]! - prefix[from]!) / (to - from);
    byPhase[phase(i)]!.push(xs[i]! - level);
  }
  const profile = byPhase.map((deviations) => {
    if (deviations.length === 0) return 0;
    deviations.sort((a, b) => a - b);
    return deviations[Math.floor(deviations.length / 2)]!;
  });
  const centre = profile.reduce((a, b) => a + b, 0) / bins;
  const adjusted = xs.map((x, i) => x - (profile[phase(i)]! - centre));
  // Sums near the limits of doubles overflow: then the values as they are.
  return adjusted.every(Number.isFinite) ? adjusted : [...xs];
}
