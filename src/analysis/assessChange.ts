import type { ChangeKind, Severity } from '../store/regressionRecords.js';
import type { ChangePoint } from './detectChangePoints.js';
import type { MetricPolicy } from './metricPolicy.js';

/** What a change means for its metric: regression, improvement or neither, and how severe. */
export interface Assessment {
  readonly kind: ChangeKind;
  readonly severity: Severity;
  /** The change in the policy's unit: a fraction of the baseline, or an absolute difference. */
  readonly effect: number;
  readonly effectLow: number;
  readonly effectHigh: number;
}

/** p-values at or below this make a change "strongly significant", as `critical` needs. */
export const STRONG_P_VALUE = 1e-6;

/**
 * Direction-aware severity: a change in the metric's worse direction is a `warning` regression at
 * the minimum effect and `critical` at twice it with strong significance; smaller significant
 * changes and every improvement are `info`. Metrics with no worse direction (throughput) only
 * ever give `info` changes.
 */
export function assessChange(point: ChangePoint, policy: MetricPolicy): Assessment {
  const { effect, effectLow, effectHigh } = effectOf(point, policy);
  const size = Math.abs(effect);
  const meetsMinimum = size >= policy.minEffect;
  if (policy.worse === 'none') return { kind: 'change', severity: 'info', effect, effectLow, effectHigh };
  if (point.direction !== policy.worse) {
    return { kind: meetsMinimum ? 'improvement' : 'change', severity: 'info', effect, effectLow, effectHigh };
  }
  if (!meetsMinimum) return { kind: 'change', severity: 'info', effect, effectLow, effectHigh };
  const critical = size >= 2 * policy.minEffect && point.pValue <= STRONG_P_VALUE;
  return { kind: 'regression', severity: critical ? 'critical' : 'warning', effect, effectLow, effectHigh };
}

/**
 * The effect in the policy's unit. Relative effects divide by the baseline median (or mean, for
 * mean shifts); from a baseline of 0 any increase is unbounded and counts as large.
 */
function effectOf(point: ChangePoint, policy: MetricPolicy): Omit<Assessment, 'kind' | 'severity'> {
  if (policy.effect === 'absolute')
    return { effect: point.shift, effectLow: point.shiftLow, effectHigh: point.shiftHigh };
  const reference = Math.abs(Number.isNaN(point.shiftLow) ? point.before.mean : point.before.median);
  if (reference === 0) {
    const unbounded = point.shift === 0 ? 0 : Math.sign(point.shift) * Number.POSITIVE_INFINITY;
    return { effect: unbounded, effectLow: Number.NaN, effectHigh: Number.NaN };
  }
  return {
    effect: point.shift / reference,
    effectLow: point.shiftLow / reference,
    effectHigh: point.shiftHigh / reference,
  };
}
