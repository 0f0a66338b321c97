import { describe, expect, it } from 'vitest';
import { TurnQueue } from '../../src/receiver/TurnQueue.js';

describe('TurnQueue', () => {
  it('grants turns in order, each in an event-loop turn of its own', async () => {
    // A ticker that counts check phases: two holders in one turn would see the same count.
    let turn = 0;
    let ticking = true;
    const tick = () => {
      turn++;
      if (ticking) setImmediate(tick);
    };
    setImmediate(tick);
    const turns = new TurnQueue();
    const seen: { holder: number; turn: number }[] = [];
    await Promise.all(
      [0, 1, 2, 3].map(async (holder) => {
        await turns.next();
        seen.push({ holder, turn });
      }),
    );
    ticking = false;
    expect(seen.map((entry) => entry.holder)).toEqual([0, 1, 2, 3]);
    const distinctTurns = new Set(seen.map((entry) => entry.turn));
    expect(distinctTurns.size).toBe(4);
  });

  it('lets I/O completions in between two holders', async () => {
    const turns = new TurnQueue();
    const order: string[] = [];
    const first = turns.next().then(() => {
      // Completes in a later phase than this turn's: it must not wait for every queued holder.
      setImmediate(() => order.push('completion'));
    });
    const rest = [1, 2, 3].map((holder) => turns.next().then(() => order.push(`holder ${holder}`)));
    await Promise.all([first, ...rest]);
    await new Promise((resolve) => setImmediate(resolve));
    expect(order.indexOf('completion')).toBeLessThan(order.indexOf('holder 3'));
  });
});
