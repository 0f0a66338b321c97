import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { OtlpReceiver } from '../../src/receiver/OtlpReceiver.js';
import { MetricRecorder } from '../../src/server/MetricRecorder.js';
import { MetricStore } from '../../src/store/MetricStore.js';
import { captureLogger } from '../helpers/captureLogger.js';
import { tempDir } from '../helpers/tempDir.js';

/*
 * Cardinality is bounded: past maxSeries (or maxSeriesPerMetric) the points of new series are
 * refused, counted, logged and reported to the OTLP client; series already known keep being
 * written, as Prometheus' sample_limit and the Collector's limits behave.
 */

const NANOS = 1_767_225_600_000_000_000n;

function request(metric: string, labels: readonly string[], step = 0) {
  return JSON.stringify({
    resourceMetrics: [
      {
        resource: { attributes: [{ key: 'service.name', value: { stringValue: 'busy' } }] },
        scopeMetrics: [
          {
            metrics: [
              {
                name: metric,
                gauge: {
                  dataPoints: labels.map((label, i) => ({
                    timeUnixNano: String(NANOS + BigInt(step) * 1_000_000_000n),
                    asDouble: i,
                    attributes: [{ key: 'user', value: { stringValue: label } }],
                  })),
                },
              },
            ],
          },
        ],
      },
    ],
  });
}

const labels = (from: number, count: number) => Array.from({ length: count }, (_, i) => `u${from + i}`);

describe('series limits', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let store: MetricStore;
  let receiver: OtlpReceiver;
  let url: string;
  const logger = captureLogger();

  beforeEach(async () => {
    dir = await tempDir();
    store = await MetricStore.open(dir.file('limited.duckdb'), {
      maxSeries: 50,
      maxSeriesPerMetric: 30,
      logger,
    });
    receiver = new OtlpReceiver({ store, port: 0 });
    url = await receiver.start();
  });
  afterEach(async () => {
    await receiver.shutdown();
    await store.close();
    await dir.cleanup();
  });

  async function send(body: string) {
    const response = await fetch(url, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body,
    });
    expect(response.status).toBe(200);
    return (await response.json()) as {
      partialSuccess?: { rejectedDataPoints: string; errorMessage: string };
    };
  }

  async function seriesCount(metric?: string): Promise<number> {
    const [row] = await store.query(
      `SELECT count(*)::INTEGER AS n FROM series${metric ? ` WHERE metric_name = '${metric}'` : ''}`,
    );
    return Number(row!.n);
  }

  it('refuses new series of a metric past maxSeriesPerMetric, and keeps writing the known ones', async () => {
    expect(await send(request('user.requests', labels(0, 25)))).toEqual({});
    const over = await send(request('user.requests', labels(20, 20), 1));
    // 5 known (u20–u24) and 5 new fit (30 in all); 10 new are refused.
    expect(over.partialSuccess?.rejectedDataPoints).toBe('10');
    expect(over.partialSuccess?.errorMessage).toContain(
      'metric "user.requests" has 30 series, its limit (maxSeriesPerMetric, env PERFWATCH_MAX_SERIES_PER_METRIC)',
    );
    expect(await seriesCount('user.requests')).toBe(30);
    const [written] = await store.query('SELECT count(*)::INTEGER AS n FROM points_number');
    expect(written!.n).toBe(25 + 10);
    // Known series keep being written.
    expect(await send(request('user.requests', labels(0, 30), 2))).toEqual({});
    expect(store.refusedPointsTotal).toBe(10);
    expect(
      logger.entries.some(
        (entry) => entry.level === 'warn' && entry.message.startsWith('points of new series refused'),
      ),
    ).toBe(true);
  });

  it('refuses new series of any metric past maxSeries', async () => {
    await send(request('a', labels(0, 30)));
    const other = await send(request('b', labels(0, 30)));
    expect(other.partialSuccess?.rejectedDataPoints).toBe('10');
    expect(other.partialSuccess?.errorMessage).toContain('the history holds 50 series, its limit (maxSeries');
    expect(await seriesCount()).toBe(50);
  });

  it('counts the limits from the file when it is opened again', async () => {
    await send(request('a', labels(0, 30)));
    await receiver.shutdown();
    await store.close();
    store = await MetricStore.open(dir.file('limited.duckdb'), { maxSeries: 50, maxSeriesPerMetric: 30 });
    receiver = new OtlpReceiver({ store, port: 0 });
    url = await receiver.start();
    expect((await send(request('a', labels(30, 1), 1))).partialSuccess?.rejectedDataPoints).toBe('1');
  });

  it('refuses a limit that is not a positive integer, naming it', async () => {
    await expect(MetricStore.open(dir.file('other.duckdb'), { maxSeries: 0 })).rejects.toThrow(/maxSeries/);
  });
});

describe('POST metrics names', () => {
  it('records at most maxNames metric names, and keeps recording the known ones', () => {
    const recorded: string[] = [];
    const instrument = { record: () => recorded.push('r'), add: () => recorded.push('a') };
    const meter = {
      createGauge: () => instrument,
      createCounter: () => instrument,
      createHistogram: () => instrument,
    } as unknown as ConstructorParameters<typeof MetricRecorder>[0];
    const recorder = new MetricRecorder(meter, 2);
    recorder.record({ name: 'a', value: 1, type: 'gauge' });
    recorder.record({ name: 'b', value: 1, type: 'gauge' });
    expect(() => recorder.record({ name: 'c', value: 1, type: 'gauge' })).toThrow(
      'POST metrics records at most 2 metric names',
    );
    recorder.record({ name: 'a', value: 2, type: 'gauge' });
    expect(recorded).toHaveLength(3);
  });
});
