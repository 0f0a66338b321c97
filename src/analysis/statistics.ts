/**
 * Descriptive statistics and the rank tests the detectors share. Plain functions over arrays of
 * finite numbers; callers drop gaps (null/NaN) before calling.
 */

export interface Summary {
  readonly n: number;
  readonly mean: number;
  readonly median: number;
  readonly stddev: number;
  readonly p95: number;
  readonly min: number;
  readonly max: number;
}

/** Linear-interpolated quantile of an ascending array (as numpy's default and DuckDB's quantile_cont). */
function quantileOfSorted(ascending: ArrayLike<number>, q: number): number {
  const n = ascending.length;
  if (n === 0) return Number.NaN;
  const position = (n - 1) * q;
  const low = Math.floor(position);
  const high = Math.ceil(position);
  return ascending[low]! + (ascending[high]! - ascending[low]!) * (position - low);
}

export function summarize(values: readonly number[]): Summary {
  const n = values.length;
  if (n === 0)
    return {
      n: 0,
      mean: Number.NaN,
      median: Number.NaN,
      stddev: Number.NaN,
      p95: Number.NaN,
      min: Number.NaN,
      max: Number.NaN,
    };
  let sum = 0;
  for (const value of values) sum += value;
  const mean = sum / n;
  let squares = 0;
  for (const value of values) squares += (value - mean) ** 2;
  const ascending = Float64Array.from(values).sort();
  return {
    n,
    mean,
    median: quantileOfSorted(ascending, 0.5),
    stddev: n > 1 ? Math.sqrt(squares / (n - 1)) : 0,
    p95: quantileOfSorted(ascending, 0.95),
    min: ascending[0]!,
    max: ascending[n - 1]!,
  };
}

/**
 * Mid-ranks (1-based; ties share their average rank) and the tie correction term
 * Σ(t³ − t) over groups of tied values, as the Mann–Whitney variance needs it.
 */
export function ranks(values: ArrayLike<number>): { ranks: Float64Array; tieTerm: number } {
  const n = values.length;
  // The values sorted together with their positions, by a monomorphic quicksort on typed arrays:
  // then each run of equal values gets its average rank at once. Several times faster than a
  // comparator sort of indices, and than a native sort followed by a value → rank lookup (ranks
  // are the detector's hot path).
  const keys = Float64Array.from(values);
  const order = new Int32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  sortTogether(keys, order, 0, n - 1);
  const out = new Float64Array(n);
  let tieTerm = 0;
  for (let i = 0; i < n; ) {
    let j = i + 1;
    while (j < n && keys[j] === keys[i]) j++;
    const t = j - i;
    if (t > 1) tieTerm += t * t * t - t;
    const rank = (i + j + 1) / 2; // average of ranks i+1 … j
    for (let k = i; k < j; k++) out[order[k]!] = rank;
    i = j;
  }
  return { ranks: out, tieTerm };
}

/** Sorts keys[low..high] ascending, moving payload[] along (quicksort, median of three, insertion sort below 16). */
function sortTogether(keys: Float64Array, payload: Int32Array, low: number, high: number): void {
  while (high - low >= 16) {
    const middle = (low + high) >>> 1;
    // Median of three to keys[middle], then partition around it (Hoare).
    if (keys[middle]! < keys[low]!) swap(keys, payload, middle, low);
    if (keys[high]! < keys[low]!) swap(keys, payload, high, low);
    if (keys[high]! < keys[middle]!) swap(keys, payload, high, middle);
    const pivot = keys[middle]!;
    let i = low;
    let j = high;
    while (i <= j) {
      while (keys[i]! < pivot) i++;
      while (keys[j]! > pivot) j--;
      if (i <= j) {
        swap(keys, payload, i, j);
        i++;
        j--;
      }
    }
    // Recurse into the smaller side, loop on the larger: the stack stays O(log n).
    if (j - low < high - i) {
      sortTogether(keys, payload, low, j);
      low = i;
    } else {
      sortTogether(keys, payload, i, high);
      high = j;
    }
  }
  for (let i = low + 1; i <= high; i++) {
    const key = keys[i]!;
    const item = payload[i]!;
    let j = i - 1;
    while (j >= low && keys[j]! > key) {
      keys[j + 1] = keys[j]!;
      payload[j + 1] = payload[j]!;
      j--;
    }
    keys[j + 1] = key;
    payload[j + 1] = item;
  }
}

