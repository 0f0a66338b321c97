import type { HrTime } from '@opentelemetry/api';
import type { Int64 } from './decodeOtlpMetrics.js';

/**
 * Nanosecond timestamps to HrTime, exactly (a double cannot hold today's time in ns). The points
 * of one request share a handful of timestamps, so the last conversion is remembered.
 */
export class HrTimeCache {
  private lastLow = 0;
  private lastHigh = 0;
  private last: HrTime = [0, 0];

  of(nanos: Int64): HrTime {
    if (typeof nanos === 'number') {
      // Only without the `long` package, where protobufjs has already rounded the value.
      const seconds = Math.floor(nanos / 1e9);
      return [seconds, Math.min(999_999_999, Math.round(nanos - seconds * 1e9))];
    }
    if (nanos.low === this.lastLow && nanos.high === this.lastHigh) return this.last;
    const total = (BigInt(nanos.high >>> 0) << 32n) | BigInt(nanos.low >>> 0);
    this.lastLow = nanos.low;
    this.lastHigh = nanos.high;
    this.last = [Number(total / 1_000_000_000n), Number(total % 1_000_000_000n)];
    return this.last;
  }
}
