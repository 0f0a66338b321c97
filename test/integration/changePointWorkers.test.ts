import { describe, expect, it } from 'vitest';
import { ChangePointWorkers } from '../../src/analysis/ChangePointWorkers.js';
import { AnalysisInputError, detectChangePoints } from '../../src/analysis/detectChangePoints.js';
import { silentLogger } from '../../src/logging/Logger.js';

/** Deterministic series: noise around a level that steps at `at` (if given), gaps every 37th. */
function series(seed: number, length: number, step?: { at: number; by: number }): (number | null)[] {
  return Array.from({ length }, (_, i) => {
    if (i % 37 === 36) return null;
    const x = Math.sin((i + 1) * 12.9898 + seed * 78.233) * 43_758.5453;
    const noise = 2 * (x - Math.floor(x)) - 1;
    return 10 + noise + (step !== undefined && i >= step.at ? step.by : 0);
  });
}

const inputs = [
  series(1, 600, { at: 400, by: 3 }),
  series(2, 600),
  series(3, 2880, { at: 1000, by: -4 }),
  Float64Array.from(series(4, 300, { at: 150, by: 2 }), (value) => value ?? Number.NaN),
  [],
];

describe('ChangePointWorkers', () => {
  it('gives what detectChangePoints gives on this thread, for every series, in any number at once', async () => {
    const workers = new ChangePointWorkers(silentLogger);
    try {
      const answers = await Promise.all(inputs.map((values) => workers.detect(values, { minSegment: 5 })));
      expect(answers).toEqual(inputs.map((values) => detectChangePoints(values, { minSegment: 5 })));
      expect(answers[0]!.length).toBeGreaterThan(0);
      expect(workers.inFlight).toBe(0);
      expect(workers.threaded).toBe(true);
    } finally {
      await workers.close();
    }
  });

  it('refuses what detectChangePoints refuses, with its error', async () => {
    const workers = new ChangePointWorkers(silentLogger);
    try {
      await expect(workers.detect([1, 'two' as unknown as number, 3], {})).rejects.toBeInstanceOf(
        AnalysisInputError,
      );
    } finally {
      await workers.close();
    }
  });

  it('answers on this thread what a worker that died had not answered, and everything after', async () => {
    const workers = new ChangePointWorkers(silentLogger);
    const asked = inputs.map((values) => workers.detect(values, { minSegment: 5 }));
    // The worker thread ends under the requests (as an out-of-memory kill would end it).
    await (workers as unknown as { worker: { terminate(): Promise<number> } }).worker.terminate();
    const after = workers.detect(inputs[0]!, { minSegment: 5 });
    const expected = inputs.map((values) => detectChangePoints(values, { minSegment: 5 }));
    expect(await Promise.all(asked)).toEqual(expected);
    expect(await after).toEqual(expected[0]);
    expect(workers.threaded).toBe(false);
    await workers.close();
  });
});
