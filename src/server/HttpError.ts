import { PerfWatchError } from '../errors.js';

/**
 * An error of the HTTP layer itself, with its status. Codes are stable, as every PerfWatchError's:
 * PERFWATCH_REQUEST_INVALID (400), PERFWATCH_UNAUTHORIZED (401), PERFWATCH_NOT_FOUND (404),
 * PERFWATCH_BODY_TOO_LARGE (413), PERFWATCH_UNSUPPORTED_MEDIA_TYPE (415).
 */
export class HttpError extends PerfWatchError {
  constructor(
    readonly statusCode: number,
    code: string,
    message: string,
    readonly details: Readonly<Record<string, unknown>> = {},
  ) {
    super(code, message);
  }
}

export function notFound(what: string, details: Record<string, unknown> = {}): HttpError {
  return new HttpError(404, 'PERFWATCH_NOT_FOUND', `${what} not found`, details);
}
