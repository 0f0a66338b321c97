import type { AlertRule, Comparison } from './AlertRule.js';

/** Where one alert series stands. `nodata`: the window held no value for it, which is not "ok". */
export type AlertState = 'inactive' | 'pending' | 'firing' | 'nodata';
/** What a transition records: the new state, or `resolved` when a firing alert's condition clears. */
export type AlertEventState = AlertState | 'resolved';

export interface SeriesState {
  readonly state: AlertState;
  /** Latest evaluated value (null when there was no data). */
  readonly value: number | null;
  /** When the condition started to hold (pending or firing), epoch ms. */
  readonly activeAt?: number;
  /** When the alert started firing, epoch ms. */
  readonly firedAt?: number;
  /** When a firing alert's condition stopped holding, while keep_firing_for holds it (epoch ms). */
  readonly clearSince?: number;
}

export interface Transition {
  readonly from: AlertState;
  readonly to: AlertState;
  /** The event recorded: `to`, except `resolved` for firing → inactive. */
  readonly event: AlertEventState;
}

export const INACTIVE: SeriesState = Object.freeze({ state: 'inactive', value: null });

/**
 * One evaluation step of an alert series, with Prometheus' semantics: the condition must hold for
 * `for` before pending becomes firing (a condition that stops holding while pending goes back to
 * inactive); a firing alert stops firing only once the value no longer passes the clear threshold
 * (hysteresis, so a value hovering at the line does not flap) and after `keep_firing_for` more.
 */
export function nextState(
  rule: AlertRule,
  previous: SeriesState,
  value: number | null,
  now: number,
): { next: SeriesState; transition?: Transition } {
  const next = advance(rule, previous, value, now);
  const transition = transitionOf(previous, next);
  return transition === undefined ? { next } : { next, transition };
}

/** The transition from `previous` to `next`, if the state changed. */
export function transitionOf(previous: SeriesState, next: SeriesState): Transition | undefined {
  if (next.state === previous.state) return undefined;
  return {
    from: previous.state,
    to: next.state,
    event: previous.state === 'firing' && next.state === 'inactive' ? 'resolved' : next.state,
  };
}

/** nextState's new state alone: the step evaluations take for every alert series. */
export function advance(
  rule: AlertRule,
  previous: SeriesState,
  value: number | null,
  now: number,
): SeriesState {
  if (value === null) return previous.state === 'nodata' ? previous : NODATA;

  if (previous.state === 'firing') {
    const limit = rule.clearThreshold ?? rule.threshold;
    if (compare(value, rule.comparison, limit, rule.tolerance)) {
      return {
        state: 'firing',
        value,
        activeAt: previous.activeAt ?? now,
        firedAt: previous.firedAt ?? now,
      };
    }
    const clearSince = previous.clearSince ?? now;
    if (now - clearSince < rule.keepFiringForMillis) return { ...previous, value, clearSince };
    return { state: 'inactive', value };
  }

  if (!compare(value, rule.comparison, rule.threshold, rule.tolerance)) return { state: 'inactive', value };
  const activeAt = previous.state === 'pending' ? (previous.activeAt ?? now) : now;
  if (now - activeAt >= rule.forMillis) return { state: 'firing', value, activeAt, firedAt: now };
  return { state: 'pending', value, activeAt };
}

const NODATA: SeriesState = Object.freeze({ state: 'nodata', value: null });

/** Whether `value comparison threshold` holds; `==` and `!=` allow `tolerance` of difference. */
export function compare(
  value: number,
  comparison: Comparison,
  threshold: number,
  tolerance: number,
): boolean {
  switch (comparison) {
    case '>':
      return value > threshold;
    case '>=':
      return value >= threshold;
    case '<':
      return value < threshold;
    case '<=':
      return value <= threshold;
    case '==':
      return Math.abs(value - threshold) <= tolerance;
    case '!=':
      return Math.abs(value - threshold) > tolerance;
  }
}
