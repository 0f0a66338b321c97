import type { Aggregation, LabelMatcher } from '../store/queryTimeSeries.js';
// One severity scale for regressions and alerts.
import type { Severity } from '../store/regressionRecords.js';

export type Comparison = '>' | '<' | '>=' | '<=' | '==' | '!=';

/** Which series a rule reads: one metric, narrowed by exact `where` matches and label matchers. */
export interface MetricSelector {
  readonly metric: string;
  /** Exact matches on point attributes, else resource attributes (`service.name`, `host.name`). */
  readonly where: Readonly<Record<string, string>>;
  readonly matchers: readonly LabelMatcher[];
}

/** A validated alert rule, durations in milliseconds. */
export interface AlertRule {
  readonly name: string;
  readonly description: string;
  /** One selector, or the ratio of two (numerator selectors are summed: make them disjoint). */
  readonly query:
    | { readonly kind: 'selector'; readonly selector: MetricSelector }
    | {
        readonly kind: 'ratio';
        readonly numerator: readonly MetricSelector[];
        readonly denominator: MetricSelector;
      };
  readonly aggregation: Aggregation;
  /** The window the aggregation runs over, ending at the evaluation time. */
  readonly windowMillis: number;
  /** Attribute keys that split the rule into one alert per value combination. */
  readonly groupBy: readonly string[];
  readonly comparison: Comparison;
  readonly threshold: number;
  /** How close counts as equal for `==` and `!=`. */
  readonly tolerance: number;
  /** How long the condition must hold before pending becomes firing. */
  readonly forMillis: number;
  /** A firing alert resolves only once the value no longer passes this (hysteresis). */
  readonly clearThreshold: number | undefined;
  /** A firing alert keeps firing this long after its condition cleared. */
  readonly keepFiringForMillis: number;
  readonly severity: Severity;
  readonly labels: Readonly<Record<string, string>>;
  readonly annotations: Readonly<Record<string, string>>;
  readonly enabled: boolean;
}
