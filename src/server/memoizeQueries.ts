import type { DuckDBType, DuckDBValue } from '@duckdb/node-api';
import type { QueryRunner } from '../store/QueryRunner.js';

/**
 * A QueryRunner that runs each distinct (SQL, parameters) once and hands every later caller the
 * same answer: for one dashboard build, whose panels ask the same questions (the HTTP latency
 * quantiles, request rate and error-rate denominator all read the same histogram increases; every
 * panel looks up the rollup state). Only for a short-lived unit of work — answers are never
 * refreshed — and callers must not mutate what they get.
 */
export function memoizeQueries(runner: QueryRunner): QueryRunner {
  const answers = new Map<string, Promise<unknown>>();
  const once = <T>(kind: string, sql: string, params: unknown, types: unknown, run: () => Promise<T>) => {
    const key = JSON.stringify([kind, sql, params ?? null, types ?? null], bigintSafe);
    let answer = answers.get(key) as Promise<T> | undefined;
    if (answer === undefined) {
      answer = run();
      answers.set(key, answer);
      // A failed query is asked again by the next caller rather than failing it too.
      answer.catch(() => answers.delete(key));
    }
    return answer;
  };
  return {
    query: (
      sql: string,
      params?: DuckDBValue[] | Record<string, DuckDBValue>,
      types?: DuckDBType[] | Record<string, DuckDBType>,
    ) => once('rows', sql, params, types, () => runner.query(sql, params, types)),
    queryNumbers: (
      sql: string,
      params?: DuckDBValue[] | Record<string, DuckDBValue>,
      types?: DuckDBType[] | Record<string, DuckDBType>,
    ) => once('numbers', sql, params, types, () => runner.queryNumbers(sql, params, types)),
  };
}

function bigintSafe(_key: string, value: unknown): unknown {
  return typeof value === 'bigint' ? `${value}n` : value;
}
