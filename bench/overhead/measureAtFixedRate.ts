import { setTimeout as sleep } from 'node:timers/promises';
import autocannon from 'autocannon';
import type { Variant } from './instrument.js';
import { processCpuMillis } from './processCpu.js';
import type { RunningServer } from './startServer.js';

export interface FixedRateWindow {
  /** Server CPU (all threads) per request over the window, in µs. */
  cpuMicrosPerRequest: number;
  requestsPerSecond: number;
  p99Millis: number;
  errors: number;
}

export interface FixedRateMeasurement {
  variant: Variant;
  handler: string;
  /** CPU per second with no requests (scrapes, collections, exports go on), in ms. */
  idleCpuMillisPerSecond: number;
  windows: FixedRateWindow[];
}

export interface FixedRateOptions {
  handlers: readonly string[];
  /** Requests per second sent to each server, per handler. */
  ratePerServer: Readonly<Record<string, number>>;
  windows: number;
  windowSeconds: number;
  warmupSeconds: number;
  idleSeconds: number;
  connections: number;
}

/**
 * Every server under the same fixed request rate at the same time, its CPU read from /proc per
 * window. The servers share one core and every window, so a drift of the machine's speed (this VM
 * varies by up to ±25 % from one run to the next) moves them all alike and cancels in the ratios,
 * where comparing separate saturated runs cannot resolve a few per cent. The rate keeps the core
 * below saturation, so each server gets the CPU it asks for and none is slowed by the others' load.
 */
export async function measureAtFixedRate(
  servers: readonly RunningServer[],
  options: FixedRateOptions,
): Promise<FixedRateMeasurement[]> {
  const cpuOf = () => servers.map((server) => processCpuMillis(server.process.pid!));
  const load = (handler: string, seconds: number) =>
    Promise.all(
      servers.map((server) =>
        autocannon({
          url: `http://127.0.0.1:${server.port}/${handler}`,
          duration: seconds,
          connections: options.connections,
          overallRate: options.ratePerServer[handler]!,
        }),
      ),
    );

  // Warm up first: the idle window is measured after start-up's one-off work is done.
  await load(options.handlers[0]!, options.warmupSeconds);
  const idleBefore = cpuOf();
  await sleep(options.idleSeconds * 1000);
  const idleCpu = cpuOf().map((cpu, i) => (cpu - idleBefore[i]!) / options.idleSeconds);

  const measurements: FixedRateMeasurement[] = [];
  for (const handler of options.handlers) {
    const rows = servers.map((server, i) => ({
      variant: server.variant,
      handler,
      idleCpuMillisPerSecond: idleCpu[i]!,
      windows: [] as FixedRateWindow[],
    }));
    if (handler !== options.handlers[0]) await load(handler, 2);
    for (let window = 0; window < options.windows; window++) {
      const before = cpuOf();
      const results = await load(handler, options.windowSeconds);
      const after = cpuOf();
      results.forEach((result, i) => {
        const cpu = after[i]! - before[i]!;
        rows[i]!.windows.push({
          cpuMicrosPerRequest: (cpu * 1000) / result.requests.total,
          requestsPerSecond: result.requests.average,
          p99Millis: result.latency.p99,
          errors: result.errors + result.timeouts + result.non2xx,
        });
      });
    }
    measurements.push(...rows);
  }
  return measurements;
}
