import { describe, expect, it } from 'vitest';
import { parseRules } from '../../src/alerts/parseRules.js';
import { RuleError } from '../../src/errors.js';

function errorOf(text: string): RuleError {
  try {
    parseRules(text, 'rules.yaml');
  } catch (error) {
    expect(error).toBeInstanceOf(RuleError);
    return error as RuleError;
  }
  throw new Error('expected a RuleError');
}

const base = `rules:
  - name: HighCpu
    selector: {metric: system.cpu.utilization, where: {system.cpu.state: idle}}
    comparison: '<'
    threshold: 0.1
`;

describe('parseRules', () => {
  it('fills the documented defaults', () => {
    const [rule] = parseRules(base);
    expect(rule).toMatchObject({
      name: 'HighCpu',
      aggregation: 'avg',
      windowMillis: 300_000,
      forMillis: 0,
      keepFiringForMillis: 0,
      severity: 'warning',
      enabled: true,
      groupBy: [],
      query: {
        kind: 'selector',
        selector: { metric: 'system.cpu.utilization', where: { 'system.cpu.state': 'idle' } },
      },
    });
  });

  it('reads JSON, a ratio with summed numerators, matchers, service and durations', () => {
    const [rule] = parseRules(
      JSON.stringify({
        rules: [
          {
            name: 'Errors',
            ratio: {
              numerator: [
                { metric: 'http.server.request.duration', matchers: ['http.response.status_code=~"5.."'] },
                {
                  metric: 'http.server.request.duration',
                  matchers: ['error.type!=', 'http.response.status_code!~5..'],
                },
              ],
              denominator: { metric: 'http.server.request.duration', service: 'checkout' },
            },
            window: '90s',
            for: '1.5m',
            keep_firing_for: '250ms',
            comparison: '>',
            threshold: 0.05,
          },
        ],
      }),
    );
    expect(rule!.aggregation).toBe('rate');
    expect(rule!.windowMillis).toBe(90_000);
    expect(rule!.forMillis).toBe(90_000);
    expect(rule!.keepFiringForMillis).toBe(250);
    expect(rule!.query).toEqual({
      kind: 'ratio',
      numerator: [
        {
          metric: 'http.server.request.duration',
          where: {},
          matchers: [{ key: 'http.response.status_code', op: '=~', value: '5..' }],
        },
        {
          metric: 'http.server.request.duration',
          where: {},
          matchers: [
            { key: 'error.type', op: '!=', value: '' },
            { key: 'http.response.status_code', op: '!~', value: '5..' },
          ],
        },
      ],
      denominator: {
        metric: 'http.server.request.duration',
        where: { 'service.name': 'checkout' },
        matchers: [],
      },
    });
  });

  it.each([
    ['an unknown comparison', base.replace("'<'", "'=>'"), 'HighCpu', 'comparison', 'must be one of'],
    ['a negative for', `${base}    for: -5m\n`, 'HighCpu', 'for', 'duration'],
    ['a zero window', `${base}    window: 0s\n`, 'HighCpu', 'window', 'not zero'],
    ['an unknown field', `${base}    threshhold: 3\n`, 'HighCpu', 'threshhold', 'unknown field'],
    ['a missing threshold', base.replace('    threshold: 0.1\n', ''), 'HighCpu', 'threshold', 'is required'],
    [
      'an unknown aggregation',
      `${base}    aggregation: median\n`,
      'HighCpu',
      'aggregation',
      'must be one of',
    ],
    ['a bad severity', `${base}    severity: high\n`, 'HighCpu', 'severity', 'info, warning, critical'],
    ['a non-string label', `${base}    labels: {team: 3}\n`, 'HighCpu', 'labels.team', 'string'],
    [
      'an unparseable matcher',
      `${base.replace('}}', '}, matchers: [nothing]}')}`,
      'HighCpu',
      'selector.matchers[0]',
      'KEY=VALUE',
    ],
    [
      'an invalid regex',
      `${base.replace('}}', '}, matchers: ["a=~(x"]}')}`,
      'HighCpu',
      'selector.matchers[0]',
      'regular expression',
    ],
    [
      'a glob metric',
      base.replace('system.cpu.utilization', 'system.cpu.*'),
      'HighCpu',
      'selector.metric',
      'glob',
    ],
    [
      'a clear threshold on the wrong side',
      `${base}    clear_threshold: 0.05\n`,
      'HighCpu',
      'clear_threshold',
      'at least',
    ],
    [
      'a clear threshold with ==',
      `${base.replace("'<'", "'=='")}    clear_threshold: 0.2\n`,
      'HighCpu',
      'clear_threshold',
      'cannot be used',
    ],
    [
      'both selector and ratio',
      `${base}    ratio: {numerator: {metric: a}, denominator: {metric: b}}\n`,
      'HighCpu',
      'selector',
      'exactly one',
    ],
    [
      'a ratio without denominator',
      base.replace(/selector: .*\n/, 'ratio: {numerator: {metric: a}}\n'),
      'HighCpu',
      'ratio.denominator',
      'is required',
    ],
    [
      'a bad field inside a ratio numerator list',
      base.replace(
        /selector: .*\n/,
        'ratio: {numerator: [{metric: a}, {metrc: b}], denominator: {metric: b}}\n',
      ),
      'HighCpu',
      'ratio.numerator[1].metrc',
      'unknown field',
    ],
  ])('names rule and field for %s', (_case, text, rule, field, message) => {
    const error = errorOf(text);
    expect(error.code).toBe('PERFWATCH_RULE_INVALID');
    expect(error.rule).toBe(rule);
    expect(error.field).toBe(field);
    expect(error.message).toContain(`rules.yaml: rule "${rule}": ${field}: `);
    expect(error.message).toContain(message);
  });

  it('names a rule without a valid name by its position', () => {
    const error = errorOf(
      `${base}  - name: 42\n    selector: {metric: m}\n    comparison: '>'\n    threshold: 1\n`,
    );
    expect(error.rule).toBe('#2');
    expect(error.field).toBe('name');
    expect(error.message).toContain('rule "#2": name: must be string');
  });

  it('refuses duplicate names, malformed YAML and a file without rules', () => {
    expect(errorOf(`${base}${base.replace('rules:\n', '')}`).message).toContain(
      'rule "HighCpu": name: is used by an earlier rule',
    );
    expect(errorOf('rules: [\n').message).toMatch(/rules.yaml: file: not valid YAML or JSON \(line \d+\)/);
    expect(errorOf('{}').field).toBe('rules');
    expect(errorOf('').message).toBe('rules.yaml: file: is empty; it needs a `rules:` list');
    expect(errorOf('rules: {}').message).toBe('rules.yaml: rules: must be array');
  });
});
