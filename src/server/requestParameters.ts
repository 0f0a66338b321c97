import { HttpError } from './HttpError.js';

/** JSON Schema pieces shared by the routes' querystrings. */
export const HOURS = (defaultHours?: number) =>
  ({
    type: 'integer',
    minimum: 1,
    maximum: 168,
    ...(defaultHours === undefined ? {} : { default: defaultHours }),
    description: `window ending now, in hours${defaultHours === undefined ? '' : ` (default ${defaultHours})`}`,
  }) as const;
export const SERVICE_NAME = {
  type: 'string',
  minLength: 1,
  maxLength: 256,
  description: 'service.name',
} as const;
export const DURATION = {
  type: 'string',
  pattern: '^\\d+(\\.\\d+)?(ms|s|m|h|d|w)$',
  description: 'a duration such as 30s, 5m, 1h, 7d',
} as const;
export const TIME = {
  type: 'string',
  minLength: 1,
  maxLength: 64,
  description: 'ISO 8601 time such as 2026-11-29T10:00:00Z, or epoch seconds',
} as const;

const UNIT_SECONDS: Record<string, number> = { ms: 0.001, s: 1, m: 60, h: 3600, d: 86_400, w: 604_800 };

/** Seconds of a duration the schema's DURATION pattern already accepted. */
export function durationSeconds(text: string): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h|d|w)$/.exec(text) as RegExpExecArray;
  return Number(match[1]) * (UNIT_SECONDS[match[2] as string] as number);
}

/** A time parameter; a 400 naming `field` when it is not one. */
export function parseTimeParameter(field: string, text: string): Date {
  const trimmed = text.trim();
  const time = /^\d{9,10}(\.\d+)?$/.test(trimmed) ? new Date(Number(trimmed) * 1000) : new Date(trimmed);
  if (Number.isNaN(time.getTime())) {
    throw invalidParameter(field, 'format', 'must be an ISO 8601 time such as 2026-11-29T10:00:00Z');
  }
  return time;
}

export function invalidParameter(
  field: string,
  rule: string,
  message: string,
  location = 'querystring',
): HttpError {
  return new HttpError(400, 'PERFWATCH_REQUEST_INVALID', `${location}.${field}: ${message} (${rule})`, {
    location,
    field,
    rule,
  });
}

/**
 * A window for series: `from`/`to` when given (to defaults to now), else `hours` ending at now
 * rounded up to the step, so buckets start on whole steps as dashboards draw them.
 */
export function timeWindow(
  query: { from?: string; to?: string; hours?: number },
  now: number,
  defaultHours: number,
): { from: Date; to: Date } {
  if (query.to !== undefined && query.from === undefined)
    throw invalidParameter('to', 'dependencies', 'needs from');
  if (query.from !== undefined) {
    if (query.hours !== undefined) throw invalidParameter('hours', 'not', 'cannot be combined with from/to');
    const from = parseTimeParameter('from', query.from);
    const to = query.to === undefined ? new Date(now) : parseTimeParameter('to', query.to);
    if (from.getTime() >= to.getTime()) {
      throw invalidParameter('from', 'order', `${from.toISOString()} is not before to ${to.toISOString()}`);
    }
    return { from, to };
  }
  const hours = query.hours ?? defaultHours;
  return { from: new Date(now - hours * 3_600_000), to: new Date(now) };
}

/** A bucket width giving about `buckets` buckets over the window, never below the collection interval. */
export function autoStepSeconds(
  from: Date,
  to: Date,
  collectionIntervalMillis: number,
  buckets = 240,
): number {
  const seconds = (to.getTime() - from.getTime()) / 1000 / buckets;
  const floor = Math.max(1, Math.ceil(collectionIntervalMillis / 1000));
  const nice = [1, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10_800, 21_600, 43_200, 86_400];
  const step = nice.find((candidate) => candidate >= seconds) ?? Math.ceil(seconds);
  return Math.max(step, floor);
}

/** `to` rounded up to a whole step, `from` to whole steps before it. */
export function alignWindow(from: Date, to: Date, stepSeconds: number): { from: Date; to: Date } {
  const step = stepSeconds * 1000;
  const end = Math.ceil(to.getTime() / step) * step;
  const start = end - Math.ceil((to.getTime() - from.getTime()) / step) * step;
  return { from: new Date(start), to: new Date(end) };
}
