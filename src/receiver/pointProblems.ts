import type {
  Int64,
  OtlpExponentialHistogramDataPoint,
  OtlpHistogramDataPoint,
  OtlpSummaryDataPoint,
} from './decodeOtlpMetrics.js';
import { int64Text, int64ToNumber } from './int64.js';

/*
 * Why a point cannot be stored faithfully, as a phrase naming the field and the rule, or
 * undefined when it can. The OTLP data model's rules, plus what DuckDB's columns cannot hold.
 */

/** Counts are integers far below 2^53 in practice; beyond it a count cannot be stored exactly. */
function countProblem(field: string, count: Int64): string | undefined {
  if (typeof count === 'number') return undefined;
  return count.high >>> 0 >= 0x200000
    ? `${field} must be below 2^53 to be stored exactly, got ${int64Text(count)}`
    : undefined;
}

/**
 * A histogram's sum, min and max, when present, are finite (an infinite or NaN one cannot be
 * aggregated over time), and min ≤ max (OTLP: the smallest and largest recorded values).
 */
function statsProblem(point: OtlpHistogramDataPoint | OtlpExponentialHistogramDataPoint): string | undefined {
  for (const field of ['sum', 'min', 'max'] as const) {
    if (Object.hasOwn(point, field) && !Number.isFinite(point[field])) {
      return `${field} must be a finite number, got ${point[field]}`;
    }
  }
  if (Object.hasOwn(point, 'min') && Object.hasOwn(point, 'max') && point.min! > point.max!) {
    return `min (${point.min}) must not be greater than max (${point.max})`;
  }
  return countProblem('count', point.count);
}

/**
 * The times of a point: `timeUnixNano` is set (not 0) and below 2^63 ns (2262-04-11, what
 * signed 64-bit nanoseconds hold, as in the Collector and Go's time package; OTLP's fixed64
 * reaches 2^64 − 1, the year 2554, which no producer means: a sender's -1 arrives as that), and
 * the start time, when set, is not after it (OTLP: the start of the interval the point covers).
 * Compared on the 32-bit halves: this runs once per point, without a BigInt.
 */
export function timesProblem(point: { timeUnixNano: Int64; startTimeUnixNano: Int64 }): string | undefined {
  const [timeHigh, timeLow] = halvesOf(point.timeUnixNano);
  if (timeHigh === 0 && timeLow === 0) return 'timeUnixNano must be set';
  if (timeHigh >= 0x80000000) {
    return `timeUnixNano must be below 2^63 (2262-04-11), got ${int64Text(point.timeUnixNano)}`;
  }
  const [startHigh, startLow] = halvesOf(point.startTimeUnixNano);
  if (startHigh > timeHigh || (startHigh === timeHigh && startLow > timeLow)) {
    return `startTimeUnixNano (${int64Text(point.startTimeUnixNano)}) must not be after timeUnixNano (${int64Text(point.timeUnixNano)})`;
  }
  return undefined;
}

/** An unsigned 64-bit time as its high and low 32 bits, both as unsigned numbers. */
function halvesOf(value: Int64): [number, number] {
  if (typeof value !== 'number') return [value.high >>> 0, value.low >>> 0];
  // Only without the `long` package, where protobufjs has already rounded the value.
  const high = Math.floor(value / 0x100000000);
  return [high >>> 0, (value - high * 0x100000000) >>> 0];
}

export function histogramProblem(point: OtlpHistogramDataPoint): string | undefined {
  const bounds = point.explicitBounds;
  const counts = point.bucketCounts;
  if (counts.length === 0 && bounds.length > 0) {
    return `bucketCounts is empty but explicitBounds has ${bounds.length} entries (want none)`;
  }
  if (counts.length > 0 && counts.length !== bounds.length + 1) {
    return `bucketCounts has ${counts.length} entries for ${bounds.length} explicitBounds (want explicitBounds + 1)`;
  }
  for (let i = 0; i < bounds.length; i++) {
    const bound = bounds[i]!;
    if (!Number.isFinite(bound)) return `explicitBounds[${i}] must be finite, got ${bound}`;
    if (i > 0 && !(bound > bounds[i - 1]!))
      return `explicitBounds must be strictly increasing (at index ${i})`;
  }
  const problem = statsProblem(point);
  if (problem !== undefined) return problem;
  if (counts.length > 0) {
    let total = 0;
    for (let i = 0; i < counts.length; i++) {
      const countError = countProblem(`bucketCounts[${i}]`, counts[i]!);
      if (countError !== undefined) return countError;
      total += int64ToNumber(counts[i]!);
    }
    const count = int64ToNumber(point.count);
    if (total !== count) return `count ${count} is not the sum of bucketCounts (${total})`;
  }
  return undefined;
}

export function exponentialHistogramProblem(point: OtlpExponentialHistogramDataPoint): string | undefined {
  if (point.scale < -10 || point.scale > 20) return `scale must be between -10 and 20, got ${point.scale}`;
  if (!(point.zeroThreshold >= 0)) return `zeroThreshold must be ≥ 0, got ${point.zeroThreshold}`;
  const problem = statsProblem(point) ?? countProblem('zeroCount', point.zeroCount);
  if (problem !== undefined) return problem;
  let total = int64ToNumber(point.zeroCount);
  for (const [name, buckets] of [
    ['positive', point.positive],
    ['negative', point.negative],
  ] as const) {
    const counts = buckets?.bucketCounts ?? [];
    for (let i = 0; i < counts.length; i++) {
      const countError = countProblem(`${name}.bucketCounts[${i}]`, counts[i]!);
      if (countError !== undefined) return countError;
      total += int64ToNumber(counts[i]!);
    }
  }
  const count = int64ToNumber(point.count);
  if (total !== count) {
    return `count ${count} is not zeroCount plus the positive and negative bucket counts (${total})`;
  }
  return undefined;
}

export function summaryProblem(point: OtlpSummaryDataPoint): string | undefined {
  const countError = countProblem('count', point.count);
  if (countError !== undefined) return countError;
  for (let i = 0; i < point.quantileValues.length; i++) {
    const q = point.quantileValues[i]!.quantile;
    if (!(q >= 0 && q <= 1)) return `quantileValues[${i}].quantile must be between 0 and 1, got ${q}`;
  }
  return undefined;
}
