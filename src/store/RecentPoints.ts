import { MAX_GAP_MICROS } from './increaseSql.js';

const MAX_GAP = Number(MAX_GAP_MICROS);

/**
 * A held histogram point (its bucket counts and bounds, with the SDK's default 16 buckets) takes
 * about as much memory as 16 number points, so it counts as that many against `maxPoints`:
 * counting it as one let the default rules' latency histograms hold several hundred MiB.
 */
const HISTOGRAM_POINT_WEIGHT = 16;

/**
 * The newest points of one watched series, oldest first, from `start` on. Times are µs. For a
 * histogram series `values` are the points' counts and `histogram` holds the rest.
 */
export interface HeldSeries {
  readonly times: number[];
  /** Each point's start time (µs); NaN when it has none. */
  readonly starts: number[];
  readonly values: number[];
  readonly histogram: HeldHistograms | undefined;
  /** Index of the oldest held point; the ones before it are dropped and reused by compaction. */
  start: number;
  /** Every point of the series later than this is held (or was, before the horizon dropped it). */
  watchedAfter: number;
  /** The held points are every point of the series later than this (µs). */
  completeAfter: number;
  /** Delta temporality: each point is its own increase (known from the series' first held write). */
  delta: boolean;
  /** Newest store time when a reader last asked for this series, for forgetting unread ones. */
  readAt: number;
  /** What one held point costs against `maxPoints`: 1, or HISTOGRAM_POINT_WEIGHT. */
  readonly weight: number;
}

/** The histogram parts of a series' held points, index by index with its times. */
export interface HeldHistograms {
  /** NaN: the point has no sum. */
  readonly sums: number[];
  readonly buckets: (readonly number[])[];
  readonly bounds: (readonly number[])[];
}

export interface RecentPointsOptions {
  /** How far back from a series' newest point its points are kept. */
  horizonMillis: number;
  /**
   * No new series is watched while this many points are held, a histogram point counting as
   * HISTOGRAM_POINT_WEIGHT. @default 2,000,000 (≈ 32 MB of number points)
   */
  maxPoints?: number;
  /** No new series is watched while this many are. @default 100,000 */
  maxSeries?: number;
  /**
   * Reads the store's points of `refs` from `fromMicros` on — all points after `sinceMicros`,
   * and of the ones at or before it only each series' newest (columns ref, delta, t, value;
   * ordered by ref, then t; for histograms also sum, counts and bounds) — and hands them to
   * `hold` before any later write reaches `add`. Without it a new series is held from the moment
   * it is watched, and answers wait for its window to fill.
   */
  loadPoints?: (
    refs: readonly number[],
    histograms: boolean,
    sinceMicros: number,
    fromMicros: number,
    hold: (columns: LoadedPoints) => void,
  ) => Promise<void>;
}

/** Points read from the store for `fill`, by series then time (µs). */
export interface LoadedPoints {
  readonly ref: ArrayLike<number>;
  /** 1 for a series of delta temporality. */
  readonly delta: ArrayLike<number>;
  readonly t: ArrayLike<number>;
  /** Start time (µs); NaN when the point has none, absent when no point has one. */
  readonly s?: ArrayLike<number>;
  /** A number point's value, a histogram point's count. */
  readonly value: ArrayLike<number>;
  /** Histogram points: sum (NaN: none), bucket counts and bounds. */
  readonly sum?: ArrayLike<number>;
  readonly counts?: readonly (readonly number[])[];
  readonly bounds?: readonly (readonly number[])[];
}

/** Columns of committed histogram points (µs times), as collectionRows gives them. */
export interface HistogramPointColumns {
  readonly refs: readonly number[];
  /** null, or absent for every point: no start time. */
  readonly startTimes?: readonly (bigint | null)[];
  readonly times: readonly bigint[];
  readonly counts: readonly number[];
  readonly sums: readonly (number | null)[];
  readonly bounds: readonly (readonly number[])[];
  readonly bucketCounts: readonly (readonly number[])[];
}

