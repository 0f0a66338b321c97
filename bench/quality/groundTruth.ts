/**
 * Ground-truth series for the change-point quality benchmark: known change points under the noise
 * real metrics show. Seeded, so every run scores the same series.
 */
export interface LabelledSeries {
  readonly kind: string;
  readonly values: number[];
  /** Indices of the first point after each true change. */
  readonly changes: number[];
  /** Direction of each true change: a detection in the other direction reports an improvement as a regression. */
  readonly directions: ('up' | 'down')[];
}

/** mulberry32: a small, fast, seedable PRNG. */
export function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function gaussian(rand: () => number): () => number {
  return () => {
    const u = Math.max(rand(), 1e-12);
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rand());
  };
}

function poisson(rand: () => number, lambda: number): number {
  const limit = Math.exp(-lambda);
  let k = 0;
  let p = rand();
  while (p > limit) {
    k++;
    p *= rand();
  }
  return k;
}

/** 0–3 change positions at least `gap` apart and from the ends. */
function changePositions(rand: () => number, n: number, gap: number): number[] {
  const count = Math.floor(rand() * 4);
  const positions: number[] = [];
  for (let attempt = 0; positions.length < count && attempt < 100; attempt++) {
    const p = gap + Math.floor(rand() * (n - 2 * gap));
    if (positions.every((q) => Math.abs(q - p) >= gap)) positions.push(p);
  }
  return positions.sort((a, b) => a - b);
}

/** A level per point that steps at each change by `step()` (sign chosen at random). */
function levels(
  rand: () => number,
  n: number,
  changes: number[],
  base: number,
  step: () => number,
): number[] {
  const out: number[] = [];
  let level = base;
  let next = 0;
  for (let i = 0; i < n; i++) {
    if (next < changes.length && i === changes[next]) {
      level += (rand() < 0.5 ? -1 : 1) * step();
      next++;
    }
    out.push(level);
  }
  return out;
}

/** Up or down at each change, read off the levels. */
function directionsOf(level: readonly number[], changes: readonly number[]): ('up' | 'down')[] {
  return changes.map((c) => (level[c]! > level[c - 1]! ? 'up' : 'down'));
}

export function labelledSuite(seed = 42, perKind = 40): LabelledSeries[] {
  const rand = random(seed);
  const normal = gaussian(rand);
  const suite: LabelledSeries[] = [];
  for (let s = 0; s < perKind; s++) {
    const n = 600 + Math.floor(rand() * 2400);
    // Gaussian noise, steps of 1.5–4 σ.
    let changes = changePositions(rand, n, 60);
    let level = levels(rand, n, changes, 100, () => (1.5 + rand() * 2.5) * 5);
    suite.push({
      kind: 'gaussian',
      values: level.map((l) => l + 5 * normal()),
      changes,
      directions: directionsOf(level, changes),
    });

    // Log-normal latency: the log-level steps by ±(0.2–0.7), i.e. ×1.2 … ×2.
    changes = changePositions(rand, n, 60);
    level = levels(rand, n, changes, Math.log(120), () => 0.2 + rand() * 0.5);
    suite.push({
      kind: 'lognormal latency',
      values: level.map((l) => Math.exp(l + 0.35 * normal())),
      changes,
      directions: directionsOf(level, changes),
    });

    // AR(1) CPU (φ = 0.7), steps of 2–4 marginal σ.
    changes = changePositions(rand, n, 80);
    level = levels(rand, n, changes, 40, () => (2 + rand() * 2) * 3);
    let noise = 0;
    suite.push({
      kind: 'AR(1) cpu',
      values: level.map((l) => {
        noise = 0.7 * noise + 3 * Math.sqrt(1 - 0.49) * normal();
        return l + noise;
      }),
      changes,
      directions: directionsOf(level, changes),
    });

    // Isolated spikes (1 %, ×5) on Gaussian noise with steps.
    changes = changePositions(rand, n, 60);
    level = levels(rand, n, changes, 200, () => (2 + rand() * 2) * 8);
    suite.push({
      kind: 'spiky',
      values: level.map((l) => (rand() < 0.01 ? l * 5 : l + 8 * normal())),
      changes,
      directions: directionsOf(level, changes),
    });

    // Sparse error counts: Poisson 0.3 per point, the rate ×3 or ÷3 at a change.
    changes = changePositions(rand, n, 100);
    let rate = 0.3;
    let next = 0;
    suite.push({
      kind: 'sparse counts',
      values: Array.from({ length: n }, (_, i) => {
        if (next < changes.length && i === changes[next]) {
          rate = rate > 0.3 ? 0.3 : rate * 3;
          next++;
        }
        return poisson(rand, rate);
      }),
      changes,
      // The rate alternates 0.3 → 0.9 → 0.3 …
      directions: changes.map((_, i) => (i % 2 === 0 ? 'up' : 'down')),
    });

    // Daily seasonality (one period) with steps of 1.5–3 × the amplitude's σ.
    const days = 8640 / 8; // 3 h of 10 s points, keeps the suite quick
    changes = changePositions(rand, days, 60);
    level = levels(rand, days, changes, 50, () => 6 + rand() * 6);
    suite.push({
      kind: 'seasonal',
      values: level.map((l, i) => l + 8 * Math.sin((2 * Math.PI * i) / days) + 2 * normal()),
      changes,
      directions: directionsOf(level, changes),
    });
  }
  return suite;
}

