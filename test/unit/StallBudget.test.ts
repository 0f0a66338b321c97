import { describe, expect, it } from 'vitest';
import { StallBudget } from '../../src/store/StallBudget.js';

describe('StallBudget', () => {
  it('yields to the event loop only once 4 ms are spent, then starts a new budget', async () => {
    let now = 1000;
    const budget = new StallBudget(() => now);
    const turnPassed = () => {
      let passed = false;
      setImmediate(() => {
        passed = true;
      });
      return () => passed;
    };

    now = 1003.9;
    let passed = turnPassed();
    await budget.pause();
    expect(passed()).toBe(false); // 3.9 ms: keeps the loop

    now = 1004;
    passed = turnPassed();
    await budget.pause();
    expect(passed()).toBe(true); // 4 ms: yields

    now = 1007;
    passed = turnPassed();
    await budget.pause();
    expect(passed()).toBe(false); // 3 ms into the new budget
  });
});