function swap(keys: Float64Array, payload: Int32Array, a: number, b: number): void {
  const key = keys[a]!;
  keys[a] = keys[b]!;
  keys[b] = key;
  const item = payload[a]!;
  payload[a] = payload[b]!;
  payload[b] = item;
}

/** Standard normal upper tail P(Z > z), by the complementary error function (Numerical Recipes erfc). */
export function normalUpperTail(z: number): number {
  return 0.5 * erfc(z / Math.SQRT2);
}

function erfc(x: number): number {
  const z = Math.abs(x);
  const t = 1 / (1 + 0.5 * z);
  const r =
    t *
    Math.exp(
      -z * z -
        1.26551223 +
        t *
          (1.00002368 +
            t *
              (0.37409196 +
                t *
                  (0.09678418 +
                    t *
                      (-0.18628806 +
                        t *
                          (0.27886807 +
                            t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))),
    );
  return x >= 0 ? r : 2 - r;
}

/** The z with P(Z > z) = p, by bisection on normalUpperTail (accurate to ~1e-9; p in (0, 1)). */
export function normalQuantileUpper(p: number): number {
  let low = -40;
  let high = 40;
  for (let i = 0; i < 100; i++) {
    const middle = (low + high) / 2;
    if (normalUpperTail(middle) > p) low = middle;
    else high = middle;
  }
  return (low + high) / 2;
}

export interface MannWhitneyResult {
  /** U of the second sample (`after`): how often an `after` value exceeds a `before` value. */
  readonly u: number;
  readonly z: number;
  /** Two-sided p-value, normal approximation with tie and autocorrelation corrections. */
  readonly pValue: number;
}

/**
 * Mann–Whitney U test of `after` against `before`, two-sided, normal approximation with the tie
 * correction. `varianceInflation` (≥ 1) widens the variance for autocorrelated samples, whose
 * effective size is smaller than their count.
 */
export function mannWhitney(
  before: readonly number[],
  after: readonly number[],
  varianceInflation = 1,
): MannWhitneyResult {
  const n1 = before.length;
  const n2 = after.length;
  const { ranks: r, tieTerm } = ranks([...before, ...after]);
  let rankSumAfter = 0;
  for (let i = n1; i < n1 + n2; i++) rankSumAfter += r[i]!;
  const u = rankSumAfter - (n2 * (n2 + 1)) / 2;
  const n = n1 + n2;
  const variance = ((n1 * n2) / 12) * (n + 1 - tieTerm / (n * (n - 1))) * varianceInflation;
  const z = variance > 0 ? (u - (n1 * n2) / 2) / Math.sqrt(variance) : 0;
  return { u, z, pValue: Math.min(1, 2 * normalUpperTail(Math.abs(z))) };
}

/**
 * Exact lower tail P(U ≤ u) of the Mann–Whitney U of samples of sizes `m` and `n` without ties,
 * under the null: the number of arrangements with U ≤ u is the sum of the first u + 1
 * coefficients of the Gaussian binomial [m + n choose n]_q = ∏ᵢ (1 − q^{m+i}) / (1 − q^i), built
 * here truncated to degree u (O(min(m, n) · u)), over C(m + n, n). The normal approximation is far
 * too wide in the extreme tail when one sample is small: 6 points all above 120 others have an
 * exact p of about 2e-10, where the approximation says 4e-5.
 */
export function mannWhitneyExactLowerTail(u: number, m: number, n: number): number {
  const small = Math.min(m, n);
  const large = Math.max(m, n);
  const top = Math.floor(u);
  if (top < 0) return 0;
  if (top >= small * large) return 1;
  const coefficients = new Float64Array(top + 1);
  coefficients[0] = 1;
  for (let i = 1; i <= small; i++) {
    // × (1 − q^{large+i}): subtract the shifted copy, from the top down.
    for (let d = top; d >= large + i; d--) coefficients[d]! -= coefficients[d - large - i]!;
    // ÷ (1 − q^i): running sums with stride i.
    for (let d = i; d <= top; d++) coefficients[d]! += coefficients[d - i]!;
  }
  let count = 0;
  for (let d = 0; d <= top; d++) count += coefficients[d]!;
  // C(m + n, small) in logs: it overflows no double, but its factorials would.
  const logTotal = logGamma(m + n + 1) - logGamma(small + 1) - logGamma(large + 1);
  return Math.min(1, Math.exp(Math.log(count) - logTotal));
}

/**
 * Mann–Whitney U between two histograms over the same buckets (`before[i]`, `after[i]`
 * observations in bucket i): observations in one bucket tie. Also the probability of
 * superiority U / (n₁n₂) — how often an observation after exceeds one before (ties count half).
 */
export function binnedMannWhitney(
  before: readonly number[],
  after: readonly number[],
): MannWhitneyResult & { superiority: number } {
  let n1 = 0;
  let n2 = 0;
  let u = 0;
  let tieTerm = 0;
  for (let i = 0; i < Math.max(before.length, after.length); i++) {
    const a = before[i] ?? 0;
    const b = after[i] ?? 0;
    u += b * (n1 + a / 2);
    n1 += a;
    n2 += b;
    const t = a + b;
    tieTerm += t * t * t - t;
  }
  const n = n1 + n2;
  if (n1 === 0 || n2 === 0) return { u: 0, z: 0, pValue: 1, superiority: Number.NaN };
  const variance = ((n1 * n2) / 12) * (n + 1 - tieTerm / (n * (n - 1)));
  const z = variance > 0 ? (u - (n1 * n2) / 2) / Math.sqrt(variance) : 0;
  return { u, z, pValue: Math.min(1, 2 * normalUpperTail(Math.abs(z))), superiority: u / (n1 * n2) };
}

/**
 * Hodges–Lehmann estimate of the shift (after − before): the median of all pairwise differences,
 * with a confidence interval from their order statistics. Large samples are thinned evenly to at
 * most `maxPerSide` values each, which keeps this O(maxPerSide² log) whatever the window.
 */
export function hodgesLehmann(
  before: readonly number[],
  after: readonly number[],
  confidence = 0.95,
  maxPerSide = 200,
): { shift: number; low: number; high: number } {
  const a = thin(before, maxPerSide);
  const b = thin(after, maxPerSide);
  const differences = new Float64Array(a.length * b.length);
  let k = 0;
  for (const y of b) for (const x of a) differences[k++] = y - x;
  differences.sort();
  const m = a.length;
  const n = b.length;
  const z = normalQuantileUpper((1 - confidence) / 2);
  const spread = z * Math.sqrt((m * n * (m + n + 1)) / 12);
  const lowIndex = Math.max(0, Math.floor((m * n) / 2 - spread));
  const highIndex = Math.min(m * n - 1, Math.ceil((m * n) / 2 + spread) - 1);
  return {
    shift: quantileOfSorted(differences, 0.5),
    low: differences[lowIndex]!,
    high: differences[Math.max(lowIndex, highIndex)]!,
  };
}

function thin(values: readonly number[], limit: number): readonly number[] {
  if (values.length <= limit) return values;
  const step = values.length / limit;
  return Array.from({ length: limit }, (_, i) => values[Math.floor(i * step)]!);
}

/** Lag-1 autocorrelation of a sequence (0 for fewer than 3 values or no variance). */
export function lag1Autocorrelation(values: ArrayLike<number>): number {
  const n = values.length;
  if (n < 3) return 0;
  let mean = 0;
  for (let i = 0; i < n; i++) mean += values[i]!;
  mean /= n;
  let numerator = 0;
  let denominator = 0;
  for (let i = 0; i < n; i++) {
    const d = values[i]! - mean;
    denominator += d * d;
    if (i > 0) numerator += d * (values[i - 1]! - mean);
  }
  return denominator > 0 ? numerator / denominator : 0;
}

/** Summary plus the upper quantiles a benchmark reports (p50 equals the median). */
export interface Distribution extends Summary {
  readonly p50: number;
  readonly p90: number;
  readonly p99: number;
}

export function describeDistribution(values: readonly number[]): Distribution {
  const summary = summarize(values);
  const ascending = Float64Array.from(values).sort();
  return {
    ...summary,
    p50: summary.median,
    p90: quantileOfSorted(ascending, 0.9),
    p99: quantileOfSorted(ascending, 0.99),
  };
}

export interface WelchResult {
  /** mean(after) − mean(before). */
  readonly difference: number;
  readonly t: number;
  /** Welch–Satterthwaite degrees of freedom. */
  readonly df: number;
  /** Two-sided p-value from Student's t with `df` degrees of freedom. */
  readonly pValue: number;
}

/**
 * Welch's unequal-variance t-test of `after` against `before`, two-sided: the test for a change of
 * the mean (reported beside the rank test, which compares medians and is robust to outliers). Needs
 * two values on each side; with no variance on either side, a difference is certain (p 0) and no
 * difference is none (p 1).
 */
export function welchT(before: readonly number[], after: readonly number[]): WelchResult {
  const a = summarize(before);
  const b = summarize(after);
  if (a.n < 2 || b.n < 2)
    return { difference: b.mean - a.mean, t: Number.NaN, df: Number.NaN, pValue: Number.NaN };
  const va = (a.stddev * a.stddev) / a.n;
  const vb = (b.stddev * b.stddev) / b.n;
  const difference = b.mean - a.mean;
  const se = Math.sqrt(va + vb);
  if (se === 0) {
    const t = difference === 0 ? 0 : Math.sign(difference) * Number.POSITIVE_INFINITY;
    return { difference, t, df: a.n + b.n - 2, pValue: difference === 0 ? 1 : 0 };
  }
  const t = difference / se;
  const df = (va + vb) ** 2 / (va ** 2 / (a.n - 1) + vb ** 2 / (b.n - 1));
  return { difference, t, df, pValue: studentTwoSided(t, df) };
}

/** P(|T| > |t|) for Student's t with `df` degrees of freedom: I_{df/(df+t²)}(df/2, 1/2). */
function studentTwoSided(t: number, df: number): number {
  return Math.min(1, regularizedBeta(df / (df + t * t), df / 2, 0.5));
}

/** Regularized incomplete beta I_x(a, b), by its continued fraction (Numerical Recipes betai). */
function regularizedBeta(x: number, a: number, b: number): number {
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  const front = Math.exp(logGamma(a + b) - logGamma(a) - logGamma(b) + a * Math.log(x) + b * Math.log(1 - x));
  // The fraction converges fast on the side of the mean; use the symmetry I_x(a,b) = 1 − I_{1−x}(b,a).
  return x < (a + 1) / (a + b + 2)
    ? (front * betaFraction(x, a, b)) / a
    : 1 - (front * betaFraction(1 - x, b, a)) / b;
}

function betaFraction(x: number, a: number, b: number): number {
  const tiny = 1e-300;
  let c = 1;
  let d = 1 - ((a + b) * x) / (a + 1);
  if (Math.abs(d) < tiny) d = tiny;
  d = 1 / d;
  let h = d;
  for (let m = 1; m <= 300; m++) {
    const m2 = 2 * m;
    let aa = (m * (b - m) * x) / ((a + m2 - 1) * (a + m2));
    d = 1 + aa * d;
    if (Math.abs(d) < tiny) d = tiny;
    c = 1 + aa / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    h *= d * c;
    aa = (-(a + m) * (a + b + m) * x) / ((a + m2) * (a + m2 + 1));
    d = 1 + aa * d;
    if (Math.abs(d) < tiny) d = tiny;
    c = 1 + aa / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    const step = d * c;
    h *= step;
    if (Math.abs(step - 1) < 1e-14) break;
  }
  return h;
}

/** ln Γ(x) for x > 0 (Lanczos, g = 7, 9 terms; ~1e-15 relative). */
function logGamma(x: number): number {
  const g = 7;
  const c = [
    0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059,
    12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
  ];
  if (x < 0.5) return Math.log(Math.PI / Math.abs(Math.sin(Math.PI * x))) - logGamma(1 - x);
  const z = x - 1;
  let sum = c[0]!;
  for (let i = 1; i < g + 2; i++) sum += c[i]! / (z + i);
  const t = z + g + 0.5;
  return 0.5 * Math.log(2 * Math.PI) + (z + 0.5) * Math.log(t) - t + Math.log(sum);
}

/**
 * Autocorrelations r(0 … maxLag) of a sequence (r(0) = 1; all 0 for a constant sequence), by the
 * Wiener–Khinchin theorem: the inverse FFT of the power spectrum of the centred values, zero-padded
 * to at least n + maxLag so that no lag wraps around. O(n log n), where the lag-by-lag sum would be
 * O(n · maxLag).
 */
export function autocorrelations(values: ArrayLike<number>, maxLag: number): Float64Array {
  const n = values.length;
  const lags = Math.max(0, Math.min(maxLag, n - 1));
  let size = 2;
  while (size < n + lags) size *= 2;
  const re = new Float64Array(size);
  const im = new Float64Array(size);
  let mean = 0;
  for (let i = 0; i < n; i++) mean += values[i]!;
  mean /= n;
  for (let i = 0; i < n; i++) re[i] = values[i]! - mean;
  fft(re, im, false);
  for (let i = 0; i < size; i++) {
    re[i] = re[i]! * re[i]! + im[i]! * im[i]!;
    im[i] = 0;
  }
  fft(re, im, true);
  const out = new Float64Array(lags + 1);
  if (!(re[0]! > 0)) return out;
  for (let k = 0; k <= lags; k++) out[k] = re[k]! / re[0]!;
  return out;
}

/** In-place iterative radix-2 FFT (length a power of two); the inverse is left unscaled. */
function fft(re: Float64Array, im: Float64Array, inverse: boolean): void {
  const n = re.length;
  for (let i = 1, j = 0; i < n; i++) {
    let bit = n >> 1;
    for (; j & bit; bit >>= 1) j ^= bit;
    j ^= bit;
    if (i < j) {
      const r = re[i]!;
      re[i] = re[j]!;
      re[j] = r;
      const m = im[i]!;
      im[i] = im[j]!;
      im[j] = m;
    }
  }
  // Twiddle factors once for the largest stage; stage `length` uses every (n / length)-th.
  const cos = new Float64Array(n / 2);
  const sin = new Float64Array(n / 2);
  const sign = inverse ? 1 : -1;
  for (let k = 0; k < n / 2; k++) {
    cos[k] = Math.cos((2 * Math.PI * k) / n);
    sin[k] = sign * Math.sin((2 * Math.PI * k) / n);
  }
  for (let length = 2; length <= n; length *= 2) {
    const halfLength = length / 2;
    const stride = n / length;
    for (let start = 0; start < n; start += length) {
      for (let k = 0; k < halfLength; k++) {
        const wRe = cos[k * stride]!;
        const wIm = sin[k * stride]!;
        const a = start + k;
        const b = a + halfLength;
        const tRe = re[b]! * wRe - im[b]! * wIm;
        const tIm = re[b]! * wIm + im[b]! * wRe;
        re[b] = re[a]! - tRe;
        im[b] = im[a]! - tIm;
        re[a] = re[a]! + tRe;
        im[a] = im[a]! + tIm;
      }
    }
  }
}
