import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningApiServer, startApiServer } from '../../src/server/startApiServer.js';
import { type PerfWatch, startPerfWatch } from '../../src/startPerfWatch.js';
import { captureLogger } from '../helpers/captureLogger.js';
import { launchChromium, plottedPixels } from '../helpers/chromium.js';
import { type FixturePoint, writeFixtureFile } from '../helpers/fixtureCollection.js';
import { manualScheduler } from '../helpers/manualScheduler.js';
import { seedPoints } from '../helpers/seedHistory.js';
import { tempDir } from '../helpers/tempDir.js';

/** The page's window as the phone test uses it. (Typed by hand: the tests compile without the DOM library.) */
interface PageWindow {
  phoneResize: Promise<void>;
  readonly innerWidth: number;
  addEventListener(type: 'resize', listener: () => void): void;
  removeEventListener(type: 'resize', listener: () => void): void;
}

/** A chart's box and the uPlot root inside it. */
interface ChartBox {
  readonly clientWidth: number;
  querySelector(selector: '.uplot'): { readonly offsetWidth: number } | null;
}

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
    // The page narrows its charts on the window's resize event, which the browser fires at the
    // next frame after the viewport changes. Measured before it, the page was as wide as a card
    // holding a chart of the 1280-px layout (437 px); Playwright happens to wait 500 ms after a
    // viewport change on Debian 12 and Ubuntu 22.04 hosts only. So the test waits for the resize
    // event reporting 390 px (the page's own listener, added first, has run by then).
    await page.evaluate(() => {
      const win = globalThis as unknown as PageWindow;
      win.phoneResize = new Promise((resolve) => {
        const listener = () => {
          if (win.innerWidth !== 390) return;
          win.removeEventListener('resize', listener);
          resolve();
        };
        win.addEventListener('resize', listener);
      });
    });
    await page.setViewportSize({ width: 390, height: 844 });
    await page.evaluate(() => (globalThis as unknown as PageWindow).phoneResize);
    const charts = await page.$$eval('[data-panel] .chart, #regressions .mini', (boxes: ChartBox[]) =>
      boxes.map((box) => ({ box: box.clientWidth, chart: box.querySelector('.uplot')?.offsetWidth ?? 0 })),
    );
    expect(charts.length).toBeGreaterThan(3);
    for (const { box, chart } of charts) expect(chart).toBeLessThanOrEqual(box);
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

/**
 * Ninety minutes of a service exporting every 60 s (the OTel SDK's default interval), one export
 * missed 20 minutes ago: HTTP request durations (some 5xx) and process memory.
 */
function sixtySecondHistory(nowSeconds: number): FixturePoint[] {
  const points: FixturePoint[] = [];
  const resource = { 'service.name': SIXTY_SECOND_SERVICE, 'host.name': 'web-2' };
  const bounds = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1];
  // Exports 17 s past the minute, as an SDK started at any moment sends them.
  const last = Math.floor((nowSeconds - 17) / 60) * 60 + 17;
  for (let minute = 90; minute >= 0; minute--) {
    if (minute === 20) continue;
    const time = last - minute * 60;
    // Cumulative since the first export: 40 requests a minute (10-50 ms), 2 failures (0.5-1 s).
    const exports = 91 - minute;
    const histogram = (counts: number[], sum: number) => ({ bounds, counts, sum: sum * exports });
    const ok = histogram([0, 0, 20 * exports, 20 * exports, 0, 0, 0, 0, 0], 40 * 0.03);
    const failed = histogram([0, 0, 0, 0, 0, 0, 0, 2 * exports, 0], 2 * 0.7);
    points.push(
      {
        metric: 'http.server.request.duration',
        kind: 'histogram',
        unit: 's',
        time,
        attributes: { 'http.route': '/checkout', 'http.response.status_code': 200 },
        histogram: ok,
        resource,
      },
      {
        metric: 'http.server.request.duration',
        kind: 'histogram',
        unit: 's',
        time,
        attributes: { 'http.route': '/checkout', 'http.response.status_code': 500 },
        histogram: failed,
        resource,
      },
      {
        metric: 'process.memory.usage',
        kind: 'gauge',
        unit: 'By',
        time,
        value: 80e6 + (minute % 7) * 1e6,
        resource,
      },
    );
  }
  return points;
}

const SIXTY_SECOND_SERVICE = 'checkout-example';

/**
 * Columns of a dashboard panel's canvas holding the first series' colour (#1565c0), as
 * [first column, last column, widest run of columns without it in between].
 */
