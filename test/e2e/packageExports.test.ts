import { describe, expect, it } from 'vitest';

/** What a user gets from `import … from 'perfwatch'`: the built package through its exports map. */
describe('package exports', () => {
  it('resolves the public API from dist through the exports map', async () => {
    const perfwatch = await import('perfwatch');
    expect(typeof perfwatch.startPerfWatch).toBe('function');
    expect(typeof perfwatch.DuckDbMetricReader).toBe('function');
    expect(typeof perfwatch.queryTimeSeries).toBe('function');
    expect(typeof perfwatch.MetricStore.open).toBe('function');
    expect(typeof perfwatch.OtlpReceiver).toBe('function');
    expect(typeof perfwatch.startApiServer).toBe('function');
    expect(perfwatch.PERFWATCH_VERSION).toMatch(/^\d+\.\d+\.\d+/);
    expect(new perfwatch.ConfigError('x', 'y').code).toBe('PERFWATCH_CONFIG_INVALID');
    expect(() => perfwatch.parseRules('rules: [{name: R}]', 'r.yaml')).toThrow(perfwatch.RuleError);
    expect(new perfwatch.RuleError('R', 'for', 'bad').code).toBe('PERFWATCH_RULE_INVALID');
    for (const name of [
      'createBenchmark',
      'compareBenchmark',
      'deleteBenchmark',
      'listBenchmarks',
      'readBenchmark',
    ] as const)
      expect(typeof perfwatch[name]).toBe('function');
    expect(new perfwatch.BenchmarkError('exists', 'name', 'taken').code).toBe('PERFWATCH_BENCHMARK_EXISTS');
  });
});
