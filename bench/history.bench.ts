import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { AggregationTemporality, DataPointType, type ResourceMetrics } from '@opentelemetry/sdk-metrics';
import { MetricStore } from '../src/store/MetricStore.js';
import { queryTimeSeries, type TimeSeriesQuery } from '../src/store/queryTimeSeries.js';
import { median, report } from './stats.js';

const SERIES = 1000;
const RESOLUTION = 10;
const DAY = 86_400;
const DAY0 = 1_790_035_200; // midnight UTC; the history holds DAY0 … DAY0 + 2 days
const resource = resourceFromAttributes({ 'service.name': 'bench' });

/** `timestamps` consecutive 10 s samples of every series in one write, starting at `start`. */
function batch(start: number, timestamps: number): ResourceMetrics {
  const dataPoints = [];
  for (let k = 0; k < timestamps; k++) {
    const time = start + k * RESOLUTION;
    for (let s = 0; s < SERIES; s++) {
      dataPoints.push({
        startTime: [DAY0, 0] as [number, number],
        endTime: [time, 0] as [number, number],
        attributes: { shard: String(s) },
        value: Math.round((50 + 30 * Math.sin(time / 900 + s) + ((time * 7 + s * 13) % 17)) * 100) / 100,
      });
    }
  }
  return {
    resource,
    scopeMetrics: [
      {
        scope: { name: 'bench' },
        metrics: [
          {
            descriptor: { name: 'bench.latency', unit: 'ms', description: '', valueType: 1 },
            aggregationTemporality: AggregationTemporality.CUMULATIVE,
            dataPointType: DataPointType.GAUGE,
            dataPoints,
          },
        ],
      },
    ],
  };
}

async function medianMillis(times: number, work: () => Promise<unknown>): Promise<number> {
  const samples: number[] = [];
  for (let i = 0; i < times; i++) {
    const started = performance.now();
    await work();
    samples.push(performance.now() - started);
  }
  return median(samples);
}

/**
 * Two days of 1,000 series at 10 s (17.28 M points, 8.64 M per day): time-series queries over the
 * newest 24 h from raw points and from rollups, retention of the older day while collections keep
 * being written, and Parquet export.
 */
export async function benchHistory(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'perfwatch-bench-'));
  const store = await MetricStore.open(join(dir, 'history.duckdb'));
  try {
    let started = performance.now();
    for (let t = DAY0; t < DAY0 + 2 * DAY; t += 10 * RESOLUTION) await store.writeCollection(batch(t, 10));
    const loadSeconds = (performance.now() - started) / 1000;
    await store.checkpoint();

    const day1: Pick<TimeSeriesQuery, 'from' | 'to' | 'metric'> = {
      metric: 'bench.latency',
      from: new Date((DAY0 + DAY) * 1000),
      to: new Date((DAY0 + 2 * DAY) * 1000),
    };
    const avgAll = await medianMillis(5, () =>
      queryTimeSeries(store, { ...day1, stepSeconds: 60, aggregation: 'avg', source: 'raw' }),
    );
    const p95All = await medianMillis(5, () =>
      queryTimeSeries(store, { ...day1, stepSeconds: 60, aggregation: 'p95', source: 'raw' }),
    );
    const oneSeries = await medianMillis(5, () =>
      queryTimeSeries(store, {
        ...day1,
        stepSeconds: 60,
        aggregation: 'avg',
        where: { shard: '42' },
        source: 'raw',
      }),
    );

    started = performance.now();
    const rolled = await store.rollUp();
    const rollupSeconds = (performance.now() - started) / 1000;
    // Merge the 2.9 M rollup rows into the file now, so the retention figure below measures
    // retention alone rather than this one-off backfill's pending checkpoint.
    await store.checkpoint();
    const avgRollup = await medianMillis(5, () =>
      queryTimeSeries(store, { ...day1, stepSeconds: 60, aggregation: 'avg', source: 'rollup' }),
    );
    const oneSeriesRollup = await medianMillis(5, () =>
      queryTimeSeries(store, {
        ...day1,
        stepSeconds: 60,
        aggregation: 'avg',
        where: { shard: '42' },
        source: 'rollup',
      }),
    );

    started = performance.now();
    const exported = await store.exportParquet({ outDir: join(dir, 'export'), since: day1.from });
    const exportSeconds = (performance.now() - started) / 1000;

    // Retention of the older day while a collection is written every 20 ms next to it. A full GC
    // first (when exposed), so the garbage of building 17 M input points does not pause a write.
    (globalThis as { gc?: () => void }).gc?.();
    const waits: number[] = [];
    let deleting = true;
    let tick = DAY0 + 3 * DAY;
    const collector = (async () => {
      while (deleting) {
        const before = performance.now();
        await store.writeCollection(batch(tick, 1));
        waits.push(performance.now() - before);
        tick += RESOLUTION;
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    })();
    started = performance.now();
    const retention = await store.deleteBefore(day1.from);
    const retentionSeconds = (performance.now() - started) / 1000;
    deleting = false;
    await collector;

    if (process.env.BENCH_DEBUG) console.log(waits.map((w) => w.toFixed(0)).join(' '));
    report('history (1,000 series × 10 s; 17.28 M points over 2 days; queries over the newest 24 h)', [
      ['load, points/s', Math.round(17_280_000 / loadSeconds).toLocaleString('en'), '(setup)'],
      ['24 h, 1 m buckets, avg across all series, raw (ms)', avgAll.toFixed(1), 'target ≤ 250 ms'],
      ['24 h, 1 m buckets, p95 across all series, raw (ms)', p95All.toFixed(1), 'target ≤ 250 ms'],
      ['24 h, one series, raw (ms)', oneSeries.toFixed(1), 'target ≤ 20 ms'],
      ['roll up 2 days (s)', rollupSeconds.toFixed(2), `${rolled.rows} rollup rows`],
      ['24 h, 1 m buckets, avg across all series, rollups (ms)', avgRollup.toFixed(1), 'target ≤ 50 ms'],
      ['24 h, one series, rollups (ms)', oneSeriesRollup.toFixed(1), 'target ≤ 50 ms'],
      [
        'retention: delete 1 day (8.64 M points) (s)',
        retentionSeconds.toFixed(2),
        `target ≤ 2 s (${retention.deletedPoints} points, ${retention.batches} batches)`,
      ],
      [
        'retention: longest collection write meanwhile (ms)',
        Math.max(...waits).toFixed(1),
        `target ≤ 100 ms (${waits.length} writes, median ${median(waits).toFixed(1)} ms)`,
      ],
      [
        'Parquet export, points/s',
        Math.round(exported.rows / exportSeconds).toLocaleString('en'),
        `target ≥ 2,000,000 (${exported.rows} points, ${exported.files} files)`,
      ],
    ]);
  } finally {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  }
}
