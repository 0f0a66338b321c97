import { describe, expect, it } from 'vitest';
import type { AlertRule } from '../../src/alerts/AlertRule.js';
import { compare, INACTIVE, nextState, type SeriesState } from '../../src/alerts/alertState.js';
import { parseRules } from '../../src/alerts/parseRules.js';

function rule(extra: string): AlertRule {
  return parseRules(
    `rules:\n  - name: R\n    selector: {metric: m}\n    comparison: '>'\n    threshold: 90\n${extra}`,
  )[0]!;
}

/** Feeds values one per minute from t = 0 and returns the state and event after each. */
function run(r: AlertRule, values: (number | null)[]): { states: string[]; events: (string | undefined)[] } {
  let state: SeriesState = INACTIVE;
  const states: string[] = [];
  const events: (string | undefined)[] = [];
  values.forEach((value, i) => {
    const { next, transition } = nextState(r, state, value, i * 60_000);
    state = next;
    states.push(next.state);
    events.push(transition?.event);
  });
  return { states, events };
}

describe('nextState', () => {
  it('goes pending, then firing only once the condition held for `for`, then resolves', () => {
    const r = rule('    for: 3m\n');
    const { states, events } = run(r, [50, 95, 95, 95, 95, 80, 80]);
    expect(states).toEqual(['inactive', 'pending', 'pending', 'pending', 'firing', 'inactive', 'inactive']);
    expect(events).toEqual([undefined, 'pending', undefined, undefined, 'firing', 'resolved', undefined]);
  });

  it('drops a pending alert back to inactive when the condition stops holding before `for`', () => {
    const { states } = run(rule('    for: 5m\n'), [95, 95, 80, 95]);
    expect(states).toEqual(['pending', 'pending', 'inactive', 'pending']);
  });

  it('fires at once without `for`', () => {
    expect(run(rule(''), [95]).states).toEqual(['firing']);
  });

  it('keeps the activation and firing times while firing', () => {
    const r = rule('    for: 1m\n');
    let state: SeriesState = INACTIVE;
    for (const [t, v] of [
      [0, 95],
      [60_000, 95],
      [120_000, 99],
    ] as const)
      state = nextState(r, state, v, t).next;
    expect(state).toMatchObject({ state: 'firing', activeAt: 0, firedAt: 60_000, value: 99 });
  });

  it('does not flap on a value oscillating around the threshold with a clear threshold', () => {
    const oscillating = [95, 89, 91, 88, 92, 89, 91, 80];
    const plain = run(rule(''), oscillating);
    expect(plain.events.filter((e) => e === 'firing')).toHaveLength(4);
    const damped = run(rule('    clear_threshold: 85\n'), oscillating);
    expect(damped.states).toEqual([
      'firing',
      'firing',
      'firing',
      'firing',
      'firing',
      'firing',
      'firing',
      'inactive',
    ]);
    expect(damped.events.filter((e) => e !== undefined)).toEqual(['firing', 'resolved']);
  });

  it('keeps firing for keep_firing_for after the condition cleared, and resets it when it returns', () => {
    const r = rule('    keep_firing_for: 2m\n');
    expect(run(r, [95, 80, 80, 80]).states).toEqual(['firing', 'firing', 'firing', 'inactive']);
    expect(run(r, [95, 80, 95, 80, 80, 80]).states).toEqual([
      'firing',
      'firing',
      'firing',
      'firing',
      'firing',
      'inactive',
    ]);
  });

  it('treats no data as its own state, never as ok, and leaves it when data returns', () => {
    const { states, events } = run(rule('    for: 1m\n'), [null, null, 95, 95, null, 50]);
    expect(states).toEqual(['nodata', 'nodata', 'pending', 'firing', 'nodata', 'inactive']);
    expect(events).toEqual(['nodata', undefined, 'pending', 'firing', 'nodata', 'inactive']);
  });
});

describe('compare', () => {
  it('applies every comparison, == and != with the tolerance', () => {
    expect(compare(2, '>', 1, 0)).toBe(true);
    expect(compare(1, '>', 1, 0)).toBe(false);
    expect(compare(1, '>=', 1, 0)).toBe(true);
    expect(compare(0, '<', 1, 0)).toBe(true);
    expect(compare(1, '<=', 1, 0)).toBe(true);
    expect(compare(1.0000001, '==', 1, 1e-6)).toBe(true);
    expect(compare(1.1, '==', 1, 1e-6)).toBe(false);
    expect(compare(1.0000001, '!=', 1, 1e-6)).toBe(false);
    expect(compare(1.1, '!=', 1, 1e-6)).toBe(true);
  });
});
