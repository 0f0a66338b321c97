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

/** One cycle's wall time, CPU of all threads, main-thread busy time (event-loop utilization). */
async function timeCycle(processor: RegressionProcessor) {
  const started = performance.now();
  const cpuBefore = process.cpuUsage();
  const eluBefore = performance.eventLoopUtilization();
  const summary = await processor.runCycle();
  const seconds = (performance.now() - started) / 1000;
  const cpu = process.cpuUsage(cpuBefore);
  const elu = performance.eventLoopUtilization(eluBefore);
  return {
    summary,
    seconds,
    cpuSeconds: (cpu.user + cpu.system) / 1e6,
    mainThreadSeconds: elu.active / 1000,
  };
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

    const processor = (detectInWorker: boolean) =>
      new RegressionProcessor({
        store,
        logger: { error: () => {}, warn: () => {}, info: () => {}, debug: () => {} },
        now: () => (DAY0 + DAY) * 1000,
        detectInWorker,
      });
    const baselineRss = process.memoryUsage().rss;
    let peakRss = baselineRss;
    const sampler = setInterval(() => {
      peakRss = Math.max(peakRss, process.memoryUsage().rss);
    }, 50);
    // The default (detection in a worker thread), then detection on the main thread, then the
    // default again: the later cycles find DuckDB's cache and the JIT warm.
    const first = await timeCycle(processor(true));
    const inline = await timeCycle(processor(false));
    const again = await timeCycle(processor(true));
    clearInterval(sampler);
    peakRss = Math.max(peakRss, process.memoryUsage().rss);
    const records = await listRegressions(store, { kind: 'regression' });
    if (
      inline.summary.seriesAnalysed !== first.summary.seriesAnalysed ||
      inline.summary.updated !== again.summary.updated
    ) {
      throw new Error(
        `the cycles disagree: ${JSON.stringify({ first: first.summary, inline: inline.summary, again: again.summary })}`,
      );
    }
    const expected = (METRICS * SERIES_PER_METRIC) / STEP_EVERY;

    report('regression cycle', [
      [
        'history loaded, rolled up',
        `${loadSeconds.toFixed(1)} s, ${rollupSeconds.toFixed(1)} s`,
        `${METRICS * SERIES_PER_METRIC} series × ${DAY / RESOLUTION} points`,
      ],
      [
        'one cycle (24 h, 60 s buckets), detection in a worker',
        `${first.seconds.toFixed(2)} s, again ${again.seconds.toFixed(2)} s`,
        `${first.summary.seriesAnalysed} series; target ≤ 10 s`,
      ],
      ['… with detection on the main thread', `${inline.seconds.toFixed(2)} s`, 'detectInWorker: false'],
      [
        'CPU time of the cycle, worker / main thread',
        `${first.cpuSeconds.toFixed(2)} s / ${inline.cpuSeconds.toFixed(2)} s`,
        `all threads (JS and DuckDB's), on ${availableParallelism()} cores`,
      ],
      [
        'main thread busy during the cycle, worker / main thread',
        `${first.mainThreadSeconds.toFixed(2)} s / ${inline.mainThreadSeconds.toFixed(2)} s`,
        "what a service's event loop gives up",
      ],
      [
        'peak RSS during the cycle',
        `${(peakRss / 2 ** 20).toFixed(0)} MiB`,
        `${((peakRss - baselineRss) / 2 ** 20).toFixed(0)} MiB above the RSS before it`,
      ],
      ['regressions found', String(records.length), `${expected} injected (all three cycles agree)`],
    ]);
  } finally {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  }
}