/** Columns of committed number points (µs times), as collectionRows gives them. */
export interface NumberPointColumns {
  readonly refs: readonly number[];
  /** null, or absent for every point: no start time. */
  readonly startTimes?: readonly (bigint | null)[];
  readonly times: readonly bigint[];
  readonly values: readonly number[];
}

/** The series of a write, with their temporality. */
export interface WrittenSeries {
  readonly ref: number;
  readonly identity: { readonly temporality: string | null };
}

/** A series left unread this long past the horizon stops being held. */
const UNREAD_GRACE_MICROS = 3_600_000_000;

/**
 * The newest number and histogram points of the series that readers asked for, kept in memory as the store
 * commits them, so that alert rules — minutes-long windows read after every collection — are
 * answered without reading DuckDB. Only series somebody watches are held, from the moment the
 * watch begins: points written before may be missing, and each series says from when on it is
 * complete (`completeAfter`); a reader uses the held points only for windows after that and reads
 * DuckDB otherwise. Memory is bounded by the horizon (older points are dropped as newer ones come,
 * keeping the newest older one as the predecessor that counter increases need) and by the point
 * and series limits, past which no new series is watched.
 */
export class RecentPoints {
  private readonly byRef: (HeldSeries | undefined)[] = [];
  private watched = 0;
  private held = 0;
  /** `held` with each point weighted (HeldSeries.weight), for `maxPoints`. */
  private heldWeight = 0;
  private horizonMicros: number;
  private nextSweepMicros: number;
  private readonly maxPoints: number;
  private readonly maxSeries: number;
  private readonly loadPoints: RecentPointsOptions['loadPoints'];
  /** Watched series whose points written before the watch have not been read yet. */
  private unfilled: number[] = [];

  /** @param newestMicros the newest point time already in the store (µs); 0 for an empty one */
  constructor(
    private newestMicros: number,
    options: RecentPointsOptions,
  ) {
    this.horizonMicros = options.horizonMillis * 1000;
    this.maxPoints = options.maxPoints ?? 2_000_000;
    this.maxSeries = options.maxSeries ?? 100_000;
    this.loadPoints = options.loadPoints;
    this.nextSweepMicros = newestMicros + this.horizonMicros;
  }

  /** Points held now, over every watched series. */
  get pointCount(): number {
    return this.held;
  }

  get seriesCount(): number {
    return this.watched;
  }

  /** Keeps at least this much from now on (a longer horizon fills as new points come). */
  extendHorizon(horizonMillis: number): void {
    this.horizonMicros = Math.max(this.horizonMicros, horizonMillis * 1000);
  }

  /**
   * The held points of `ref`, or undefined when it is not watched: then it is watched from now on
   * (if the limits allow), so later reads can be answered once enough points have come.
   */
  read(ref: number, histogram = false): HeldSeries | undefined {
    const series = this.byRef[ref];
    if (series !== undefined) {
      series.readAt = this.newestMicros;
      return series;
    }
    if (this.watched < this.maxSeries && this.heldWeight < this.maxPoints) {
      this.byRef[ref] = {
        times: [],
        starts: [],
        values: [],
        histogram: histogram ? { sums: [], buckets: [], bounds: [] } : undefined,
        start: 0,
        watchedAfter: this.newestMicros,
        completeAfter: this.newestMicros,
        delta: false,
        readAt: this.newestMicros,
        weight: histogram ? HISTOGRAM_POINT_WEIGHT : 1,
      };
      this.watched++;
      this.unfilled.push(ref);
    }
    return undefined;
  }

  /** Whether `fill` has series to read. */
  get fillable(): boolean {
    return this.loadPoints !== undefined && this.unfilled.length > 0;
  }

