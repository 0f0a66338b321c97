import { StoreError, StoreLockedError } from '../errors.js';

/**
 * DuckDB's open errors, made actionable: a lock held by another process becomes a
 * StoreLockedError naming its PID (DuckDB says "Conflicting lock is held in … (PID n)").
 */
export function translateOpenError(path: string, error: unknown): Error {
  const message = error instanceof Error ? error.message : String(error);
  if (/Conflicting lock|Could not set lock/i.test(message)) {
    const pid = /PID (\d+)/.exec(message)?.[1];
    return new StoreLockedError(path, pid === undefined ? undefined : Number(pid), { cause: error });
  }
  return new StoreError(`cannot open ${path}: ${message}`, { cause: error });
}
