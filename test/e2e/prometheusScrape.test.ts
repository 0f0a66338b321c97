import { execFileSync, spawnSync } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { type PerfWatch, startPerfWatch } from '../../src/startPerfWatch.js';
import { captureLogger } from '../helpers/captureLogger.js';
import { type PrometheusServer, startPrometheus } from '../helpers/startPrometheus.js';
import { tempDir } from '../helpers/tempDir.js';

/** A real Prometheus server (Debian's `prometheus` package, installed by .ci/run) scrapes perfwatch. */
describe('a real Prometheus scraping perfwatch', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let perfwatch: PerfWatch;
  let prometheus: PrometheusServer;

  beforeAll(async () => {
    const which = spawnSync('prometheus', ['--version']);
    if (which.error)
      throw new Error('the `prometheus` binary is missing: apt-get install prometheus (as .ci/run does)');

    dir = await tempDir();
    perfwatch = await startPerfWatch({
      dbPath: dir.file('h.duckdb'),
      serviceName: 'scrape-test',
      collectionIntervalMillis: 3_600_000,
      prometheusPort: 0,
      logger: captureLogger(),
    });
    perfwatch.meter.createCounter('app.orders', { description: 'orders placed' }).add(3, { channel: 'web' });
    const target = new URL(perfwatch.prometheusUrl!).host;

    await writeFile(
      dir.file('prometheus.yml'),
      [
        'global:',
        '  scrape_interval: 250ms',
        '  scrape_timeout: 200ms',
        'scrape_configs:',
        '  - job_name: perfwatch',
        `    static_configs: [{ targets: ['${target}'] }]`,
        '',
      ].join('\n'),
    );
    prometheus = await startPrometheus(dir.file('prometheus.yml'), dir.file('tsdb'));
  });

  afterAll(async () => {
    await prometheus?.stop();
    await perfwatch?.shutdown();
    await dir?.cleanup();
  });

  const query = (promql: string) => prometheus.query(promql);

  it('scrapes the endpoint: target up, application counter and host metrics queryable', async () => {
    // Prometheus needs a moment to start and scrape; poll its API instead of sleeping.
    await vi.waitFor(
      async () => {
        const up = await query('up{job="perfwatch"}');
        expect(up.map((sample) => sample.value[1])).toEqual(['1']);
      },
      { timeout: 15_000, interval: 100 },
    );
    const orders = await query('app_orders_total{job="perfwatch"}');
    expect(orders).toHaveLength(1);
    expect(orders[0]!.metric).toMatchObject({ channel: 'web', job: 'perfwatch' });
    expect(orders[0]!.value[1]).toBe('3');
    const info = await query('target_info{job="perfwatch"}');
    expect(info[0]?.metric.service_name).toBe('scrape-test');
    const memory = await query('process_memory_usage{job="perfwatch"}');
    expect(Number(memory[0]?.value[1])).toBeGreaterThan(0);
  });

  it('serves text that promtool parses: no repeated HELP/TYPE, no unknown types', async () => {
    const text = await (await fetch(perfwatch.prometheusUrl!)).text();
    const result = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
    // Exit 1 = parse error; 3 = lint findings only. The only findings allowed are the semantic
    // conventions' `*.count` UpDownCounters, which Prometheus' linter reserves for histograms.
    expect([0, 3]).toContain(result.status);
    const findings = `${result.stdout}${result.stderr}`.split('\n').filter((line) => line.trim() !== '');
    for (const finding of findings) {
      expect(finding).toMatch(
        /^(process_thread_count|process_open_file_descriptor_count) non-histogram and non-summary metrics should not have "_count" suffix$/,
      );
    }
    expect(execFileSync('promtool', ['--version'], { encoding: 'utf8' })).toMatch(/promtool, version/);
  });
});
