import { describe, expect, it } from 'vitest';
import { WriteQueue } from '../../src/receiver/WriteQueue.js';
import type { StoredResourceMetrics } from '../../src/store/StoredResourceMetrics.js';

/** Stand-ins for converted requests: the queue never looks inside them. */
const request = (name: string) => ({ name }) as unknown as StoredResourceMetrics;

/** A writer whose first write waits for `release`, recording each transaction's contents. */
function gatedWriter(failOn?: string) {
  const transactions: string[][] = [];
  let release: () => void = () => undefined;
  const gate = new Promise<void>((resolve) => {
    release = resolve;
  });
  return {
    transactions,
    release: () => release(),
    async writeCollections(batch: readonly StoredResourceMetrics[]) {
      const names = batch.map((entry) => (entry as unknown as { name: string }).name);
      transactions.push(names);
      if (transactions.length === 1) await gate;
      if (failOn !== undefined && names.includes(failOn)) throw new Error(`cannot store ${failOn}`);
      return { points: batch.length, newSeries: 0 };
    },
  };
}

describe('WriteQueue', () => {
  it('writes requests that arrive during a transaction together in the next one', async () => {
    const writer = gatedWriter();
    const queue = new WriteQueue(writer, 100, 100);
    const first = queue.offer([request('a')], 1);
    const second = queue.offer([request('b')], 1);
    const third = queue.offer([request('c'), request('d')], 2);
    expect(queue.pendingPoints).toBe(4);
    writer.release();
    await Promise.all([first, second, third]);
    expect(writer.transactions).toEqual([['a'], ['b', 'c', 'd']]);
    expect(queue.pendingPoints).toBe(0);
  });

  it('gives each request of a group commit the points the store refused of its own collections', async () => {
    const writer = gatedWriter();
    const refusing = {
      async writeCollections(batch: readonly StoredResourceMetrics[]) {
        await writer.writeCollections(batch);
        // One refused point per collection named with an r.
        const refusedByCollection = batch.map((entry) =>
          (entry as unknown as { name: string }).name.startsWith('r') ? 1 : 0,
        );
        return { refusedByCollection, refusal: 'a series limit' };
      },
    };
    const queue = new WriteQueue(refusing, 100, 100);
    const first = queue.offer([request('a')], 1);
    const second = queue.offer([request('r1'), request('b'), request('r2')], 3);
    const third = queue.offer([request('c')], 1);
    writer.release();
    expect(await first).toEqual({ refused: 0, refusal: undefined });
    expect(await second).toEqual({ refused: 2, refusal: 'a series limit' });
    expect(await third).toEqual({ refused: 0, refusal: undefined });
    expect(writer.transactions).toEqual([['a'], ['r1', 'b', 'r2', 'c']]);
  });

  it('refuses what does not fit while points wait, but always takes a request into an empty queue', async () => {
    const writer = gatedWriter();
    const queue = new WriteQueue(writer, 10, 100);
    const big = queue.offer([request('big')], 25);
    expect(big).toBeDefined();
    expect(queue.isFull).toBe(true);
    expect(queue.offer([request('more')], 1)).toBeUndefined();
    writer.release();
    await big;
    expect(queue.isFull).toBe(false);
    await expect(queue.offer([request('later')], 1)).resolves.toEqual({ refused: 0, refusal: undefined });
  });

  it('splits a failed group commit so only the request that cannot be stored fails', async () => {
    const writer = gatedWriter('bad');
    const queue = new WriteQueue(writer, 100, 100);
    const first = queue.offer([request('a')], 1);
    const good = queue.offer([request('b')], 1);
    const bad = queue.offer([request('bad')], 1);
    writer.release();
    await first;
    await expect(good).resolves.toEqual({ refused: 0, refusal: undefined });
    await expect(bad).rejects.toThrow('cannot store bad');
    expect(writer.transactions).toEqual([['a'], ['b', 'bad'], ['b'], ['bad']]);
    await queue.flush();
    expect(queue.pendingPoints).toBe(0);
  });

  it('caps the points per transaction', async () => {
    const writer = gatedWriter();
    const queue = new WriteQueue(writer, 100, 3);
    const all = [queue.offer([request('a')], 1)];
    for (const name of ['b', 'c', 'd', 'e']) all.push(queue.offer([request(name)], 2));
    writer.release();
    await Promise.all(all);
    expect(writer.transactions).toEqual([['a'], ['b'], ['c'], ['d'], ['e']]);
  });
});
