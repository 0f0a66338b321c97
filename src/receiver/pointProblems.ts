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

function isNaNIfSet(point: object, field: 'sum' | 'min' | 'max', value: number | null | undefined): boolean {
  return Object.hasOwn(point, field) && Number.isNaN(value);
}

function statsProblem(point: OtlpHistogramDataPoint | OtlpExponentialHistogramDataPoint): string | undefined {
  for (const field of ['sum', 'min', 'max'] as const) {
    if (isNaNIfSet(point, field, point[field])) return `${field} must not be NaN`;
  }
  return countProblem('count', point.count);
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
