import type { Int64 } from './decodeOtlpMetrics.js';

/** A non-negative count or a signed value; exact below 2^53 (checked where it matters). */
export function int64ToNumber(value: Int64): number {
  if (typeof value === 'number') return value;
  const high = value.unsigned ? value.high >>> 0 : value.high;
  return high * 0x100000000 + (value.low >>> 0);
}

/** The exact decimal text, for values a number cannot hold (messages, large attributes). */
export function int64Text(value: Int64): string {
  if (typeof value === 'number') return String(value);
  const bits = (BigInt(value.high >>> 0) << 32n) | BigInt(value.low >>> 0);
  return (value.unsigned ? bits : BigInt.asIntN(64, bits)).toString();
}