function seriesColumns(page: Page, panel: string): Promise<[number, number, number]> {
  return page.$eval(`[data-panel="${panel}"] canvas`, (canvas: CanvasLike) => {
    const { data } = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height);
    const columns = new Array<boolean>(canvas.width).fill(false);
    for (let i = 0; i < data.length; i += 4) {
      if (
        Math.abs((data[i] ?? 0) - 0x15) < 30 &&
        Math.abs((data[i + 1] ?? 0) - 0x65) < 30 &&
        (data[i + 2] ?? 0) > 160
      )
        columns[(i / 4) % canvas.width] = true;
    }
    const first = columns.indexOf(true);
    const last = columns.lastIndexOf(true);
    let widest = 0;
    let run = 0;
    for (let x = first; x <= last && first >= 0; x++) {
      run = columns[x] ? 0 : run + 1;
      widest = Math.max(widest, run);
    }
    return [first, last, widest] as [number, number, number];
  });
}

interface CanvasLike {
  readonly width: number;
  readonly height: number;
  getContext(kind: '2d'): {
    getImageData(x: number, y: number, w: number, h: number): { data: ArrayLike<number> };
  };
}

/**
 * The page draws what the history holds: a service exporting every 60 s, shown by a perfwatch
 * collecting every 30 s (whose one-hour dashboard has 30 s buckets), gets lines — 60 s buckets
 * for its panels, so no bucket between two exports is empty, and a missed export is bridged.
 */
describe('dashboard page over a history collected every 60 s', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let perfwatch: PerfWatch;
  let api: RunningApiServer;
  let browser: BrowserContext;
  let page: Page;

  beforeAll(async () => {
    dir = await tempDir();
    const dbPath = dir.file('history.duckdb');
    await writeFixtureFile(dbPath, sixtySecondHistory(Date.now() / 1000));
    perfwatch = await startPerfWatch({
      dbPath,
      serviceName: 'browser-test',
      collectionIntervalMillis: 30_000,
      prometheusPort: 0,
      regressionIntervalMinutes: 0,
      defaultAlertRules: false,
      scheduler: manualScheduler(),
      logger: captureLogger(),
    });
    api = await startApiServer(perfwatch, { host: '127.0.0.1', port: 0 }, { logger: captureLogger() });
    browser = await launchChromium(dir.file('chromium-profile'));
    page = await browser.newPage();
    await page.goto(`${api.url}/?range=1h&service=${SIXTY_SECOND_SERVICE}`);
    await page.waitForSelector('[data-panel="http-errors"] canvas', { timeout: 10_000 });
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await api?.close();
    await perfwatch?.shutdown();
    await dir?.cleanup();
  });

  it('answers the 60 s panels in 60 s buckets: no empty bucket between two exports', async () => {
    const response = await fetch(
      `${api.url}/api/performance/dashboard?range=1h&series=true&service_name=${SIXTY_SECOND_SERVICE}`,
    );
    const { data } = (await response.json()) as {
      data: {
        stepSeconds: number;
        panels: {
          id: string;
          stepSeconds: number;
          times: number[];
          series: { values: (number | null)[] }[];
        }[];
      };
    };
    expect(data.stepSeconds).toBe(30);
    for (const id of ['http-rate', 'http-latency', 'http-errors', 'process-memory']) {
      const panel = data.panels.find((candidate) => candidate.id === id)!;
      expect(panel.stepSeconds, id).toBe(60);
      const values = panel.series[0]!.values;
      expect(values).toHaveLength(panel.times.length);
      expect(values.filter((value) => value !== null).length, id).toBeGreaterThan(50);
      // Empty buckets: the missed export, and at most the bucket still being collected.
      const empty = values.map((value, i) => (value === null ? i : -1)).filter((i) => i >= 0);
      expect(empty.filter((i) => i < values.length - 1).length, id).toBeLessThanOrEqual(1);
    }
  });

  it('draws the HTTP and memory lines, bridging the missed export', async () => {
    await mkdir(OUTPUT, { recursive: true });
    await page.screenshot({ path: join(OUTPUT, 'dashboard-60s-interval-1280x800.png'), fullPage: true });
    for (const panel of ['http-rate', 'http-latency', 'http-errors', 'process-memory']) {
      expect(await plottedPixels(page, panel), panel).toBeGreaterThan(200);
      const [first, last, widestGap] = await seriesColumns(page, panel);
      // Drawn across the hour, with no hole wider than a stroke's anti-aliasing.
      expect(last - first, panel).toBeGreaterThan(200);
      expect(widestGap, panel).toBeLessThanOrEqual(2);
    }
  });
});
