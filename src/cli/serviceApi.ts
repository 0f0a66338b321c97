import { resolve } from 'node:path';
import { PerfWatchError, type StoreLockedError } from '../errors.js';

/** Where `perfwatch sql`/`query` look for the service holding the file: --api, else PERFWATCH_API_URL, else the default. */
export function apiBaseUrl(flag: string | undefined): string {
  return (flag ?? (process.env.PERFWATCH_API_URL?.trim() || 'http://127.0.0.1:9465')).replace(/\/+$/, '');
}

/**
 * Asks the running perfwatch that holds `locked.path` through its HTTP API. The service must
 * say it serves that very file (GET health), so a perfwatch of another file on the same port
 * never answers for this one. When no such service answers, the original lock error is raised
 * with what was tried; errors of the API itself (a refused statement) keep their code.
 */
export async function throughService<T>(
  baseUrl: string,
  locked: StoreLockedError,
  request: (call: ApiCall) => Promise<T>,
): Promise<T> {
  const call = apiCall(baseUrl);
  let servedPath: unknown;
  try {
    const health = (await call('GET', '/health')) as { database?: { path?: unknown } };
    servedPath = health.database?.path;
  } catch (error) {
    throw lockedWithHint(locked, `no perfwatch API answered at ${baseUrl} (${(error as Error).message})`);
  }
  if (servedPath !== resolve(locked.path)) {
    throw lockedWithHint(
      locked,
      `the perfwatch API at ${baseUrl} serves ${String(servedPath)}, not this file`,
    );
  }
  return request(call);
}

export type ApiCall = (method: 'GET' | 'POST', path: string, body?: object) => Promise<unknown>;

function apiCall(baseUrl: string): ApiCall {
  const token = process.env.PERFWATCH_API_TOKEN?.trim();
  return async (method, path, body) => {
    const response = await fetch(`${baseUrl}/api/performance${path}`, {
      method,
      headers: {
        accept: 'application/json',
        // Every mutating request says JSON, with or without a body: the API refuses others (CSRF).
        ...(method === 'GET' ? {} : { 'content-type': 'application/json' }),
        ...(token ? { authorization: `Bearer ${token}` } : {}),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      // Longer than the longest sandboxed query (300 s).
      signal: AbortSignal.timeout(310_000),
    });
    const envelope = (await response.json().catch(() => undefined)) as
      | { status: 'success'; data: unknown }
      | { status: 'error'; error: { code: string; message: string } }
      | undefined;
    if (envelope?.status === 'success') return envelope.data;
    if (envelope?.status === 'error') throw new PerfWatchError(envelope.error.code, envelope.error.message);
    throw new Error(`HTTP ${response.status} without a perfwatch answer`);
  };
}

function lockedWithHint(locked: StoreLockedError, tried: string): PerfWatchError {
  return new PerfWatchError(
    locked.code,
    `${locked.message}; ${tried}: start it with its HTTP API (the default) or pass --api URL (env PERFWATCH_API_URL)`,
    { cause: locked },
  );
}
