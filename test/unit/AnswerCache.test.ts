import { describe, expect, it } from 'vitest';
import { AnswerCache } from '../../src/server/AnswerCache.js';
import { memoizeQueries } from '../../src/server/memoizeQueries.js';
import type { QueryRunner } from '../../src/store/QueryRunner.js';

/** A computation the test settles by hand, counting how often it was started. */
function pending() {
  let calls = 0;
  let settle: { resolve: (text: string) => void; reject: (error: Error) => void } | undefined;
  const compute = () => {
    calls++;
    return new Promise<string>((resolve, reject) => {
      settle = { resolve, reject };
    });
  };
  return {
    compute,
    calls: () => calls,
    resolve: (text: string) => settle?.resolve(text),
    reject: (e: Error) => settle?.reject(e),
  };
}

describe('AnswerCache', () => {
  it('shares one computation between identical requests, until the history changes', async () => {
    let version = 1;
    const cache = new AnswerCache(() => version);
    const work = pending();
    const first = cache.get('k', work.compute);
    const second = cache.get('k', work.compute);
    expect(work.calls()).toBe(1);
    work.resolve('{"a":1}');
    expect(await first).toBe('{"a":1}');
    expect(await second).toBe('{"a":1}');
    expect(await cache.get('k', work.compute)).toBe('{"a":1}');
    expect(work.calls()).toBe(1);
    version = 2;
    const third = cache.get('k', work.compute);
    expect(work.calls()).toBe(2);
    work.resolve('{"a":2}');
    expect(await third).toBe('{"a":2}');
  });

  it('forgets failures and evicts the least recently used beyond its size', async () => {
    const cache = new AnswerCache(() => 1, 2);
    const failing = pending();
    const failed = cache.get('bad', failing.compute);
    failing.reject(new Error('no'));
    await expect(failed).rejects.toThrow('no');
    const retried = pending();
    const again = cache.get('bad', retried.compute);
    expect(retried.calls()).toBe(1);
    retried.resolve('ok');
    await again;

    let computed = 0;
    const answer = (text: string) => async () => {
      computed++;
      return text;
    };
    await cache.get('a', answer('a'));
    await cache.get('b', answer('b'));
    await cache.get('a', answer('a')); // a is now the most recent
    await cache.get('c', answer('c')); // evicts b
    expect(computed).toBe(3);
    await cache.get('a', answer('a'));
    expect(computed).toBe(3);
    await cache.get('b', answer('b'));
    expect(computed).toBe(4);
  });
});

it('AnswerCache keeps at most maxSize characters of answers', async () => {
  const cache = new AnswerCache(() => 1, 100, 10);
  let computed = 0;
  const answer = (text: string) => async () => {
    computed++;
    return text;
  };
  await cache.get('a', answer('aaaaaa'));
  await cache.get('b', answer('bbbbbb')); // 12 characters: a goes
  await cache.get('b', answer('bbbbbb'));
  expect(computed).toBe(2);
  await cache.get('a', answer('aaaaaa'));
  expect(computed).toBe(3);
  await cache.get('big', answer('x'.repeat(11))); // larger than the whole cache: not kept
  await cache.get('big', answer('x'.repeat(11)));
  expect(computed).toBe(5);
  await cache.get('a', answer('aaaaaa')); // and it did not push the others out
  expect(computed).toBe(5);
});

describe('memoizeQueries', () => {
  it('runs each distinct SQL and parameters once', async () => {
    const asked: string[] = [];
    const runner: QueryRunner = {
      query: async (sql, params) => {
        asked.push(`${sql} ${JSON.stringify(params, (_k, v) => (typeof v === 'bigint' ? String(v) : v))}`);
        return [{ n: asked.length }];
      },
      queryNumbers: async () => ({}),
    };
    const db = memoizeQueries(runner);
    const [a, b] = await Promise.all([db.query('SELECT $1', [1n]), db.query('SELECT $1', [1n])]);
    expect(a).toBe(b);
    await db.query('SELECT $1', [2n]);
    await db.query('SELECT $1', [1n]);
    expect(asked).toEqual(['SELECT $1 ["1"]', 'SELECT $1 ["2"]']);
  });
});
