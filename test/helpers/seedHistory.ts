import type { FixturePoint } from './fixtureCollection.js';

const MINUTES = 360;
const CHANGE_MINUTE = 240;

/** Deterministic noise in [-0.5, 0.5): a seeded LCG, so tests never flake. */
function noise(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state * 16807) % 2147483647;
    return state / 2147483647 - 0.5;
  };
}

/**
 * Six hours of one-minute points ending at `nowSeconds`: host CPU and memory for the dashboard
 * charts, and service `checkout`'s process memory rising by half two hours ago (a clear regression).
 */
export function seedPoints(nowSeconds: number): FixturePoint[] {
  const points: FixturePoint[] = [];
  const start = Math.floor(nowSeconds / 60) * 60 - MINUTES * 60;
  const checkout = { 'service.name': 'checkout', 'service.version': '1.0.0', 'host.name': 'web-1' };
  const next = noise(7);
  for (let minute = 0; minute < MINUTES; minute++) {
    const time = start + minute * 60;
    const wiggle = next() * 0.04;
    points.push(
      {
        metric: 'system.cpu.utilization',
        kind: 'gauge',
        time,
        value: 0.7 + wiggle + Math.sin(minute / 20) * 0.1,
        attributes: { 'system.cpu.state': 'idle' },
      },
      {
        metric: 'system.cpu.utilization',
        kind: 'gauge',
        time,
        value: 0.2 - wiggle / 2,
        attributes: { 'system.cpu.state': 'user' },
      },
      {
        metric: 'system.memory.utilization',
        kind: 'gauge',
        time,
        value: 0.45 + wiggle,
        attributes: { 'system.memory.state': 'used' },
      },
      {
        metric: 'process.memory.usage',
        kind: 'gauge',
        unit: 'By',
        time,
        value: (minute < CHANGE_MINUTE ? 100e6 : 150e6) * (1 + wiggle / 4),
        resource: checkout,
      },
    );
  }
  return points;
}
