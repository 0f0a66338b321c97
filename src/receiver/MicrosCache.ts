import type { Int64 } from './decodeOtlpMetrics.js';

/**
 * Nanosecond timestamps to the µs the store keeps (truncated), exactly: a double cannot hold
 * today's time in ns. The points of one request share a handful of timestamps, so the last
 * conversion is remembered and its bigint reused.
 */
export class MicrosCache {
  private lastLow = 0;
  private lastHigh = 0;
  private last = 0n;

  of(nanos: Int64): bigint {
    if (typeof nanos === 'number') {
      // Only without the `long` package, where protobufjs has already rounded the value.
      return BigInt(Math.trunc(nanos / 1000));
    }
    if (nanos.low === this.lastLow && nanos.high === this.lastHigh) return this.last;
    const total = (BigInt(nanos.high >>> 0) << 32n) | BigInt(nanos.low >>> 0);
    this.lastLow = nanos.low;
    this.lastHigh = nanos.high;
    this.last = total / 1000n;
    return this.last;
  }
}