  /**
   * Reads from the store the points within the horizon of the series watched since the last
   * fill, so that they answer at once instead of after their window has filled (a restart, a new
   * rule). Each series also gets its newest point before the horizon, within MAX_GAP (a counter's
   * predecessor).
   */
  async fill(): Promise<void> {
    if (this.loadPoints === undefined || this.unfilled.length === 0) return;
    const refs = this.unfilled;
    this.unfilled = [];
    const since = this.newestMicros - this.horizonMicros;
    const numbers = refs.filter((ref) => this.byRef[ref] !== undefined && !this.byRef[ref]!.histogram);
    const histograms = refs.filter((ref) => this.byRef[ref]?.histogram !== undefined);
    try {
      for (const [own, histogram] of [
        [numbers, false],
        [histograms, true],
      ] as const) {
        if (own.length === 0) continue;
        await this.loadPoints(own, histogram, since, since - MAX_GAP, (loaded) =>
          this.holdLoaded(own, since, loaded),
        );
      }
    } catch (error) {
      // What was read is held; the rest is read again by the next fill.
      this.unfilled.push(...refs);
      throw error;
    }
  }

  /** Replaces what `refs` hold by what the store has (no write is added in between). */
  private holdLoaded(refs: readonly number[], since: number, loaded: LoadedPoints): void {
    const { ref: refColumn, delta, t, s, value, sum, counts, bounds } = loaded;
    let row = 0;
    for (const ref of [...refs].sort((a, b) => a - b)) {
      while (row < refColumn.length && refColumn[row]! < ref) row++;
      const series = this.byRef[ref];
      if (series === undefined) continue;
      let end = row;
      while (end < refColumn.length && refColumn[end] === ref) end++;
      // Rows at or before `since`: at most the newest (the predecessor); then all later ones.
      const predecessor = row < end && t[row]! <= since ? t[row]! : undefined;
      const floor = predecessor === undefined ? since - MAX_GAP - 1 : predecessor - 1;
      this.count(series, -(series.times.length - series.start));
      for (const column of columnsOf(series)) column.length = 0;
      series.start = 0;
      const histogram = series.histogram;
      for (let i = row; i < end; i++) {
        series.times.push(t[i]!);
        series.starts.push(s === undefined ? Number.NaN : s[i]!);
        series.values.push(value[i]!);
        if (histogram !== undefined) {
          histogram.sums.push(sum![i]!);
          histogram.buckets.push(counts![i]!);
          histogram.bounds.push(bounds![i]!);
        }
      }
      this.count(series, end - row);
      if (row < end) series.delta = delta[row] === 1;
      series.watchedAfter = floor;
      series.completeAfter = floor;
      this.drop(series);
      row = end;
    }
  }

  /**
   * Takes the number and histogram points of a committed write, the series it wrote and its
   * newest point time of any kind (µs).
   */
  add(
    points: NumberPointColumns,
    seen: readonly WrittenSeries[],
    newestMicros: bigint,
    histograms?: HistogramPointColumns,
  ): void {
    const newest = Number(newestMicros);
    if (newest > this.newestMicros) this.newestMicros = newest;
    if (this.watched > 0) {
      for (const entry of seen) {
        const series = this.byRef[entry.ref];
        if (series !== undefined) series.delta = entry.identity.temporality === 'delta';
      }
      const { refs, startTimes, times, values } = points;
      for (let i = 0; i < refs.length; i++) {
        const series = this.byRef[refs[i]!];
        if (
          series !== undefined &&
          series.histogram === undefined &&
          this.hold(series, Number(times[i]!), startTimes?.[i] ?? null, values[i]!) >= 0
        )
          this.drop(series);
      }
      if (histograms !== undefined) {
        for (let i = 0; i < histograms.refs.length; i++) {
          const series = this.byRef[histograms.refs[i]!];
          if (series?.histogram === undefined) continue;
          const at = this.hold(
            series,
            Number(histograms.times[i]!),
            histograms.startTimes?.[i] ?? null,
            histograms.counts[i]!,
          );
          if (at < 0) continue;
          const sum = histograms.sums[i];
          series.histogram.sums.splice(at, 0, sum === null || sum === undefined ? Number.NaN : sum);
          series.histogram.buckets.splice(at, 0, histograms.bucketCounts[i]!);
          series.histogram.bounds.splice(at, 0, histograms.bounds[i]!);
          this.drop(series);
        }
      }
    }
    // About once per horizon of store time, forget the series nobody read lately.
    if (this.newestMicros >= this.nextSweepMicros) {
      this.nextSweepMicros = this.newestMicros + this.horizonMicros;
      this.forgetUnread();
    }
  }

