import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { AggregationTemporality, DataPointType, type ResourceMetrics } from '@opentelemetry/sdk-metrics';
import { compareBenchmark } from '../src/analysis/compareBenchmark.js';
import { createBenchmark } from '../src/analysis/createBenchmark.js';
import { MetricStore } from '../src/store/MetricStore.js';
import { report } from './stats.js';

const METRICS = 2;
const SERIES_PER_METRIC = 500;
const RESOLUTION = 30;
const HOUR = 3600;
const DAY0 = 1_790_035_200; // midnight UTC
/** Every 20th series' latency steps up by 50 % after the first hour. */
const STEP_EVERY = 20;
const resource = resourceFromAttributes({ 'service.name': 'bench' });

/** Deterministic noise in [-1, 1) from a time and a series number. */
function noise(time: number, series: number): number {
  const x = Math.sin(time * 12.9898 + series * 78.233) * 43_758.5453;
  return 2 * (x - Math.floor(x)) - 1;
}

function collection(time: number): ResourceMetrics {
  const metrics = [];
  for (let m = 0; m < METRICS; m++) {
    const dataPoints = [];
    for (let s = 0; s < SERIES_PER_METRIC; s++) {
      const id = m * SERIES_PER_METRIC + s;
      const stepped = id % STEP_EVERY === 0 && time >= DAY0 + HOUR;
      dataPoints.push({
        startTime: [DAY0, 0] as [number, number],
        endTime: [time, 0] as [number, number],
        attributes: { route: `/r${s}` },
        value: (stepped ? 150 : 100) + 10 * noise(time, id),
      });
    }
    metrics.push({
      descriptor: { name: `bench.api${m}.request.latency`, unit: 'ms', description: '', valueType: 1 },
      aggregationTemporality: AggregationTemporality.CUMULATIVE,
      dataPointType: DataPointType.GAUGE as const,
      dataPoints,
    });
  }
  return { resource, scopeMetrics: [{ scope: { name: 'bench' }, metrics }] };
}

/**
 * A benchmark of 1,000 series (one hour at 30 s) compared with the next hour, in which 5 % of
 * the series got 50 % slower: how long creating and comparing take (issue target: compare ≤ 2 s).
 */
export async function benchBenchmarkCompare(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'perfwatch-bench-'));
  const store = await MetricStore.open(join(dir, 'history.duckdb'));
  try {
    for (let t = DAY0; t < DAY0 + 2 * HOUR; t += RESOLUTION) await store.writeCollection(collection(t));
    await store.checkpoint();
    let started = performance.now();
    const benchmark = await createBenchmark(store, { name: 'bench', now: () => (DAY0 + HOUR) * 1000 });
    const createSeconds = (performance.now() - started) / 1000;
    started = performance.now();
    const comparison = await compareBenchmark(store, 'bench', {
      windowMillis: HOUR * 1000,
      now: () => (DAY0 + 2 * HOUR) * 1000,
    });
    const compareSeconds = (performance.now() - started) / 1000;
    const series = METRICS * SERIES_PER_METRIC;
    report('benchmarks', [
      ['create (1 h, 60 s buckets)', `${createSeconds.toFixed(2)} s`, `${benchmark.seriesCount} series`],
      [
        'compare with the next 1 h',
        `${compareSeconds.toFixed(2)} s`,
        `${comparison.series.length} series; target ≤ 2 s`,
      ],
      [
        'degraded found',
        String(comparison.summary.degraded),
        `${series / STEP_EVERY} injected, ${comparison.summary.stable} stable`,
      ],
    ]);
  } finally {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  }
}
