import { MeterProvider } from '@opentelemetry/sdk-metrics';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { StoreError } from '../../src/errors.js';
import { DuckDbMetricReader } from '../../src/reader/DuckDbMetricReader.js';
import { MetricStore } from '../../src/store/MetricStore.js';
import { captureLogger } from '../helpers/captureLogger.js';
import { tempDir } from '../helpers/tempDir.js';

/**
 * A real store whose writes can be switched to fail: disk-full and I/O errors cannot be produced
 * on demand in a test (root ignores file modes), so this is the one injected fault.
 */
function flaky(store: MetricStore): { store: MetricStore; failing: { on: boolean } } {
  const failing = { on: false };
  const wrapper = Object.create(store) as MetricStore;
  wrapper.writeCollection = (resourceMetrics) =>
    failing.on
      ? Promise.reject(new StoreError('writing a collection failed: IO Error: No space left on device'))
      : store.writeCollection(resourceMetrics);
  return { store: wrapper, failing };
}

describe('DuckDbMetricReader when writes fail', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let store: MetricStore;

  beforeEach(async () => {
    dir = await tempDir();
    store = await MetricStore.open(dir.file('h.duckdb'));
  });
  afterEach(async () => {
    await store.close();
    await dir.cleanup();
  });

  function setup(writeBufferCollections: number) {
    const { store: failingStore, failing } = flaky(store);
    const logger = captureLogger();
    let provider: MeterProvider | undefined;
    const reader = new DuckDbMetricReader({
      store: failingStore,
      collectionIntervalMillis: 0,
      writeBufferCollections,
      logger,
      selfMetricsMeterProvider: { getMeter: (...args) => (provider as MeterProvider).getMeter(...args) },
    });
    provider = new MeterProvider({ readers: [reader] });
    const counter = provider.getMeter('app').createCounter('requests');
    return { reader, provider, counter, failing, logger };
  }

  const values = async (metric: string) =>
    (
      await store.query(
        `SELECT Value AS value FROM otel_metrics_sum WHERE MetricName = $1 ORDER BY TimeUnix`,
        [metric],
      )
    ).map((row) => row.value);

  it('buffers failed collections, keeps running, and writes them in order after recovery', async () => {
    const { reader, provider, counter, failing, logger } = setup(10);
    failing.on = true;
    counter.add(1);
    await expect(reader.forceFlush()).rejects.toThrow(/No space left on device/);
    counter.add(1);
    await expect(reader.forceFlush()).rejects.toBeInstanceOf(StoreError);
    expect(reader.pendingCollections).toBe(2);
    expect(logger.entries.filter((e) => e.level === 'warn')).toHaveLength(1); // rate-limited

    failing.on = false;
    counter.add(1);
    await reader.forceFlush();
    expect(reader.pendingCollections).toBe(0);
    expect(await values('requests')).toEqual([1, 2, 3]);

    await reader.forceFlush();
    expect((await values('perfwatch.store.write_errors')).at(-1)).toBe(2);
    await provider.shutdown();
  });

  it('drops the oldest collections beyond the buffer and counts them', async () => {
    const { reader, provider, counter, failing } = setup(2);
    failing.on = true;
    for (let i = 0; i < 5; i++) {
      counter.add(1);
      await reader.forceFlush().catch(() => undefined);
    }
    expect(reader.pendingCollections).toBe(2);

    failing.on = false;
    await reader.forceFlush();
    // Cumulative points: the two kept collections (4, 5) and the recovery one (5) — no counts lost.
    // Within the same millisecond as the last kept one, the recovery point is that same point,
    // stored once.
    expect([
      [4, 5, 5],
      [4, 5],
    ]).toContainEqual(await values('requests'));
    await reader.forceFlush();
    expect((await values('perfwatch.store.dropped_collections')).at(-1)).toBe(3);
    await provider.shutdown();
  });
});
