import { once } from 'node:events';
import { OTLPMetricExporter } from '@opentelemetry/exporter-metrics-otlp-proto';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { MeterProvider, PeriodicExportingMetricReader } from '@opentelemetry/sdk-metrics';
import type { BrowserContext } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium, plottedPixels } from '../helpers/chromium.js';
import { spawnCli, stderrContaining, stopCli } from '../helpers/runCli.js';
import { tempDir } from '../helpers/tempDir.js';

const TOKEN = 'serve-dashboard-token-0123';

/** The fields of the API envelopes this test reads. */
interface Envelope {
  data: {
    series: { points: { value: number | null }[] }[];
    receiver: { pointsWritten: number };
  };
  error: { code: string; message: string };
}

/**
 * `perfwatch serve` end to end: a service exports with the official OTLP/protobuf exporter, the
 * points come back through `GET metrics`, and the dashboard page — opened before any data
 * arrived — shows them after the event stream announces the received write.
 */
describe('perfwatch serve: HTTP API and dashboard over received metrics', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let child: ReturnType<typeof spawnCli>;
  let browser: BrowserContext;
  let provider: MeterProvider;
  let receiverUrl: string;
  let apiUrl: string;

  beforeAll(async () => {
    dir = await tempDir();
    child = spawnCli(['serve', '--db', dir.file('central.duckdb'), '--port', '0', '--token', TOKEN]);
    // The browser starts while the CLI does.
    const [banner, launched] = await Promise.all([
      stderrContaining(child, 'Ctrl-C to stop'),
      launchChromium(dir.file('chromium-profile')),
    ]);
    browser = launched;
    receiverUrl = /receiving OTLP\/HTTP metrics at (http:\/\/\S+\/v1\/metrics)/.exec(banner)?.[1] as string;
    apiUrl = /dashboard and API (http:\/\/\S+?)\/[;,]/.exec(banner)?.[1] as string;
    expect(receiverUrl).toBeDefined();
    expect(apiUrl).toBeDefined();
    provider = new MeterProvider({
      resource: resourceFromAttributes({ 'service.name': 'remote-shop', 'service.version': '2.0.0' }),
      readers: [
        new PeriodicExportingMetricReader({
          exporter: new OTLPMetricExporter({
            url: receiverUrl,
            headers: { Authorization: `Bearer ${TOKEN}` },
          }),
          exportIntervalMillis: 3_600_000,
        }),
      ],
    });
  }, 60_000);

  afterAll(async () => {
    await provider?.shutdown().catch(() => undefined);
    await browser?.close();
    if (child !== undefined) await stopCli(child, 'SIGKILL');
    await dir?.cleanup();
  });

  it('shows what the official exporter sent: GET metrics, health, and the live page', async () => {
    const page = await browser.newPage();
    const dashboards: string[] = [];
    page.on('request', (request) => {
      if (request.url().includes('/api/performance/dashboard')) dashboards.push(request.url());
    });
    await page.goto(`${apiUrl}/`);
    await page.waitForSelector('#live.on', { timeout: 10_000 });
    expect(await page.textContent('[data-panel="cpu"] .empty')).toContain('no system.cpu.utilization');

    const meter = provider.getMeter('shop');
    meter.createGauge('system.cpu.utilization', { unit: '1' }).record(0.75, { 'system.cpu.state': 'idle' });
    const duration = meter.createHistogram('http.server.request.duration', { unit: 's' });
    // Two exports: latency quantiles come from the increase between two cumulative points.
    for (const batch of [
      [0.01, 0.02],
      [0.05, 0.3, 0.04],
    ]) {
      for (const seconds of batch)
        duration.record(seconds, { 'http.route': '/pay', 'http.response.status_code': 200 });
      await provider.forceFlush();
    }

    const api = async (path: string, init?: RequestInit) => {
      const response = await fetch(`${apiUrl}/api/performance${path}`, init);
      return { status: response.status, body: (await response.json()) as Envelope };
    };
    const metrics = await api(
      '/metrics?metric_name=system.cpu.utilization&service_name=remote-shop&hours=1&aggregation=last',
    );
    expect(metrics.status).toBe(200);
    const values = metrics.body.data.series[0]!.points.map((point) => point.value).filter(
      (value) => value !== null,
    );
    expect(values).toEqual([0.75]);

    const health = await api('/health');
    expect(health.body.data.receiver).toMatchObject({ url: receiverUrl, writeErrors: 0, pendingPoints: 0 });
    expect(health.body.data.receiver.pointsWritten).toBe(4);

    // The page loaded before any data: the event stream's collection event (≤ 1 s after the
    // write) makes it reload, and the service selector learns the new service.
    await expect
      .poll(() => page.textContent('[data-panel="cpu"] .value'), { timeout: 10_000 })
      .toContain('25 %');
    expect(await plottedPixels(page, 'cpu')).toBeGreaterThan(0);
    await page.waitForSelector('#service option[value="remote-shop"]', {
      state: 'attached',
      timeout: 10_000,
    });
    await page.selectOption('#service', 'remote-shop');
    await expect.poll(() => page.textContent('#status'), { timeout: 10_000 }).toContain('remote-shop');
    await page.waitForSelector('[data-panel="http-latency"] canvas', { timeout: 10_000 });
    expect(dashboards.length).toBeGreaterThanOrEqual(3);

    // Routes that need serve's own MeterProvider: POST metrics records on it (service.name
    // perfwatch); there is no Prometheus exporter to show.
    const prometheus = await api('/prometheus');
    expect(prometheus.status).toBe(404);
    expect(prometheus.body.error.code).toBe('PERFWATCH_PROMETHEUS_DISABLED');
    expect(prometheus.body.error.message).toContain('perfwatch serve');
    const recorded = await api('/metrics', {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` },
      body: JSON.stringify({ name: 'central.note', value: 1 }),
    });
    expect(recorded.status).toBe(202);

    await page.close();
    child.kill('SIGTERM');
    const [code] = await once(child, 'exit');
    expect(code).toBe(0);
  }, 60_000);
});
