import { describe, expect, it } from 'vitest';
import { assessChange } from '../../src/analysis/assessChange.js';
import type { ChangePoint } from '../../src/analysis/detectChangePoints.js';
import { explainChange, formatValue } from '../../src/analysis/explainChange.js';
import {
  classifyMetric,
  globMatches,
  policyFor,
  RegressionRuleError,
  validateRegressionRules,
} from '../../src/analysis/metricPolicy.js';
import { summarize } from '../../src/analysis/statistics.js';

describe('classifyMetric and policyFor', () => {
  it.each([
    ['system.cpu.utilization', '1', 'value', 'cpu'],
    ['process.cpu.time', 's', 'rate', 'cpu'],
    ['nodejs.eventloop.utilization', '1', 'value', 'cpu'],
    ['process.memory.usage', 'By', 'value', 'memory'],
    ['v8js.memory.heap.used', 'By', 'value', 'memory'],
    ['http.server.request.duration', 's', 'p95', 'latency'],
    ['nodejs.eventloop.delay.p99', 's', 'value', 'latency'],
    ['v8js.gc.duration', 's', 'p99', 'latency'],
    ['http.server.request.duration', '1', 'error_rate', 'error_rate'],
    ['system.network.errors', '{error}', 'rate', 'errors'],
    ['system.filesystem.utilization', '1', 'value', 'saturation'],
    ['process.open_file_descriptor.count', '{file_descriptor}', 'value', 'saturation'],
    ['system.network.io', 'By', 'rate', 'throughput'],
    ['orders.placed', '{order}', 'rate', 'throughput'],
    ['temperature', 'Cel', 'value', 'other'],
  ])('%s (%s, %s) is %s', (metric, unit, statistic, expected) => {
    expect(classifyMetric(metric, unit, statistic)).toBe(expected);
  });

  it('uses the original minimum effects and higher-is-worse for resources', () => {
    expect(policyFor('system.cpu.utilization', '1', 'value', {}, [])).toMatchObject({
      worse: 'up',
      minEffect: 0.2,
    });
    expect(policyFor('process.memory.usage', 'By', 'value', {}, [])).toMatchObject({
      worse: 'up',
      minEffect: 0.15,
    });
    expect(policyFor('http.server.request.duration', 's', 'p95', {}, [])).toMatchObject({
      worse: 'up',
      minEffect: 0.25,
    });
    expect(policyFor('http.server.request.duration', '1', 'error_rate', {}, [])).toMatchObject({
      worse: 'up',
      minEffect: 0.05,
      effect: 'absolute',
    });
    expect(policyFor('orders.placed', '{order}', 'rate', {}, [])).toMatchObject({
      worse: 'none',
      minEffect: 0.1,
    });
  });

  it('treats free memory and free disk as worse when they fall', () => {
    expect(
      policyFor('system.memory.usage', 'By', 'value', { 'system.memory.state': 'free' }, []),
    ).toMatchObject({
      worse: 'down',
    });
    expect(
      policyFor('system.memory.usage', 'By', 'value', { 'system.memory.state': 'used' }, []),
    ).toMatchObject({
      worse: 'up',
    });
  });

  it('applies matching rules in order, the last one winning', () => {
    const rules = validateRegressionRules([
      { metric: 'orders.*', worse: 'down', minEffect: 0.3 },
      { metric: 'orders.placed', enabled: false },
      { metric: 'error_rate', minEffect: 0.01 },
    ]);
    expect(policyFor('orders.placed', '{order}', 'rate', {}, rules)).toMatchObject({
      worse: 'down',
      minEffect: 0.3,
      enabled: false,
      rule: '#2 orders.placed',
    });
    expect(policyFor('orders.cancelled', '{order}', 'rate', {}, rules)).toMatchObject({
      worse: 'down',
      enabled: true,
    });
    expect(policyFor('http.server.request.duration', '1', 'error_rate', {}, rules).minEffect).toBe(0.01);
  });

  it.each([
    [{}, 'regression rules: must be an array of rules'],
    [[{ metric: '' }], 'regression rule 1: metric must be a metric name or glob'],
    [
      [{ metric: 'a', worse: 'sideways' }],
      'regression rule 1: worse must be up, down or none, got "sideways"',
    ],
    [
      [{ metric: 'a' }, { metric: 'b', minEffect: -1 }],
      'regression rule 2: minEffect must be a positive number, got -1',
    ],
    [[{ metric: 'a', enabled: 'yes' }], 'regression rule 1: enabled must be true or false'],
    [[{ metric: 'a', threshold: 3 }], 'regression rule 1: threshold is not a rule field'],
  ])('rejects %j naming the rule and field', (rules, message) => {
    expect(() => validateRegressionRules(rules)).toThrow(RegressionRuleError);
    expect(() => validateRegressionRules(rules)).toThrow(message);
  });

  it('matches globs like the history queries', () => {
    expect(globMatches('http.*.duration', 'http.server.request.duration')).toBe(true);
    expect(globMatches('system.cpu.?', 'system.cpu.x')).toBe(true);
    expect(globMatches('system.[cm]*', 'system.memory.usage')).toBe(true);
    expect(globMatches('system.[!cm]*', 'system.memory.usage')).toBe(false);
    expect(globMatches('a.b', 'aXb')).toBe(false);
  });
});

