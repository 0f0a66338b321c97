import { describe, expect, it } from 'vitest';
import { compareSamples, formatPercent } from '../../src/analysis/compareSamples.js';
import { policyFor } from '../../src/analysis/metricPolicy.js';

/** Deterministic values around `level`: a fixed ±2 % zig-zag pattern, no randomness. */
function sample(level: number, n = 30): number[] {
  const pattern = [-0.02, 0.01, -0.005, 0.02, 0, -0.015, 0.005, 0.015, -0.01];
  return Array.from({ length: n }, (_, i) => level * (1 + pattern[i % pattern.length]!));
}

const latency = policyFor('http.server.request.duration', 's', 'p95', {}, []);
const throughput = policyFor('app.orders', '', 'rate', {}, []);
const freeMemory = policyFor('system.memory.usage', 'By', 'value', { 'system.memory.state': 'free' }, []);

describe('compareSamples', () => {
  it('calls a significant latency rise beyond the band degraded', () => {
    const result = compareSamples(sample(0.1), sample(0.15), latency);
    expect(result.verdict).toBe('degraded');
    expect(result.relativeChange).toBeCloseTo(0.5, 6);
    expect(result.test!.pValue).toBeLessThan(0.01);
    expect(result.test!.name).toBe('mann-whitney');
    expect(result.welch!.pValue).toBeLessThan(0.01);
    expect(result.reason).toBe('rose +50 % (p=2.7e-11); latency is worse when it rises');
  });

  it('calls a latency drop improved, never degraded', () => {
    const result = compareSamples(sample(0.15), sample(0.1), latency);
    expect(result.verdict).toBe('improved');
    expect(result.relativeChange).toBeCloseTo(-1 / 3, 6);
  });

  it('judges by the metric direction: less free memory is degraded, a user rule can flip it', () => {
    expect(compareSamples(sample(1000), sample(800), freeMemory).verdict).toBe('degraded');
    const ordersDown = policyFor('app.orders', '', 'rate', {}, [{ metric: 'app.*', worse: 'down' }]);
    expect(compareSamples(sample(10), sample(7), ordersDown).verdict).toBe('degraded');
    expect(compareSamples(sample(10), sample(13), ordersDown).verdict).toBe('improved');
  });

  it('keeps throughput (worse: none) stable and informational however much it changes', () => {
    for (const after of [sample(5), sample(20)]) {
      const result = compareSamples(sample(10), after, throughput);
      expect(result.verdict).toBe('stable');
      expect(result.reason).toMatch(
        /^informational: throughput metrics have no worse direction; changed [+−]/,
      );
      expect(result.test!.pValue).toBeLessThan(0.01);
    }
  });

  it('is stable within the ±5 % band even when significant, and outside it when not significant', () => {
    const small = compareSamples(sample(100, 200), sample(104, 200), latency);
    expect(small.test!.pValue).toBeLessThan(0.01);
    expect(small.verdict).toBe('stable');
    expect(small.reason).toMatch(/within the stable band of ±5 %$/);
    // A configurable band: ±2 % makes the same change a degradation.
    expect(compareSamples(sample(100, 200), sample(104, 200), latency, { stableBand: 0.02 }).verdict).toBe(
      'degraded',
    );
    // Large but noisy: one outlier moves the mean 20 %, the ranks do not move.
    const noisy = compareSamples(sample(100), [...sample(100).slice(1), 700], latency);
    expect(noisy.relativeChange).toBeGreaterThan(0.05);
    expect(noisy.verdict).toBe('stable');
    expect(noisy.reason).toMatch(/not significant at p < 0\.01$/);
  });

  it('needs enough values on both sides', () => {
    const result = compareSamples(sample(1, 4), sample(2, 30), latency);
    expect(result).toMatchObject({ verdict: 'insufficient_data', test: null, welch: null });
    expect(result.reason).toBe('4 baseline and 30 current values; at least 5 on each side are needed');
    expect(compareSamples([], sample(1), latency).relativeChange).toBeNaN();
  });

  it('formats percentages with sign, and infinities from a zero baseline', () => {
    expect(formatPercent(0.1234)).toBe('+12.3 %');
    expect(formatPercent(-0.5)).toBe('−50 %');
    expect(formatPercent(0.05, false)).toBe('5 %');
    const fromZero = compareSamples(Array(10).fill(0), sample(1, 10), latency);
    expect(fromZero.relativeChange).toBe(Number.POSITIVE_INFINITY);
    expect(fromZero.verdict).toBe('degraded');
  });
});
