import { existsSync } from 'node:fs';
import { type BrowserContext, chromium, type Page } from 'playwright-core';

/** Debian's chromium (installed by .ci/run); no browser download. */
export const CHROMIUM = '/usr/bin/chromium';

/**
 * Headless Chromium with a throw-away profile and nothing running in the background, so every
 * request the page makes is one the test (or the benchmark) can see.
 */
export async function launchChromium(
  profileDir: string,
  options: {
    viewport?: { width: number; height: number };
    /** Let page.waitForFunction evaluate its predicate despite the page's CSP (benchmarks). */
    bypassCSP?: boolean;
  } = {},
): Promise<BrowserContext> {
  if (!existsSync(CHROMIUM))
    throw new Error(`${CHROMIUM} is missing: apt-get install chromium (as .ci/run does)`);
  return chromium.launchPersistentContext(profileDir, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: options.viewport ?? { width: 1280, height: 800 },
    bypassCSP: options.bypassCSP ?? false,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
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
 * Pixels in the first series' colour (#1565c0) on a dashboard panel's chart: plotted, not just an
 * empty frame. (Typed by hand: the tests compile without the DOM library.)
 */
export function plottedPixels(page: Page, panel: string): Promise<number> {
  return page.$eval(`[data-panel="${panel}"] canvas`, (canvas: CanvasLike) => {
    const { data } = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height);
    let count = 0;
    for (let i = 0; i < data.length; i += 4) {
      if (
        Math.abs((data[i] ?? 0) - 0x15) < 30 &&
        Math.abs((data[i + 1] ?? 0) - 0x65) < 30 &&
        (data[i + 2] ?? 0) > 160
      )
        count++;
    }
    return count;
  });
}
