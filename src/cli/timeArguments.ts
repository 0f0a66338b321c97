import { ConfigError } from '../errors.js';

const UNIT_SECONDS: Record<string, number> = { ms: 0.001, s: 1, m: 60, h: 3600, d: 86_400, w: 604_800 };

/** `90s`, `5m`, `1.5h`, `7d`, `2w`, `250ms` → seconds; anything else names the flag and the rule. */
export function parseDuration(flag: string, text: string): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h|d|w)$/.exec(text.trim());
  const seconds = match ? Number(match[1]) * UNIT_SECONDS[match[2]!]! : Number.NaN;
  if (!(seconds > 0)) {
    throw new ConfigError(flag, `must be a duration such as 30s, 5m, 1h, 7d, got ${JSON.stringify(text)}`);
  }
  return seconds;
}

/** An ISO 8601 time (`2026-11-29T10:00:00Z`, a date, or a time with offset); epoch seconds are accepted too. */
export function parseTime(flag: string, text: string): Date {
  const trimmed = text.trim();
  const time = /^\d{9,10}(\.\d+)?$/.test(trimmed) ? new Date(Number(trimmed) * 1000) : new Date(trimmed);
  if (trimmed === '' || Number.isNaN(time.getTime())) {
    throw new ConfigError(
      flag,
      `must be an ISO 8601 time such as 2026-11-29T10:00:00Z, got ${JSON.stringify(text)}`,
    );
  }
  return time;
}

/** `KEY=VALUE` (the value may contain `=`). */
export function parseMatcher(flag: string, text: string): [string, string] {
  const at = text.indexOf('=');
  if (at <= 0) throw new ConfigError(flag, `must be KEY=VALUE, got ${JSON.stringify(text)}`);
  return [text.slice(0, at), text.slice(at + 1)];
}
