import { describe, expect, it } from 'vitest';
import { ReceivedWrites } from '../../src/receiver/ReceivedWrites.js';

describe('ReceivedWrites', () => {
  it('counts committed points and failed writes, announces only commits, and passes failures on', async () => {
    let fail = false;
    let announced = 0;
    let now = 1_000;
    const writes = new ReceivedWrites(
      {
        writeCollections: async (batch) => {
          if (fail) throw new Error('disk full');
          return { points: batch.length * 10, newSeries: 0, refusedPoints: 0, refusedByCollection: [0, 0] };
        },
      },
      () => now,
      () => announced++,
    );
    expect(await writes.writeCollections([{} as never, {} as never])).toEqual({
      points: 20,
      newSeries: 0,
      refusedPoints: 0,
      refusedByCollection: [0, 0],
    });
    fail = true;
    now = 2_000;
    await expect(writes.writeCollections([{} as never])).rejects.toThrow('disk full');
    expect(announced).toBe(1);
    expect(writes.status).toEqual({
      pointsWritten: 20,
      batchesWritten: 1,
      writeErrors: 1,
      lastWriteAt: new Date(1_000),
      lastErrorAt: new Date(2_000),
    });
  });
});
