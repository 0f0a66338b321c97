import { spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { readFile, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { parse, stringify } from 'yaml';
import { perfwatchDashboard } from '../../monitoring/grafana/perfwatchDashboard.js';
import { type PerfWatch, startPerfWatch } from '../../src/startPerfWatch.js';
import { captureLogger } from '../helpers/captureLogger.js';
import { spawnCli, stderrContaining } from '../helpers/runCli.js';
import { type PrometheusServer, startPrometheus } from '../helpers/startPrometheus.js';
import { tempDir } from '../helpers/tempDir.js';

/**
 * monitoring/ end to end: promtool checks the shipped files, then a real Prometheus loads the
 * shipped scrape config and rules and scrapes two perfwatch targets — a `perfwatch start` process
 * on its own history file, and a service using the library that records HTTP server metrics —
 * evaluates every rule, and answers every query of the shipped Grafana dashboard.
 */
const monitoring = fileURLToPath(new URL('../../monitoring/', import.meta.url));

/**
 * Panels whose queries may return nothing yet, because the metric they show does not exist in
 * perfwatch so far; every other panel must return data. Empty since perfwatch.alerts.active landed
 * (it reports 0 per rule while none fires).
 */
const PANELS_WITHOUT_DATA_YET = new Set<string>();

function promtool(...args: string[]) {
  const result = spawnSync('promtool', args, { cwd: monitoring, encoding: 'utf8' });
  if (result.error) throw new Error('promtool is missing: apt-get install prometheus (as .ci/run does)');
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

describe('promtool on the shipped monitoring files', () => {
  it('accepts monitoring/prometheus.yml and the rule file it loads', () => {
    const result = promtool('check', 'config', 'prometheus.yml');
    expect(result.output).toContain('SUCCESS: 1 rule files found');
    expect(result.status, result.output).toBe(0);
  });

  it('accepts monitoring/perfwatch-rules.yml', () => {
    const result = promtool('check', 'rules', 'perfwatch-rules.yml');
    expect(result.output).toMatch(/SUCCESS: \d+ rules found/);
    expect(result.status, result.output).toBe(0);
  });

  it('passes the rule unit tests of monitoring/perfwatch-rules.test.yml', () => {
    const result = promtool('test', 'rules', 'perfwatch-rules.test.yml');
    expect(result.status, result.output).toBe(0);
    expect(result.output).toContain('SUCCESS');
  });
});

describe('a real Prometheus with the shipped config and rules, scraping perfwatch', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let perfwatch: PerfWatch;
  let cli: ReturnType<typeof spawnCli>;
  let prometheus: PrometheusServer;
  let traffic: NodeJS.Timeout;
  let targets: string[];

  beforeAll(async () => {
    dir = await tempDir();
    cli = spawnCli(['start', '--db', dir.file('cli.duckdb'), '--interval', '1', '--prometheus-port', '0']);
    const banner = await stderrContaining(cli, 'Ctrl-C to stop');
    const cliUrl = /scrape (http:\/\/\S+\/metrics)/.exec(banner)?.[1];
    expect(cliUrl).toBeDefined();

    perfwatch = await startPerfWatch({
      dbPath: dir.file('h.duckdb'),
      serviceName: 'monitoring-e2e',
      // Short, so perfwatch's own store metrics exist and move within the test.
      collectionIntervalMillis: 500,
      prometheusPort: 0,
      logger: captureLogger(),
    });
    // HTTP server metrics as an instrumented service records them: a steady trickle of requests,
    // one in ten failing, so rates, percentiles and the error ratio are all defined.
    const duration = perfwatch.meter.createHistogram('http.server.request.duration', { unit: 's' });
    let request = 0;
    const record = () => {
      request += 1;
      const failed = request % 10 === 0;
      duration.record(failed ? 0.8 : 0.02 + (request % 7) * 0.01, {
        'http.request.method': 'GET',
        'http.route': '/orders',
        'http.response.status_code': failed ? 500 : 200,
      });
    };
    for (let i = 0; i < 20; i++) record();
    traffic = setInterval(record, 20);

    // The shipped config, with only what a test must change: the target, fast intervals, and the
    // rule file's absolute path (the config now lives in the temp dir).
    const config = parse(await readFile(`${monitoring}prometheus.yml`, 'utf8'));
    config.global = { scrape_interval: '250ms', scrape_timeout: '200ms', evaluation_interval: '250ms' };
    config.rule_files = [`${monitoring}perfwatch-rules.yml`];
    expect(config.scrape_configs).toHaveLength(1);
    targets = [new URL(cliUrl!).host, new URL(perfwatch.prometheusUrl!).host].sort();
    config.scrape_configs[0].static_configs = [{ targets }];
    await writeFile(dir.file('prometheus.yml'), stringify(config));
    const check = promtool('check', 'config', dir.file('prometheus.yml'));
    expect(check.status, check.output).toBe(0);

    prometheus = await startPrometheus(dir.file('prometheus.yml'), dir.file('tsdb'));
    // Every test below needs at least one scrape: wait for it here (bounded), poll, no sleeps.
    await vi.waitFor(
      async () => expect(await prometheus.query('target_info{job="perfwatch"}')).toHaveLength(2),
      { timeout: 20_000, interval: 100 },
    );
  }, 45_000);

  afterAll(async () => {
    clearInterval(traffic);
    await prometheus?.stop();
    if (cli && cli.exitCode === null && cli.signalCode === null) {
      const exited = once(cli, 'exit');
      cli.kill('SIGTERM');
      const timer = setTimeout(() => cli.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(timer);
    }
    await perfwatch?.shutdown();
    await dir?.cleanup();
  });

  it('scrapes perfwatch under the job name the rules use', async () => {
    await vi.waitFor(
      async () => {
        const up = await prometheus.query('up{job="perfwatch"}');
        expect(up.map((sample) => [sample.metric.instance, sample.value[1]]).sort()).toEqual(
          targets.map((target) => [target, '1']),
        );
      },
      { timeout: 15_000, interval: 100 },
    );
  });

  it('evaluates the recording rules on live data', async () => {
    await vi.waitFor(
      async () => {
        const cpu = await prometheus.query('instance:system_cpu_utilization:rate5m{job="perfwatch"}');
        expect(cpu.map((sample) => sample.metric.instance).sort()).toEqual(targets);
        for (const sample of cpu) {
          expect(Number(sample.value[1])).toBeGreaterThanOrEqual(0);
          expect(Number(sample.value[1])).toBeLessThanOrEqual(1);
        }
        const errors = await prometheus.query('instance:http_server_request_errors:ratio_rate5m');
        expect(Number(errors[0]?.value[1])).toBeGreaterThan(0.05);
        expect(Number(errors[0]?.value[1])).toBeLessThan(0.2);
      },
      { timeout: 15_000, interval: 200 },
    );
  });

  it('evaluates every rule without errors', async () => {
    type Rule = { name: string; health: string; lastError?: string; lastEvaluation: string };
    await vi.waitFor(
      async () => {
        const { groups } = await prometheus.api<{ groups: { rules: Rule[] }[] }>('/api/v1/rules');
        const rules = groups.flatMap((group) => group.rules);
        expect(rules.length).toBeGreaterThan(20);
        const unhealthy = rules.filter((rule) => rule.health !== 'ok');
        expect(unhealthy.map((rule) => `${rule.name}: ${rule.health} ${rule.lastError ?? ''}`)).toEqual([]);
      },
      { timeout: 15_000, interval: 200 },
    );
  });

  it('answers every query of the Grafana dashboard with data', { timeout: 40_000 }, async () => {
    // The variables, resolved as Grafana resolves "All": the services of target_info, then
    // the instances of those services, each joined into a regex alternation.
    const anyOf = (values: string[]) => values.map((value) => value.replaceAll('.', '\\\\.')).join('|');
    const services = await prometheus.api<string[]>(
      `/api/v1/label/service_name/values?match[]=${encodeURIComponent('target_info{job="perfwatch"}')}`,
    );
    expect(services).toEqual(['monitoring-e2e', 'perfwatch']);
    const instances = await prometheus.api<string[]>(
      `/api/v1/label/instance/values?match[]=${encodeURIComponent(`target_info{job="perfwatch", service_name=~"${anyOf(services)}"}`)}`,
    );
    expect(instances).toEqual(targets);
    const substitute = (expr: string) =>
      expr
        .replaceAll('$instance', anyOf(instances))
        .replaceAll('$service', anyOf(services))
        .replaceAll('$__rate_interval', '1m');

    const panels = (perfwatchDashboard().panels ?? []).filter((panel) => panel.type !== 'row');
    const checked = panels.filter((panel) => !PANELS_WITHOUT_DATA_YET.has(panel.title ?? ''));
    expect(panels.length - checked.length).toBe(PANELS_WITHOUT_DATA_YET.size);
    const queries = checked.flatMap((panel) =>
      ((panel as { targets?: { expr: string }[] }).targets ?? []).map((target) => ({
        panel: panel.title,
        expr: substitute(target.expr),
      })),
    );
    expect(queries.length).toBeGreaterThan(checked.length);
    for (const query of queries) expect(query.expr).not.toContain('$');

    await vi.waitFor(
      async () => {
        const empty: string[] = [];
        for (const query of queries) {
          const result = await prometheus.query(query.expr);
          if (!result.some((sample) => Number.isFinite(Number(sample.value[1])))) {
            empty.push(`${query.panel}: ${query.expr}`);
          }
        }
        expect(empty).toEqual([]);
      },
      { timeout: 30_000, interval: 500 },
    );
  });
});