function change(before: number[], after: number[], pValue = 1e-9): ChangePoint {
  const b = summarize(before);
  const a = summarize(after);
  const shift = a.median - b.median;
  return {
    index: before.length,
    before: b,
    after: a,
    shift,
    shiftLow: shift * 0.9,
    shiftHigh: shift * 1.1,
    relativeChange: shift / Math.abs(b.median),
    pValue,
    test: 'mann-whitney',
    direction: shift > 0 ? 'up' : 'down',
  };
}

describe('assessChange', () => {
  const latency = policyFor('http.server.request.duration', 's', 'p95', {}, []);

  it('grades regressions by the minimum effect and significance', () => {
    expect(assessChange(change([1, 1, 1], [1.3, 1.3, 1.3]), latency)).toMatchObject({
      kind: 'regression',
      severity: 'warning',
    });
    expect(assessChange(change([1, 1, 1], [1.6, 1.6, 1.6]), latency)).toMatchObject({
      kind: 'regression',
      severity: 'critical',
    });
    // Twice the minimum effect, but not strongly significant: a warning.
    expect(assessChange(change([1, 1, 1], [1.6, 1.6, 1.6], 1e-4), latency).severity).toBe('warning');
    expect(assessChange(change([1, 1, 1], [1.1, 1.1, 1.1]), latency)).toMatchObject({
      kind: 'change',
      severity: 'info',
    });
  });

  it('never calls an improvement a regression', () => {
    expect(assessChange(change([1, 1, 1], [0.2, 0.2, 0.2]), latency)).toMatchObject({
      kind: 'improvement',
      severity: 'info',
    });
  });

  it('reports throughput changes as informational', () => {
    const throughput = policyFor('orders.placed', '{order}', 'rate', {}, []);
    expect(assessChange(change([100, 100], [10, 10]), throughput)).toMatchObject({
      kind: 'change',
      severity: 'info',
    });
  });
});

describe('explainChange', () => {
  it('writes one sentence with the amount, interval, values, time and deploy', () => {
    expect(
      explainChange({
        metric: 'http.server.request.duration',
        statistic: 'p95',
        unit: 's',
        service: 'checkout',
        labels: { 'http.route': '/pay', 'error.type': null },
        kind: 'regression',
        direction: 'up',
        changeTime: new Date('2026-11-29T14:02:00Z'),
        before: 0.12,
        after: 0.166,
        effect: 0.383,
        effectLow: 0.31,
        effectHigh: 0.45,
        effectKind: 'relative',
        deploy: { from: '1.4.0', to: '1.5.0' },
      }),
    ).toBe(
      'p95 of http.server.request.duration {http.route=/pay} for checkout rose 38.3 % (95 % CI 31–45 %) from 120 ms to 166 ms at 14:02 UTC, right after service.version 1.4.0 → 1.5.0 — a regression.',
    );
  });

  it('formats values in their units', () => {
    expect(formatValue(0.00042, 's')).toBe('420 µs');
    expect(formatValue(3 * 1024 * 1024, 'By')).toBe('3 MiB');
    expect(formatValue(0.255, '1')).toBe('25.5 %');
    expect(formatValue(12, '{request}')).toBe('12');
  });
});
