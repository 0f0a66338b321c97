import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { BrowserContext } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium, plottedPixels } from '../helpers/chromium.js';
import { spawnCli, stderrContaining, stopCli } from '../helpers/runCli.js';
import { tempDir } from '../helpers/tempDir.js';

/** Screenshots land here (git-ignored) for people to look at. */
const OUTPUT = join(process.cwd(), '.tmp', 'test-output');

/**
 * The page as a user first meets it: `perfwatch start` (the CLI, collecting every second) on a new
 * database, opened in Chromium. The CPU chart plots what the process collected itself, and a test
 * alert fed through `POST metrics` shows up, pushed by the event stream, without console errors.
 */
describe('perfwatch start: the dashboard page in headless Chromium', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let child: ReturnType<typeof spawnCli>;
  let browser: BrowserContext;
  let apiUrl: string;

  beforeAll(async () => {
    dir = await tempDir();
    await writeFile(
      dir.file('rules.yaml'),
      [
        'rules:',
        '  - name: StartPageTestAlert',
        '    description: Fires as soon as app.start_page_test.level is above 0.',
        '    selector: { metric: app.start_page_test.level }',
        '    aggregation: last',
        "    comparison: '>'",
        '    threshold: 0',
        '    severity: warning',
        '',
      ].join('\n'),
    );
    child = spawnCli([
      'start',
      '--db',
      dir.file('history.duckdb'),
      '--interval',
      '1',
      '--no-prometheus',
      '--no-default-rules',
      '--rules',
      dir.file('rules.yaml'),
    ]);
    const [banner, launched] = await Promise.all([
      stderrContaining(child, 'Ctrl-C to stop'),
      launchChromium(dir.file('chromium-profile')),
    ]);
    browser = launched;
    apiUrl = /dashboard and API (http:\/\/127\.0\.0\.1:\d+)\//.exec(banner)?.[1] as string;
    expect(apiUrl).toBeDefined();
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    if (child !== undefined) await stopCli(child, 'SIGKILL');
    await dir?.cleanup();
  });

  it('plots the CPU chart, shows a firing test alert within a collection, writes a screenshot', async () => {
    const page = await browser.newPage();
    const consoleErrors: string[] = [];
    page.on('console', (message) => {
      if (message.type() === 'error') consoleErrors.push(message.text());
    });
    page.on('pageerror', (error) => consoleErrors.push(error.message));
    const elsewhere: string[] = [];
    page.on('request', (request) => {
      if (!request.url().startsWith(apiUrl)) elsewhere.push(request.url());
    });
    await page.goto(`${apiUrl}/?range=15m`);
    await page.waitForSelector('#live.on', { timeout: 10_000 });
    // The page reloads on collection events: wait until the CPU chart has a line on it.
    await expect
      .poll(() => plottedPixels(page, 'cpu').catch(() => 0), { timeout: 20_000 })
      .toBeGreaterThan(20);
    expect(await page.textContent('#alerts')).toContain('No alert is firing');

    const recorded = await fetch(`${apiUrl}/api/performance/metrics`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'app.start_page_test.level', value: 1 }),
    });
    expect(recorded.status).toBe(202);
    // Collected within a second, evaluated right after, announced on the event stream.
    await expect.poll(() => page.textContent('#alerts'), { timeout: 15_000 }).toContain('StartPageTestAlert');
    expect(await page.textContent('#alerts')).toContain('warning');

    await mkdir(OUTPUT, { recursive: true });
    const screenshot = join(OUTPUT, 'start-dashboard-1280x800.png');
    await page.screenshot({ path: screenshot, fullPage: true });
    expect(existsSync(screenshot)).toBe(true);
    expect(consoleErrors).toEqual([]);
    expect(elsewhere).toEqual([]);
  });
});