/** Series with no change at all, 24 h at 10 s each: every detection is a false alarm. */
export function stationarySuite(seed = 7, count = 100): LabelledSeries[] {
  const rand = random(seed);
  const normal = gaussian(rand);
  return Array.from({ length: count }, (_, s) => {
    const n = 8640;
    let noise = 0;
    const kind = ['gaussian', 'lognormal', 'AR(1)', 'spiky'][s % 4]!;
    const values = Array.from({ length: n }, () => {
      switch (kind) {
        case 'gaussian':
          return 100 + 5 * normal();
        case 'lognormal':
          return Math.exp(Math.log(120) + 0.35 * normal());
        case 'AR(1)':
          noise = 0.7 * noise + 3 * Math.sqrt(0.51) * normal();
          return 40 + noise;
        default:
          return rand() < 0.01 ? 1000 : 200 + 8 * normal();
      }
    });
    return { kind: `stationary ${kind}`, values, changes: [], directions: [] };
  });
}

/**
 * Slow drifts without a change point (a leak, a warming cache): a linear ramp of 1–4 noise σ over
 * the whole series, in Gaussian and in AR(1) noise. Every detection is a false alarm.
 */
export function driftSuite(seed = 99, count = 40): LabelledSeries[] {
  const rand = random(seed);
  const normal = gaussian(rand);
  const suite: LabelledSeries[] = [];
  for (let s = 0; s < count; s++) {
    const n = 600 + Math.floor(rand() * 2400);
    const total = (1 + rand() * 3) * (rand() < 0.5 ? -1 : 1);
    suite.push({
      kind: 'drift gaussian',
      values: Array.from({ length: n }, (_, i) => 100 + 5 * ((total * i) / n + normal())),
      changes: [],
      directions: [],
    });
    let noise = 0;
    suite.push({
      kind: 'drift AR(1)',
      values: Array.from({ length: n }, (_, i) => {
        noise = 0.7 * noise + 3 * Math.sqrt(0.51) * normal();
        return 40 + (3 * total * i) / n + noise;
      }),
      changes: [],
      directions: [],
    });
  }
  return suite;
}

/**
 * Staircases: 3–5 steps in the same direction, 100–300 points apart (a leak, a cache filling up,
 * load ramped in stages), each of 1.5–2.5 noise σ, in AR(1) CPU noise (φ = 0.7) and in log-normal
 * latency. Each step is a change; the steps around it tilt its segment like a trend. Scored apart
 * from the labelled suite.
 */
export function staircaseSuite(seed = 123, count = 20): LabelledSeries[] {
  const rand = random(seed);
  const normal = gaussian(rand);
  const suite: LabelledSeries[] = [];
  for (let s = 0; s < count; s++) {
    const steps = 3 + Math.floor(rand() * 3);
    const changes: number[] = [];
    let at = 150 + Math.floor(rand() * 150);
    for (let i = 0; i < steps; i++) {
      changes.push(at);
      at += 100 + Math.floor(rand() * 200);
    }
    const n = at + 50 + Math.floor(rand() * 150);
    const sign = rand() < 0.5 ? -1 : 1;
    const direction: 'up' | 'down' = sign > 0 ? 'up' : 'down';
    // Step sizes drawn per step: 1.5–2.5 σ (σ = 3 for CPU, 0.35 for log latency).
    const sizes = changes.map(() => 1.5 + rand());
    const stepped = (i: number, sigma: number) =>
      changes.reduce((sum, c, k) => (i >= c ? sum + sign * sizes[k]! * sigma : sum), 0);
    let noise = 0;
    suite.push({
      kind: 'staircase AR(1)',
      values: Array.from({ length: n }, (_, i) => {
        noise = 0.7 * noise + 3 * Math.sqrt(0.51) * normal();
        return 50 + stepped(i, 3) + noise;
      }),
      changes: [...changes],
      directions: changes.map(() => direction),
    });
    suite.push({
      kind: 'staircase lognormal',
      values: Array.from({ length: n }, (_, i) =>
        Math.exp(Math.log(120) + stepped(i, 0.35) + 0.35 * normal()),
      ),
      changes: [...changes],
      directions: changes.map(() => direction),
    });
  }
  return suite;
}

/**
 * Short regular cycles: a day of 30 s points (2880) with an hourly cycle (period 120 points) of
 * 2 noise σ — batch jobs, cron load — and 0–3 steps of 1.5–3 σ, at least 100 points apart.
 * A cycle is no change, though it separates every pair of neighbouring half-periods. Scored apart
 * from the labelled suite.
 */
export function cycleSuite(seed = 321, count = 30): LabelledSeries[] {
  const rand = random(seed);
  const normal = gaussian(rand);
  return Array.from({ length: count }, () => {
    const n = 2880;
    const changes = changePositions(rand, n, 100);
    const level = levels(rand, n, changes, 50, () => 1.5 + rand() * 1.5);
    const phase = rand() * 120;
    return {
      kind: 'hourly cycle',
      values: level.map((l, i) => l + 2 * Math.sin((2 * Math.PI * (i + phase)) / 120) + normal()),
      changes,
      directions: directionsOf(level, changes),
    };
  });
}
