import { PerfWatchError } from '../errors.js';

/** What a metric measures, which decides which direction is worse and how large a change matters. */
export type MetricClass =
  | 'cpu'
  | 'memory'
  | 'latency'
  | 'error_rate'
  | 'errors'
  | 'saturation'
  | 'throughput'
  | 'other';

/** Which direction of change is a regression; `none`: changes are informational only. */
export type WorseDirection = 'up' | 'down' | 'none';

export interface MetricPolicy {
  readonly metricClass: MetricClass;
  readonly worse: WorseDirection;
  /**
   * Smallest change that matters: a fraction of the baseline (0.2 = 20 %) for relative effects, or
   * an absolute difference for ratios (error rate: 0.05 = 5 percentage points).
   */
  readonly minEffect: number;
  readonly effect: 'relative' | 'absolute';
  readonly enabled: boolean;
  /** The rule that set this policy, when one did. */
  readonly rule?: string;
}

/** A user rule: series whose metric name matches `metric` (a glob) get these settings. */
export interface RegressionRule {
  /** Metric name glob (`*`, `?`, `[…]`), or `error_rate` for the derived HTTP error rate. */
  readonly metric: string;
  /** Which direction is worse; `none` makes every change informational. */
  readonly worse?: WorseDirection;
  /** Minimum effect (fraction of the baseline, or absolute for ratios). */
  readonly minEffect?: number;
  /** false: the series is not analysed at all. @default true */
  readonly enabled?: boolean;
}

export class RegressionRuleError extends PerfWatchError {
  constructor(
    readonly index: number,
    readonly field: string,
    rule: string,
  ) {
    super(
      'PERFWATCH_REGRESSION_RULE_INVALID',
      index < 0 ? `regression rules: ${rule}` : `regression rule ${index + 1}: ${field} ${rule}`,
    );
  }
}

/** The original's minimum effects: CPU 20 %, memory 15 %, response time 25 %, error rate +5 points, else 10 %. */
const DEFAULTS: Record<MetricClass, Omit<MetricPolicy, 'metricClass' | 'enabled'>> = {
  cpu: { worse: 'up', minEffect: 0.2, effect: 'relative' },
  memory: { worse: 'up', minEffect: 0.15, effect: 'relative' },
  latency: { worse: 'up', minEffect: 0.25, effect: 'relative' },
  error_rate: { worse: 'up', minEffect: 0.05, effect: 'absolute' },
  errors: { worse: 'up', minEffect: 0.1, effect: 'relative' },
  saturation: { worse: 'up', minEffect: 0.1, effect: 'relative' },
  throughput: { worse: 'none', minEffect: 0.1, effect: 'relative' },
  other: { worse: 'none', minEffect: 0.1, effect: 'relative' },
};

/** Attribute values saying that a memory or filesystem series counts what is still free. */
const FREE_STATES = new Set(['free', 'available', 'inactive']);

/**
 * The semantic class of a series from its name, unit, statistic and state attribute. Names follow
 * the OpenTelemetry semantic conventions (system.*, process.*, nodejs.*, v8js.*, http.*).
 */
export function classifyMetric(metric: string, unit: string, statistic: string): MetricClass {
  if (statistic === 'error_rate') return 'error_rate';
  const name = metric.toLowerCase();
  if (/error|fail|reject|drop|timeout|retr(y|ies)|exception/.test(name)) return 'errors';
  if (/cpu|eventloop\.utilization/.test(name)) return 'cpu';
  if (/memory|heap|\.rss\b|gc\.heap|external/.test(name)) return 'memory';
  if (/duration|latency|delay|response_time|responsetime|\.lag\b|gc\.pause/.test(name)) return 'latency';
  if (unit === 's' || unit === 'ms' || unit === 'us' || unit === 'ns') return 'latency';
  if (/utilization|usage|open|threads|connections|queue|pending|inflight|active|load_average|load/.test(name))
    return 'saturation';
  if (statistic === 'rate' || /requests|count|\.io\b|bytes|operations|throughput|packets/.test(name))
    return 'throughput';
  return 'other';
}

