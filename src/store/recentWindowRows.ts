import { QUANTILES, type Rows } from './bucketRows.js';
import { histogramQuantile } from './histogramQuantile.js';
import { MAX_GAP_MICROS } from './increaseSql.js';
import type { TimeSeriesQuery } from './queryTimeSeries.js';
import type { HeldSeries, RecentPoints } from './RecentPoints.js';

/** The matched series of a one-bucket raw query, as prepare numbered them. */
export interface WindowSelection {
  readonly query: TimeSeriesQuery;
  /** The matched series' kind, as prepare found it. */
  readonly kind: string;
  readonly refs: readonly number[];
  /** The group of each ref. */
  readonly gids: readonly number[];
  readonly groupCount: number;
}

/** A value per group of the query; `present` 0 for a group without data (left out of answers). */
export interface GroupValues {
  readonly values: Float64Array;
  readonly present: Uint8Array;
}

const MAX_GAP = Number(MAX_GAP_MICROS);

/**
 * A one-bucket raw query over number points answered from the points held in memory, with the
 * same figures its SQL gives (queryWindows' families and queryTimeSeries: per group, `avg`, `min`,
 * `max`, `sum`, `count`, `last`, `quantile_cont` quantiles over every sample of the group, and
 * counter increases with the reset and gap rules of increaseSql) — or undefined when the held
 * points cannot tell: a series not watched yet (it is from now on), a window reaching before what
 * a series holds completely, or a counter whose predecessor point may be missing.
 */
export function recentWindowValues(
  recent: RecentPoints,
  selection: WindowSelection,
): GroupValues | undefined {
  const { query, refs, kind } = selection;
  if (kind !== 'gauge' && kind !== 'sum' && kind !== 'histogram') return undefined;
  const fromUs = query.from.getTime() * 1000;
  let complete = true;
  const held: HeldSeries[] = new Array(refs.length);
  // Every series is asked for, so that all of them are watched from now on.
  for (let i = 0; i < refs.length; i++) {
    const series = recent.read(refs[i]!, kind === 'histogram');
    if (series === undefined || fromUs <= series.completeAfter) complete = false;
    else held[i] = series;
  }
  if (!complete) return undefined;
  const aggregation = query.aggregation;
  if (kind === 'histogram') return histogramValues(selection, held);
  if (aggregation === 'rate' || aggregation === 'increase') return increaseValues(selection, held);
  return sampleValues(selection, held);
}

/**
 * Sorts ascending, NaN last, as Float64Array.prototype.sort does — by insertion for the few points
 * of an alert window, where the built-in sort's call overhead is most of its cost.
 */
function sortNumbers(values: Float64Array): void {
  if (values.length > 32) {
    values.sort();
    return;
  }
  for (let i = 1; i < values.length; i++) {
    const value = values[i]!;
    let j = i - 1;
    // NaN compares false both ways: treated as above everything, it stays at the end.
    if (Number.isNaN(value)) continue;
    while (j >= 0 && (values[j]! > value || Number.isNaN(values[j]!))) {
      values[j + 1] = values[j]!;
      j--;
    }
    values[j + 1] = value;
  }
}

