import type { FixturePoint } from './fixtureCollection.js';

export const MINUTE = 60;
/** 2026-11-29T00:00:00Z in seconds. */
export const T0 = Date.UTC(2026, 10, 29) / 1000;

/** Deterministic noise: a seeded LCG and Box–Muller. */
function noise(seed: number): () => number {
  let state = seed;
  const uniform = () => {
    state = (state * 16807) % 2147483647;
    return state / 2147483647;
  };
  return () => Math.sqrt(-2 * Math.log(uniform())) * Math.cos(2 * Math.PI * uniform());
}

/**
 * 90 minutes of service `checkout` (host web-1), one collection a minute from `start` (seconds):
 * service.version 1.0.0 for the first hour, then 1.1.0 (a new process) with latency +50 %
 * (app.request.latency 100 → 150 ms; the request-duration histogram shifts up), memory −20 %
 * and orders +30 % (app.orders, a counter: 10 → 13 per second).
 */
export function benchmarkFixture(start = T0): FixturePoint[] {
  const next = noise(11);
  const points: FixturePoint[] = [];
  let orders = 0;
  const histogram = [0, 0, 0, 0, 0, 0];
  const deploy = 60;
  for (let i = 0; i < 90; i++) {
    const after = i >= deploy;
    const time = start + i * MINUTE;
    const resource = {
      'service.name': 'checkout',
      'host.name': 'web-1',
      'service.version': after ? '1.1.0' : '1.0.0',
    };
    const startTime = after ? start + deploy * MINUTE - 1 : start - 1;
    if (i === deploy) {
      orders = 0;
      histogram.fill(0);
    }
    orders += (after ? 780 : 600) + 30 * next();
    const shift = Math.round(3 * next());
    const perMinute = after ? [2, 30 - shift, 50 + shift, 14, 4, 0] : [10, 50 - shift, 30 + shift, 8, 2, 0];
    for (const [b, count] of perMinute.entries()) histogram[b]! += count;
    points.push(
      {
        metric: 'app.request.latency',
        kind: 'gauge',
        unit: 'ms',
        attributes: { 'http.route': '/pay' },
        time,
        value: after ? 150 + 7.5 * next() : 100 + 5 * next(),
        resource,
      },
      {
        metric: 'process.memory.usage',
        kind: 'gauge',
        unit: 'By',
        time,
        value: (after ? 160e6 : 200e6) + 2e6 * next(),
        resource,
      },
      { metric: 'app.orders', kind: 'counter', time, startTime, value: orders, resource },
      {
        metric: 'http.server.request.duration',
        kind: 'histogram',
        unit: 's',
        attributes: { 'http.route': '/pay' },
        time,
        startTime,
        histogram: { bounds: [0.05, 0.1, 0.2, 0.5, 1], counts: [...histogram], sum: 0 },
        resource,
      },
    );
  }
  return points;
}
