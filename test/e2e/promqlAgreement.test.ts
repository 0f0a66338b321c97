import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { writeFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { MetricStore } from '../../src/store/MetricStore.js';
import { queryTimeSeries } from '../../src/store/queryTimeSeries.js';
import { type FixturePoint, fixtureCollections } from '../helpers/fixtureCollection.js';
import { freePort } from '../helpers/freePort.js';
import { tempDir } from '../helpers/tempDir.js';

/**
 * One histogram fixture, loaded into perfwatch and (as OpenMetrics, through promtool's backfill)
 * into a real Prometheus: `perfwatch query --agg p90` and PromQL's
 * `histogram_quantile(0.9, sum by (le) (increase(…_bucket[…])))` must give the same numbers.
 */
describe('histogram quantiles agree with PromQL', () => {
  const bounds = [0.05, 0.1, 0.25, 0.5, 1];
  const step = 300;
  // Whole 5-minute buckets, two hours ago (inside Prometheus' retention and lookback).
  const now = Math.floor(Date.now() / 1000);
  const T0 = now - 2 * 3600 - ((now - 2 * 3600) % step);
  const samples: { time: number; counts: number[] }[] = [];
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let prometheus: ChildProcess;
  let url: string;

  beforeAll(async () => {
    dir = await tempDir();
    // Cumulative bucket counts every 10 s, starting high so Prometheus' extrapolation never
    // clamps one bucket at zero (its factor is then the same for every bucket and cancels out).
    const counts = [5000, 4000, 3000, 2000, 1000, 500];
    for (let t = -10; t < 1800; t += 10) {
      const i = (t + 10) / 10;
      const shape = [(i * 7) % 5, (i * 3) % 11, i % 4, (i * 5) % 7, i % 2, (i * 11) % 3];
      for (const [b, add] of shape.entries()) counts[b]! += add + (Math.floor(t / 600) + 1) * (b + 1);
      samples.push({ time: T0 + t, counts: [...counts] });
    }

    const store = await MetricStore.open(dir.file('h.duckdb'));
    const points: FixturePoint[] = samples.map(({ time, counts }) => ({
      metric: 'app.latency',
      kind: 'histogram',
      unit: 's',
      time,
      startTime: T0 - 3600,
      histogram: { bounds, counts, sum: 0 },
    }));
    for (const collection of fixtureCollections(points)) await store.writeCollection(collection);
    await store.close();

    const lines = ['# TYPE app_latency histogram'];
    for (const { time, counts } of samples) {
      let cumulative = 0;
      for (const [b, count] of counts.entries()) {
        cumulative += count;
        lines.push(
          `app_latency_bucket{le="${b < bounds.length ? bounds[b] : '+Inf'}"} ${cumulative} ${time}`,
        );
      }
      lines.push(`app_latency_count ${cumulative} ${time}`, `app_latency_sum 0 ${time}`);
    }
    lines.push('# EOF', '');
    await writeFile(dir.file('fixture.om'), lines.join('\n'));
    execFileSync(
      'promtool',
      ['tsdb', 'create-blocks-from', 'openmetrics', dir.file('fixture.om'), dir.file('tsdb')],
      {
        stdio: 'ignore',
      },
    );

    const port = await freePort();
    url = `http://127.0.0.1:${port}`;
    await writeFile(dir.file('prometheus.yml'), 'global:\n  scrape_interval: 1m\n');
    prometheus = spawn(
      'prometheus',
      [
        `--config.file=${dir.file('prometheus.yml')}`,
        `--storage.tsdb.path=${dir.file('tsdb')}`,
        '--storage.tsdb.retention.time=10y',
        `--web.listen-address=127.0.0.1:${port}`,
        '--log.level=warn',
      ],
      { stdio: 'ignore' },
    );
  });

  afterAll(async () => {
    if (prometheus && prometheus.exitCode === null) {
      prometheus.kill('SIGTERM');
      await once(prometheus, 'exit');
    }
    await dir?.cleanup();
  });

  async function promql(query: string, time: number): Promise<number> {
    const response = await fetch(`${url}/api/v1/query?query=${encodeURIComponent(query)}&time=${time}`);
    const body = (await response.json()) as { data: { result: { value: [number, string] }[] } };
    return Number(body.data.result[0]?.value[1]);
  }

  it.each([0.5, 0.9, 0.99])('q = %s over six 5-minute buckets', async (q) => {
    const store = await MetricStore.open(dir.file('h.duckdb'));
    let ours: (number | null)[];
    try {
      const aggregation = `p${Math.round(q * 100)}` as 'p50';
      const result = await queryTimeSeries(store, {
        metric: 'app.latency',
        from: new Date(T0 * 1000),
        to: new Date((T0 + 6 * step) * 1000),
        stepSeconds: step,
        aggregation,
        source: 'raw',
      });
      ours = result.series[0]!.points.map((p) => p.value);
    } finally {
      await store.close();
    }
    // perfwatch's bucket [s, s+300) holds the increases of the samples at s … s+290 over their
    // predecessors, i.e. from the sample at s-10 to the one at s+290. A 305 s PromQL window ending
    // at s+290 holds exactly those samples whether the left edge is closed (Prometheus 2) or open
    // (Prometheus 3); its 5 s extrapolation scales every bucket alike, which a quantile ignores.
    const theirs: number[] = [];
    for (let k = 0; k < 6; k++) {
      const end = T0 + k * step + step - 10;
      const query = `histogram_quantile(${q}, sum by (le) (increase(app_latency_bucket[305s])))`;
      // Prometheus loads the backfilled blocks at start-up: poll until it answers.
      await vi.waitFor(async () => expect(Number.isFinite(await promql(query, end))).toBe(true), {
        timeout: 15_000,
        interval: 100,
      });
      theirs.push(await promql(query, end));
    }
    expect(ours).toHaveLength(6);
    for (const [k, value] of ours.entries()) expect(value).toBeCloseTo(theirs[k]!, 9);
  });
});
