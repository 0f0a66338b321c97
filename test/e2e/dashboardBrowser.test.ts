import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningApiServer, startApiServer } from '../../src/server/startApiServer.js';
import { type PerfWatch, startPerfWatch } from '../../src/startPerfWatch.js';
import { captureLogger } from '../helpers/captureLogger.js';
import { launchChromium, plottedPixels } from '../helpers/chromium.js';
import { writeFixtureFile } from '../helpers/fixtureCollection.js';
import { manualScheduler } from '../helpers/manualScheduler.js';
import { seedPoints } from '../helpers/seedHistory.js';
import { tempDir } from '../helpers/tempDir.js';

/** Screenshots land here (git-ignored) for people to look at. */
const OUTPUT = join(process.cwd(), '.tmp', 'test-output');

/**
 * The dashboard page in a real browser against a running perfwatch on 127.0.0.1, port 0: charts
 * draw the seeded history, the regressions panel explains the seeded regression, a test alert
 * appears after one collection through the SSE stream, and nothing is requested elsewhere.
 */
describe('dashboard page in headless Chromium', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let perfwatch: PerfWatch;
  let api: RunningApiServer;
  let browser: BrowserContext;
  let page: Page;
  const requests: string[] = [];
  const consoleErrors: string[] = [];

  beforeAll(async () => {
    dir = await tempDir();
    const dbPath = dir.file('history.duckdb');
    await writeFixtureFile(dbPath, seedPoints(Date.now() / 1000));
    await writeFile(
      dir.file('rules.yaml'),
      [
        'rules:',
        '  - name: BrowserTestAlert',
        '    description: Fires as soon as app.browser_test.level is above 0.',
        '    selector: { metric: app.browser_test.level }',
        '    aggregation: last',
        "    comparison: '>'",
        '    threshold: 0',
        '    severity: critical',
        '',
      ].join('\n'),
    );
    perfwatch = await startPerfWatch({
      dbPath,
      serviceName: 'browser-test',
      collectionIntervalMillis: 60_000,
      prometheusPort: 0,
      regressionIntervalMinutes: 0,
      alertRulesPath: dir.file('rules.yaml'),
      defaultAlertRules: false,
      scheduler: manualScheduler(),
      logger: captureLogger(),
    });
    await perfwatch.store.rollUp();
    await perfwatch.regressions.runCycle();
    api = await startApiServer(perfwatch, { host: '127.0.0.1', port: 0 }, { logger: captureLogger() });
    // An hour of checkout before its memory rose: the last hour compares as degraded.
    const created = await fetch(`${api.url}/api/performance/benchmarks`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        name: 'before-rise',
        from: new Date(Date.now() - 5 * 3_600_000).toISOString(),
        to: new Date(Date.now() - 4 * 3_600_000).toISOString(),
        services: ['checkout'],
      }),
    });
    expect(created.status).toBe(201);
    browser = await launchChromium(dir.file('chromium-profile'));
    browser.on('request', (request) => requests.push(request.url()));
    page = await browser.newPage();
    page.on('console', (message) => {
      if (message.type() === 'error') consoleErrors.push(message.text());
    });
    page.on('pageerror', (error) => consoleErrors.push(error.message));
    await page.goto(`${api.url}/`);
    await page.waitForSelector('#live.on', { timeout: 10_000 });
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await api?.close();
    await perfwatch?.shutdown();
    await dir?.cleanup();
  });

  it('draws the CPU chart from the history', async () => {
    await page.selectOption('#range', '6h');
    await expect.poll(() => page.textContent('#status'), { timeout: 10_000 }).toContain('120 s buckets');
    const summary = await page.textContent('[data-panel="cpu"] .value');
    expect(summary).toMatch(/\d+(\.\d+)? % · avg \d+(\.\d+)? %/);
    // Plotted, not just an empty frame: pixels in the series' colour on the canvas.
    const plotted = await plottedPixels(page, 'cpu');
    expect(plotted).toBeGreaterThan(200);
    const memoryLegend = await page.textContent('[data-panel="memory"] .u-legend');
    expect(memoryLegend).toContain('used');
    const httpEmpty = await page.textContent('[data-panel="http-latency"] .empty');
    expect(httpEmpty).toContain('no HTTP metrics yet');
  });

  it('explains the seeded regression and charts it', async () => {
    const item = page.locator('#regressions li[data-regression]').first();
    await expect.poll(() => item.textContent(), { timeout: 10_000 }).toContain('process.memory.usage');
    expect(await item.textContent()).toMatch(/rose \d+(\.\d+)? %.* — a regression\./);
    await page.waitForSelector('#regressions li[data-regression] canvas', { timeout: 10_000 });
  });

  it('lists benchmarks; the compare button shows the verdicts', async () => {
    const item = page.locator('#benchmarks li[data-benchmark="before-rise"]');
    await item.locator('button.compare').click();
    await expect
      .poll(() => item.locator('.compare-result').textContent(), { timeout: 10_000 })
      .toMatch(/[1-9]\d* degraded/);
    expect(await item.locator('.compare-result').textContent()).toContain('process.memory.usage');
  });

  it('shows a firing alert within one collection, pushed through the event stream', async () => {
    expect(await page.textContent('#alerts')).toContain('No alert is firing');
    const response = await fetch(`${api.url}/api/performance/metrics`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'app.browser_test.level', value: 1 }),
    });
    expect(response.status).toBe(202);
    await perfwatch.forceFlush();
    await expect.poll(() => page.textContent('#alerts'), { timeout: 10_000 }).toContain('BrowserTestAlert');
    expect(await page.textContent('#alerts')).toContain('critical');
  });

  it('is readable on a phone-sized viewport; screenshots are written', async () => {
    await mkdir(OUTPUT, { recursive: true });
    await page.screenshot({ path: join(OUTPUT, 'dashboard-1280x800.png'), fullPage: true });
    await page.setViewportSize({ width: 390, height: 844 });
    const width = await page.$eval('html', (html: { scrollWidth: number }) => html.scrollWidth);
    expect(width).toBeLessThanOrEqual(390);
    await page.screenshot({ path: join(OUTPUT, 'dashboard-390x844.png') });
    expect(existsSync(join(OUTPUT, 'dashboard-390x844.png'))).toBe(true);
  });

  it('made no request beyond the server on 127.0.0.1 and logged no console error', () => {
    expect(requests.length).toBeGreaterThan(5);
    expect(requests.filter((url) => !url.startsWith(`${api.url}/`))).toEqual([]);
    expect(consoleErrors).toEqual([]);
  });
});