/**
 * The policy for one series: the last matching rule wins over the defaults of its class. A series
 * counting what is free (memory or disk `state=free`) is worse when it falls.
 */
export function policyFor(
  metric: string,
  unit: string,
  statistic: string,
  attributes: Readonly<Record<string, string | null>>,
  rules: readonly RegressionRule[],
): MetricPolicy {
  const metricClass = classifyMetric(metric, unit, statistic);
  const defaults = DEFAULTS[metricClass];
  const state =
    attributes['system.memory.state'] ?? attributes['system.filesystem.state'] ?? attributes.state;
  const freeSeries =
    (metricClass === 'memory' || metricClass === 'saturation') && FREE_STATES.has(state ?? '');
  let policy: MetricPolicy = {
    metricClass,
    ...defaults,
    worse: freeSeries ? 'down' : defaults.worse,
    enabled: true,
  };
  const subject = statistic === 'error_rate' ? 'error_rate' : metric;
  for (const [index, rule] of rules.entries()) {
    if (!globMatches(rule.metric, subject)) continue;
    policy = {
      ...policy,
      ...(rule.worse === undefined ? {} : { worse: rule.worse }),
      ...(rule.minEffect === undefined ? {} : { minEffect: rule.minEffect }),
      ...(rule.enabled === undefined ? {} : { enabled: rule.enabled }),
      rule: `#${index + 1} ${rule.metric}`,
    };
  }
  return policy;
}

/** Checks rules from a file or the API; throws a RegressionRuleError naming the rule and field. */
export function validateRegressionRules(rules: unknown): RegressionRule[] {
  if (!Array.isArray(rules)) throw new RegressionRuleError(-1, 'rules', 'must be an array of rules');
  return rules.map((rule: unknown, index) => {
    if (typeof rule !== 'object' || rule === null || Array.isArray(rule))
      throw new RegressionRuleError(index, 'rule', 'must be an object');
    const record = rule as Record<string, unknown>;
    for (const key of Object.keys(record)) {
      if (!['metric', 'worse', 'minEffect', 'enabled'].includes(key))
        throw new RegressionRuleError(index, key, 'is not a rule field (metric, worse, minEffect, enabled)');
    }
    if (typeof record.metric !== 'string' || record.metric.trim() === '')
      throw new RegressionRuleError(index, 'metric', 'must be a metric name or glob');
    if (record.worse !== undefined && !['up', 'down', 'none'].includes(record.worse as string))
      throw new RegressionRuleError(
        index,
        'worse',
        `must be up, down or none, got ${JSON.stringify(record.worse)}`,
      );
    if (
      record.minEffect !== undefined &&
      !(typeof record.minEffect === 'number' && record.minEffect > 0 && Number.isFinite(record.minEffect))
    )
      throw new RegressionRuleError(
        index,
        'minEffect',
        `must be a positive number, got ${JSON.stringify(record.minEffect)}`,
      );
    if (record.enabled !== undefined && typeof record.enabled !== 'boolean')
      throw new RegressionRuleError(index, 'enabled', 'must be true or false');
    return record as unknown as RegressionRule;
  });
}

/** Glob as in the history queries: `*`, `?` and `[…]` classes. */
export function globMatches(glob: string, subject: string): boolean {
  let pattern = '^';
  for (let i = 0; i < glob.length; i++) {
    const char = glob[i]!;
    if (char === '*') pattern += '.*';
    else if (char === '?') pattern += '.';
    else if (char === '[') {
      const end = glob.indexOf(']', i + 1);
      if (end < 0) pattern += '\\[';
      else {
        const body = glob.slice(i + 1, end);
        pattern += `[${body.startsWith('!') ? `^${body.slice(1)}` : body}]`;
        i = end;
      }
    } else pattern += char.replace(/[.+^${}()|\\]/g, '\\$&');
  }
  return new RegExp(`${pattern}$`).test(subject);
}
