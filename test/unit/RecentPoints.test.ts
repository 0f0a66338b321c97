import { describe, expect, it } from 'vitest';
import { RecentPoints } from '../../src/store/RecentPoints.js';

const SECOND = 1_000_000;
const gauge = (ref: number) => ({ ref, identity: { temporality: null } });

/** One write of `values` by ref at `seconds`. */
function write(recent: RecentPoints, seconds: number, values: Record<number, number>) {
  const refs = Object.keys(values).map(Number);
  recent.add(
    { refs, times: refs.map(() => BigInt(seconds * SECOND)), values: refs.map((ref) => values[ref]!) },
    refs.map(gauge),
    BigInt(seconds * SECOND),
  );
}

describe('RecentPoints', () => {
  it('holds a series from its first read on, complete only after the newest time then written', () => {
    const recent = new RecentPoints(100 * SECOND, { horizonMillis: 60_000 });
    write(recent, 110, { 1: 5 });
    expect(recent.read(1)).toBeUndefined();
    expect(recent.seriesCount).toBe(1);
    write(recent, 120, { 1: 6, 2: 9 });
    const held = recent.read(1)!;
    expect(held.completeAfter).toBe(110 * SECOND);
    expect(held.times.slice(held.start)).toEqual([120 * SECOND]);
    // Series nobody asked for are not held.
    expect(recent.pointCount).toBe(1);
  });

  it('drops points past the horizon but the newest of them, the predecessor of the next', () => {
    const recent = new RecentPoints(0, { horizonMillis: 30_000 });
    recent.read(1);
    for (let s = 10; s <= 100; s += 10) write(recent, s, { 1: s });
    const held = recent.read(1)!;
    expect(held.times.slice(held.start)).toEqual([70, 80, 90, 100].map((s) => s * SECOND));
    // The kept predecessor is not claimed: answers start after it.
    expect(held.completeAfter).toBe(70 * SECOND);
    expect(recent.pointCount).toBe(4);
  });

  it('puts a late point in its place, and ignores one older than what it is complete after', () => {
    const recent = new RecentPoints(0, { horizonMillis: 600_000 });
    recent.read(1);
    write(recent, 10, { 1: 1 });
    write(recent, 30, { 1: 3 });
    write(recent, 20, { 1: 2 });
    const held = recent.read(1)!;
    expect(held.values.slice(held.start)).toEqual([1, 2, 3]);
    const late = new RecentPoints(50 * SECOND, { horizonMillis: 600_000 });
    late.read(1);
    write(late, 40, { 1: 4 });
    expect(late.pointCount).toBe(0);
  });

  it('counts a held histogram point as 16 number points against maxPoints', () => {
    const histogram = (ref: number) => ({ ref, identity: { temporality: 'cumulative' as const } });
    const writeHistogram = (recent: RecentPoints, seconds: number, ref: number) =>
      recent.add({ refs: [], times: [], values: [] }, [histogram(ref)], BigInt(seconds * SECOND), {
        refs: [ref],
        times: [BigInt(seconds * SECOND)],
        counts: [1],
        sums: [1],
        bounds: [[1, 2, 3]],
        bucketCounts: [[1, 0, 0, 0]],
      });
    const histograms = new RecentPoints(0, { horizonMillis: 600_000, maxPoints: 32 });
    histograms.read(1, true);
    writeHistogram(histograms, 10, 1);
    writeHistogram(histograms, 20, 1);
    expect(histograms.pointCount).toBe(2);
    // 2 histogram points weigh 32: no new series is watched.
    histograms.read(2);
    expect(histograms.seriesCount).toBe(1);

    const numbers = new RecentPoints(0, { horizonMillis: 600_000, maxPoints: 32 });
    numbers.read(1);
    write(numbers, 10, { 1: 1 });
    write(numbers, 20, { 1: 2 });
    numbers.read(2);
    expect(numbers.seriesCount).toBe(2);
  });

  it('watches no new series past its limits, and forgets series unread for long', () => {
    const recent = new RecentPoints(0, { horizonMillis: 60_000, maxSeries: 2 });
    recent.read(1);
    recent.read(2);
    recent.read(3);
    expect(recent.seriesCount).toBe(2);
    // Series 2 is read again; series 1 is not, for more than the horizon and an hour.
    for (let s = 10; s <= 4_000; s += 10) {
      write(recent, s, { 1: s, 2: s });
      if (s % 600 === 0) recent.read(2);
    }
    expect(recent.seriesCount).toBe(1);
    expect(recent.read(1)).toBeUndefined();
  });

  it('knows delta series from their writes, and unwatches series whose held points were deleted', () => {
    const recent = new RecentPoints(0, { horizonMillis: 60_000 });
    recent.read(1);
    recent.read(2);
    recent.add(
      { refs: [1, 2], times: [10n * BigInt(SECOND), 10n * BigInt(SECOND)], values: [1, 2] },
      [{ ref: 1, identity: { temporality: 'delta' } }, gauge(2)],
      10n * BigInt(SECOND),
    );
    expect(recent.read(1)!.delta).toBe(true);
    expect(recent.read(2)!.delta).toBe(false);
    write(recent, 20, { 2: 3 });
    recent.forgetBefore(15 * SECOND);
    expect(recent.seriesCount).toBe(0);
    expect(recent.pointCount).toBe(0);
  });
});