/** The first index at or after `start` whose time is ≥ `time`. */
function lowerBound(times: readonly number[], start: number, time: number): number {
  let lo = start;
  let hi = times.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (times[mid]! < time) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function sampleValues(selection: WindowSelection, held: readonly HeldSeries[]): GroupValues {
  const { query, gids, groupCount } = selection;
  const fromUs = query.from.getTime() * 1000;
  const toUs = query.to.getTime() * 1000;
  const aggregation = query.aggregation;
  const quantile = QUANTILES[aggregation];
  const values = new Float64Array(groupCount);
  const counts = new Float64Array(groupCount);
  const newest = new Float64Array(groupCount);
  // Per series a figure, then combined per group, as the batched SQL does; for quantiles each
  // series' range, copied per group at the end.
  const los = quantile === undefined ? undefined : new Int32Array(held.length);
  const his = quantile === undefined ? undefined : new Int32Array(held.length);
  for (let i = 0; i < held.length; i++) {
    const series = held[i]!;
    const times = series.times;
    const points = series.values;
    const lo = lowerBound(times, series.start, fromUs);
    const hi = lowerBound(times, lo, toUs);
    if (lo === hi) continue;
    const g = gids[i]!;
    const first = counts[g] === 0;
    counts[g] = counts[g]! + (hi - lo);
    if (los !== undefined) {
      los[i] = lo;
      his![i] = hi;
    } else if (aggregation === 'avg' || aggregation === 'sum') {
      let sum = 0;
      for (let j = lo; j < hi; j++) sum += points[j]!;
      values[g] = first ? sum : values[g]! + sum;
    } else if (aggregation === 'max') {
      // DuckDB orders NaN above every number: max keeps it, min passes over it.
      let max = first ? points[lo]! : values[g]!;
      for (let j = first ? lo + 1 : lo; j < hi; j++) {
        const value = points[j]!;
        if (!Number.isNaN(max) && (value > max || Number.isNaN(value))) max = value;
      }
      values[g] = max;
    } else if (aggregation === 'min') {
      let min = first ? points[lo]! : values[g]!;
      for (let j = first ? lo + 1 : lo; j < hi; j++) {
        const value = points[j]!;
        if (value < min || (Number.isNaN(min) && !Number.isNaN(value))) min = value;
      }
      values[g] = min;
    } else if (aggregation === 'last') {
      // The series' newest point (the later written of equal times); across series the newest,
      // on equal times the first series' (as the batched SQL combines per-series figures).
      const time = times[hi - 1]!;
      if (first || time > newest[g]!) {
        newest[g] = time;
        values[g] = points[hi - 1]!;
      }
    }
  }
  const present = new Uint8Array(groupCount);
  for (let g = 0; g < groupCount; g++) {
    if (counts[g] === 0) continue;
    present[g] = 1;
    if (aggregation === 'avg') values[g] = values[g]! / counts[g]!;
    else if (aggregation === 'count') values[g] = counts[g]!;
  }
  if (quantile !== undefined) {
    const samples = new Array<Float64Array | undefined>(groupCount);
    const filled = new Int32Array(groupCount);
    for (let i = 0; i < held.length; i++) {
      const lo = los![i]!;
      const hi = his![i]!;
      if (lo === hi) continue;
      const g = gids[i]!;
      let own = samples[g];
      if (own === undefined) {
        own = new Float64Array(counts[g]!);
        samples[g] = own;
      }
      const points = held[i]!.values;
      let at = filled[g]!;
      for (let j = lo; j < hi; j++) own[at++] = points[j]!;
      filled[g] = at;
    }
    for (let g = 0; g < groupCount; g++) if (present[g]) values[g] = quantileCont(samples[g]!, quantile);
  }
  return { values, present };
}

/** DuckDB's quantile_cont: linear interpolation at q·(n − 1) over the sorted values (NaN last). */
function quantileCont(values: Float64Array, q: number): number {
  sortNumbers(values);
  const position = q * (values.length - 1);
  const lower = Math.floor(position);
  const upper = Math.ceil(position);
  const low = values[lower]!;
  if (lower === upper) return low;
  return low + (position - lower) * (values[upper]! - low);
}

/**
 * Whether point `j` of a cumulative series counts from zero at its start time (increaseSql): the
 * start lies before the point by at most MAX_GAP, and after its predecessor. Without a held
 * predecessor that is settled only when the start is after the watch began (every point of the
 * series since then is held); otherwise the caller decides as for a missing predecessor.
 */
function countsFromStart(series: HeldSeries, j: number): boolean {
  const time = series.times[j]!;
  const startTime = series.starts[j]!;
  // NaN (no start time) fails both comparisons.
  if (!(startTime < time && startTime >= time - MAX_GAP)) return false;
  const previous = j - 1;
  if (previous < series.start || series.times[previous]! <= series.watchedAfter)
    return startTime > series.watchedAfter;
  return series.times[previous]! < startTime;
}

/**
 * Each series' increases in the window summed per group, as counterRows' SQL: a point's increase
 * is its value for delta series and when it counts from its start time, else its rise over the
 * point before it (its value after a drop, a restart), and none when that predecessor is missing
 * or more than MAX_GAP older. Undefined when a predecessor the answer needs may exist in the store
 * but not in memory.
 */
function increaseValues(selection: WindowSelection, held: readonly HeldSeries[]): GroupValues | undefined {
  const { query, gids, groupCount } = selection;
  const fromUs = query.from.getTime() * 1000;
  const toUs = query.to.getTime() * 1000;
  const values = new Float64Array(groupCount);
  const present = new Uint8Array(groupCount);
  for (let i = 0; i < held.length; i++) {
    const series = held[i]!;
    const { times, values: points, start } = series;
    const first = lowerBound(times, start, fromUs);
    const end = lowerBound(times, start, toUs);
    if (first === end) continue;
    let sum = 0;
    let any = false;
    for (let j = first; j < end; j++) {
      const value = points[j]!;
      let increase: number;
      if (series.delta || countsFromStart(series, j)) increase = value;
      else {
        const time = times[j]!;
        const previous = j - 1;
        if (previous < start || times[previous]! <= series.watchedAfter) {
          // The predecessor may be a point written before the watch began: only a gap longer
          // than MAX_GAP since then settles that it does not count.
          if (series.watchedAfter >= time - MAX_GAP) return undefined;
          continue;
        }
        if (times[previous]! < time - MAX_GAP) continue;
        const before = points[previous]!;
        increase = value < before ? value : value - before;
      }
      sum += increase;
      any = true;
    }
    if (!any) continue;
    const g = gids[i]!;
    values[g] = present[g] ? values[g]! + sum : sum;
    present[g] = 1;
  }
  if (query.aggregation === 'rate')
    for (let g = 0; g < groupCount; g++) values[g] = values[g]! / query.stepSeconds;
  return { values, present };
}

/**
 * Histogram windows, as histogramRows' SQL and histogramFigures: each point's increases of count,
 * sum and every bucket over its predecessor (HISTOGRAM_INCREASES: the point itself for delta
 * series, when it counts from its start time and after a restart — the count or any bucket went
 * down —, none after a gap longer than MAX_GAP or a change of the bucket layout), merged per
 * group, then the group's figure. Undefined also when one group's series have different bounds:
 * the SQL path raises that error.
 */
function histogramValues(selection: WindowSelection, held: readonly HeldSeries[]): GroupValues | undefined {
  const { query, gids, groupCount } = selection;
  const fromUs = query.from.getTime() * 1000;
  const toUs = query.to.getTime() * 1000;
  const counts = new Float64Array(groupCount);
  const sums = new Float64Array(groupCount);
  const hasSum = new Uint8Array(groupCount);
  const present = new Uint8Array(groupCount);
  const merged: (number[] | undefined)[] = new Array(groupCount);
  const boundsOf: (readonly number[] | undefined)[] = new Array(groupCount);
  for (let i = 0; i < held.length; i++) {
    const series = held[i]!;
    const { times, values: pointCounts, start } = series;
    const { sums: pointSums, buckets, bounds } = series.histogram!;
    const first = lowerBound(times, start, fromUs);
    const end = lowerBound(times, first, toUs);
    const g = gids[i]!;
    for (let j = first; j < end; j++) {
      const time = times[j]!;
      let restart = series.delta || countsFromStart(series, j);
      if (!restart) {
        const previous = j - 1;
        if (previous < start || times[previous]! <= series.watchedAfter) {
          // As for counters: only a gap longer than MAX_GAP since the watch settles it.
          if (series.watchedAfter >= time - MAX_GAP) return undefined;
          continue;
        }
        if (times[previous]! < time - MAX_GAP || buckets[previous]!.length !== buckets[j]!.length) continue;
        restart = pointCounts[j]! < pointCounts[previous]!;
        for (let k = 0; !restart && k < buckets[j]!.length; k++)
          restart = buckets[j]![k]! < buckets[previous]![k]!;
      }
      const previous = j - 1;
      const own = buckets[j]!;
      if (present[g] && !sameBounds(boundsOf[g]!, bounds[j]!)) return undefined;
      if (!present[g]) {
        present[g] = 1;
        boundsOf[g] = bounds[j]!;
        merged[g] = new Array<number>(own.length).fill(0);
      }
      const into = merged[g]!;
      counts[g] = counts[g]! + (restart ? pointCounts[j]! : pointCounts[j]! - pointCounts[previous]!);
      const sum = restart ? pointSums[j]! : pointSums[j]! - pointSums[previous]!;
      if (!Number.isNaN(sum)) {
        sums[g] = sums[g]! + sum;
        hasSum[g] = 1;
      }
      for (let k = 0; k < own.length; k++)
        into[k] = into[k]! + (restart ? own[k]! : own[k]! - buckets[previous]![k]!);
    }
  }
  const aggregation = query.aggregation;
  const quantile = QUANTILES[aggregation];
  const values = new Float64Array(groupCount);
  for (let g = 0; g < groupCount; g++) {
    if (!present[g]) continue;
    const count = counts[g]!;
    const sum = hasSum[g] ? sums[g]! : Number.NaN;
    if (quantile !== undefined) values[g] = histogramQuantile(quantile, boundsOf[g]!, merged[g]!);
    else if (aggregation === 'count' || aggregation === 'increase') values[g] = count;
    else if (aggregation === 'rate') values[g] = count / query.stepSeconds;
    else if (aggregation === 'sum') values[g] = sum;
    else values[g] = count > 0 ? sum / count : Number.NaN; // avg
  }
  return { values, present };
}

function sameBounds(a: readonly number[], b: readonly number[]): boolean {
  if (a === b) return true;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** One query's rows from per-group values, the groups without data left out. */
export function groupRows(values: Float64Array, present: Uint8Array): Rows {
  const gids: number[] = [];
  for (let g = 0; g < present.length; g++) if (present[g]) gids.push(g);
  return {
    gid: Float64Array.from(gids),
    bucket: new Float64Array(gids.length),
    value: Float64Array.from(gids, (g) => values[g]!),
  };
}
