import { mkdtemp, rm } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { AggregationTemporality, DataPointType, type ResourceMetrics } from '@opentelemetry/sdk-metrics';
import { RegressionProcessor } from '../src/analysis/RegressionProcessor.js';
import { MetricStore } from '../src/store/MetricStore.js';
import { listRegressions } from '../src/store/regressionRecords.js';
import { report } from './stats.js';

const METRICS = 10;
const SERIES_PER_METRIC = 1000;
const RESOLUTION = 30;
const DAY = 86_400;
const DAY0 = 1_790_035_200; // midnight UTC
/** Every 100th series steps up by 50 % at 18:00. */
const STEP_EVERY = 100;
const STEP_AT = DAY0 + 18 * 3600;
const resource = resourceFromAttributes({ 'service.name': 'bench' });

/** Deterministic noise in [-1, 1) from a time and a series number. */
function noise(time: number, series: number): number {
  const x = Math.sin(time * 12.9898 + series * 78.233) * 43_758.5453;
  return 2 * (x - Math.floor(x)) - 1;
}

function batch(start: number, timestamps: number): ResourceMetrics {
  const metrics = [];
  for (let m = 0; m < METRICS; m++) {
    const dataPoints = [];
    for (let k = 0; k < timestamps; k++) {
      const time = start + k * RESOLUTION;
      for (let s = 0; s < SERIES_PER_METRIC; s++) {
        const id = m * SERIES_PER_METRIC + s;
        const stepped = id % STEP_EVERY === 0 && time >= STEP_AT;
        dataPoints.push({
          startTime: [DAY0, 0] as [number, number],
          endTime: [time, 0] as [number, number],
          attributes: { shard: String(s) },
          value: (stepped ? 0.45 : 0.3) + 0.02 * noise(time, id),
        });
      }
    }
    metrics.push({
      descriptor: { name: `bench.worker${m}.cpu.utilization`, unit: '1', description: '', valueType: 1 },
      aggregationTemporality: AggregationTemporality.CUMULATIVE,
      dataPointType: DataPointType.GAUGE as const,
      dataPoints,
    });
  }
  return { resource, scopeMetrics: [{ scope: { name: 'bench' }, metrics }] };
}

/** Writes the benchmark's 24 h history into `store` and rolls it up. */
export async function writeCycleHistory(
  store: MetricStore,
): Promise<{ loadSeconds: number; rollupSeconds: number }> {
  let started = performance.now();
  for (let t = DAY0; t < DAY0 + DAY; t += 10 * RESOLUTION) await store.writeCollection(batch(t, 10));
  const loadSeconds = (performance.now() - started) / 1000;
  started = performance.now();
  await store.rollUp((DAY0 + DAY) * 1000);
  await store.checkpoint();
  return { loadSeconds, rollupSeconds: (performance.now() - started) / 1000 };
}

/**
 * One regression cycle over 10,000 series × 2,880 points (24 h at 30 s), 1 % of them with a
 * +50 % step: the cycle's duration, peak RSS while it runs, and what it found.
 */
export async function benchRegressionCycle(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'perfwatch-bench-'));
  const store = await MetricStore.open(join(dir, 'history.duckdb'));
  try {
    const { loadSeconds, rollupSeconds } = await writeCycleHistory(store);

    const processor = new RegressionProcessor({
      store,
      logger: { error: () => {}, warn: () => {}, info: () => {}, debug: () => {} },
      now: () => (DAY0 + DAY) * 1000,
    });
    const baselineRss = process.memoryUsage().rss;
    let peakRss = baselineRss;
    const sampler = setInterval(() => {
      peakRss = Math.max(peakRss, process.memoryUsage().rss);
    }, 50);
    const started = performance.now();
    const cpuBefore = process.cpuUsage();
    const summary = await processor.runCycle();
    const cycleSeconds = (performance.now() - started) / 1000;
    // CPU of the whole process (JS and DuckDB's threads): steadier than the wall time on a busy machine.
    const cpu = process.cpuUsage(cpuBefore);
    clearInterval(sampler);
    peakRss = Math.max(peakRss, process.memoryUsage().rss);
    const records = await listRegressions(store, { kind: 'regression' });
    const expected = (METRICS * SERIES_PER_METRIC) / STEP_EVERY;

    report('regression cycle', [
      [
        'history loaded, rolled up',
        `${loadSeconds.toFixed(1)} s, ${rollupSeconds.toFixed(1)} s`,
        `${METRICS * SERIES_PER_METRIC} series × ${DAY / RESOLUTION} points`,
      ],
      [
        'one cycle (24 h, 60 s buckets)',
        `${cycleSeconds.toFixed(2)} s`,
        `${summary.seriesAnalysed} series; target ≤ 10 s`,
      ],
      [
        'CPU time of the cycle',
        `${((cpu.user + cpu.system) / 1e6).toFixed(2)} s`,
        `user ${(cpu.user / 1e6).toFixed(1)} s, system ${(cpu.system / 1e6).toFixed(1)} s, on ${availableParallelism()} cores`,
      ],
      [
        'peak RSS during the cycle',
        `${(peakRss / 2 ** 20).toFixed(0)} MiB`,
        `${((peakRss - baselineRss) / 2 ** 20).toFixed(0)} MiB above the RSS before it`,
      ],
      ['regressions found', String(records.length), `${expected} injected`],
    ]);
  } finally {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  }
}