  /**
   * After the store deleted the points before `endMicros`: the series holding such a point (one
   * that stopped reporting, whose last point is kept as a predecessor) are no longer watched, as
   * what they hold is no longer what the store has.
   */
  forgetBefore(endMicros: number): void {
    for (let ref = 0; ref < this.byRef.length; ref++) {
      const series = this.byRef[ref];
      if (
        series !== undefined &&
        series.start < series.times.length &&
        series.times[series.start]! < endMicros
      )
        this.unwatch(ref, series);
    }
  }

  private unwatch(ref: number, series: HeldSeries): void {
    this.count(series, -(series.times.length - series.start));
    this.byRef[ref] = undefined;
    this.watched--;
  }

  /**
   * Holds a point's time and value in its place; the index it went to (a histogram's other parts
   * go there too, then `drop`), or -1 when it is not held.
   */
  private hold(series: HeldSeries, time: number, start: bigint | null, value: number): number {
    // Older than what the series is complete after: not needed, and maybe not all there is.
    if (time <= series.completeAfter) return -1;
    const { times, starts, values } = series;
    const startMicros = start === null ? Number.NaN : Number(start);
    let at = times.length;
    // A late point goes in its place; among points of equal time by value, as increaseSql orders
    // them (NaN last).
    while (
      at > series.start &&
      (times[at - 1]! > time ||
        (times[at - 1] === time &&
          (values[at - 1]! > value || (Number.isNaN(values[at - 1]!) && !Number.isNaN(value)))))
    )
      at--;
    if (at === times.length) {
      times.push(time);
      starts.push(startMicros);
      values.push(value);
    } else {
      times.splice(at, 0, time);
      starts.splice(at, 0, startMicros);
      values.splice(at, 0, value);
    }
    this.count(series, 1);
    return at;
  }

  /** Counts `points` more (or fewer, when negative) held points of `series`. */
  private count(series: HeldSeries, points: number): void {
    this.held += points;
    this.heldWeight += points * series.weight;
  }

  /** Drops the points older than the horizon but the newest of them (a counter's predecessor). */
  private drop(series: HeldSeries): void {
    const { times } = series;
    const cutoff = times[times.length - 1]! - this.horizonMicros;
    let start = series.start;
    while (start + 1 < times.length && times[start + 1]! <= cutoff) start++;
    if (start === series.start) return;
    this.count(series, -(start - series.start));
    series.start = start;
    // The point kept at `start` is only a predecessor: its own predecessor is gone.
    if (times[start]! > series.completeAfter) series.completeAfter = times[start]!;
    if (start > 64 && start * 2 > times.length) {
      for (const column of columnsOf(series)) column.splice(0, start);
      series.start = 0;
    }
  }

  private forgetUnread(): void {
    const before = this.newestMicros - this.horizonMicros - UNREAD_GRACE_MICROS;
    for (let ref = 0; ref < this.byRef.length; ref++) {
      const series = this.byRef[ref];
      if (series !== undefined && series.readAt < before) this.unwatch(ref, series);
    }
  }
}

/** A series' parallel arrays, index by index with its times. */
function columnsOf(series: HeldSeries): unknown[][] {
  const histogram = series.histogram;
  if (histogram === undefined) return [series.times, series.starts, series.values];
  return [series.times, series.starts, series.values, histogram.sums, histogram.buckets, histogram.bounds];
}
