import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { silentLogger } from '../src/logging/Logger.js';
import type { Scheduler } from '../src/scheduling/Scheduler.js';
import { startApiServer } from '../src/server/startApiServer.js';
import { startPerfWatch } from '../src/startPerfWatch.js';
import { launchChromium } from '../test/helpers/chromium.js';
import { dashboardBatch, writeDashboardHistory } from './dashboardHistory.js';
import { median, report } from './stats.js';

const HOURS = 24;
const INTERVAL_SECONDS = 10;
const CONNECTIONS = 50;
const DURATION_SECONDS = Number(process.env.PERFWATCH_BENCH_API_SECONDS ?? 10);
const PAGE_RUNS = 5;
const METRICS_PATH =
  '/api/performance/metrics?metric_name=process.memory.usage&service_name=bench-service&hours=1&step=10s';

function loadRows(name: string, result: autocannon.Result, target: string): [string, string, string][] {
  return [
    [`${name}, requests/s`, result.requests.average.toFixed(0), `${DURATION_SECONDS} s run`],
    [
      `${name}, median / p99`,
      `${result.latency.p50.toFixed(1)} / ${result.latency.p99.toFixed(1)} ms`,
      target,
    ],
    [`${name}, errors / non-2xx`, `${result.errors} / ${result.non2xx}`, 'must be 0 / 0'],
  ];
}

/** No collections while measuring: the figures are the API's, not the reader's. */
const idleScheduler: Scheduler = { every: () => ({ cancel: () => undefined }) };

/**
 * Runs in the page until the CPU chart's canvas has pixels in the series colour (#1565c0); its
 * value is the page's clock then: milliseconds since navigation started.
 */
const CPU_PLOTTED = `(() => {
  const canvas = document.querySelector('[data-panel="cpu"] canvas');
  if (!canvas || canvas.width === 0) return false;
  const { data } = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height);
  let count = 0;
  for (let i = 0; i < data.length; i += 4)
    if (Math.abs(data[i] - 0x15) < 30 && Math.abs(data[i + 1] - 0x65) < 30 && data[i + 2] > 160) count++;
  return count > 50 ? performance.now() : false;
})()`;

/**
 * The HTTP API and the page over 24 h of the dashboard's metrics at 10 s (≈ 216,000 points,
 * rolled up): `GET metrics` for 1 h of one metric at 10 s under 50 concurrent clients
 * (autocannon in a worker thread, the server on 127.0.0.1 in this process), and the page's first
 * render of the 24 h range in headless Chromium, from navigation to the CPU chart's plotted points.
 */
export async function benchApi(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'perfwatch-bench-api-'));
  const perfwatch = await startPerfWatch({
    dbPath: join(dir, 'history.duckdb'),
    collectionIntervalMillis: INTERVAL_SECONDS * 1000,
    hostMetrics: false,
    runtimeMetrics: false,
    prometheusEnabled: false,
    regressionIntervalMinutes: 0,
    scheduler: idleScheduler,
    logger: silentLogger,
  });
  try {
    let started = performance.now();
    const points = await writeDashboardHistory(perfwatch.store, HOURS, INTERVAL_SECONDS, Date.now() / 1000);
    const loadSeconds = (performance.now() - started) / 1000;
    const api = await startApiServer(perfwatch, { host: '127.0.0.1', port: 0 });
    try {
      const url = `${api.url}${METRICS_PATH}`;
      const answer = (await (await fetch(url)).json()) as {
        data: { series: { points: { value: number | null }[] }[] };
      };
      const plotted = answer.data.series[0]?.points.filter((point) => point.value !== null).length ?? 0;
      // Every answer computed: `limit` changes the cache key, not the work.
      const single: number[] = [];
      for (let i = 0; i < 50; i++) {
        started = performance.now();
        await (await fetch(`${url}&limit=${2000 + i}`)).arrayBuffer();
        single.push(performance.now() - started);
      }
      const steady = await autocannon({
        url,
        connections: CONNECTIONS,
        duration: DURATION_SECONDS,
        workers: 1,
      });
      // A collection written every second, as a busy central perfwatch sees: each one makes the
      // next request compute its answer again.
      const historyStart = Math.floor(Date.now() / 1000) - HOURS * 3600;
      const writeCollection = () =>
        perfwatch.store.writeCollection(
          dashboardBatch([Math.floor(Date.now() / 1000)], historyStart, INTERVAL_SECONDS),
        );
      const writer = setInterval(() => void writeCollection(), 1000);
      const writing = await autocannon({
        url,
        connections: CONNECTIONS,
        duration: DURATION_SECONDS,
        workers: 1,
      });
      clearInterval(writer);
      // No answer shared at all: what 50 clients asking 50 different questions wait for.
      const uncached = await autocannon({
        url,
        connections: CONNECTIONS,
        duration: DURATION_SECONDS,
        workers: 1,
        requests: [{ setupRequest: fileURLToPath(new URL('./uncachedMetricsRequest.cjs', import.meta.url)) }],
      });
      report(`HTTP API: GET metrics, 1 h of one metric at 10 s (${plotted} points per answer)`, [
        ['history', `${points.toLocaleString('en')} pts`, `written in ${loadSeconds.toFixed(1)} s`],
        ['one client, answer computed, median', `${median(single).toFixed(2)} ms`, ''],
        ...loadRows(`${CONNECTIONS} clients`, steady, 'target ≤ 20 ms median'),
        ...loadRows(`${CONNECTIONS} clients + a write/s`, writing, 'each write invalidates the answer'),
        ...loadRows(
          `${CONNECTIONS} clients, every answer computed`,
          uncached,
          'no cache hit: the query itself',
        ),
      ]);

      const browser = await launchChromium(join(dir, 'chromium-profile'), { bypassCSP: true });
      try {
        const rows: [string, string, string][] = [];
        for (const range of ['24h', '1h']) {
          const inPage: number[] = [];
          const answered: number[] = [];
          const requests: number[] = [];
          for (let run = 0; run < PAGE_RUNS; run++) {
            // A new collection first: the dashboard answer is computed, not the previous run's.
            await writeCollection();
            const page = await browser.newPage();
            let count = 0;
            page.on('request', () => count++);
            await page.goto(`${api.url}/?range=${range}`, { waitUntil: 'commit' });
            const plottedAt = await page.waitForFunction(CPU_PLOTTED, undefined, {
              polling: 'raf',
              timeout: 30_000,
            });
            inPage.push((await plottedAt.jsonValue()) as number);
            answered.push(
              (await page.evaluate(
                `performance.getEntriesByType('resource').find((e) => e.name.includes('/dashboard')).responseEnd`,
              )) as number,
            );
            requests.push(count);
            await page.close();
          }
          rows.push([
            `first render, ${range} range`,
            `${median(inPage).toFixed(0)} ms`,
            `${range === '24h' ? 'target ≤ 1.5 s; ' : ''}median of ${PAGE_RUNS}, ${median(requests)} requests by then`,
          ]);
          rows.push([`  GET dashboard answered at`, `${median(answered).toFixed(0)} ms`, '']);
        }
        report('Dashboard page in headless Chromium: navigation → CPU chart plotted', rows);
      } finally {
        await browser.close();
      }
    } finally {
      await api.close();
    }
  } finally {
    await perfwatch.shutdown();
    await rm(dir, { recursive: true, force: true });
  }
}
