import { describe, expect, it } from 'vitest';
import { parseDuration, parseMatcher, parseTime } from '../../src/cli/timeArguments.js';
import { ConfigError } from '../../src/errors.js';

describe('CLI time arguments', () => {
  it.each([
    ['250ms', 0.25],
    ['30s', 30],
    ['5m', 300],
    ['1.5h', 5400],
    ['7d', 604_800],
    ['2w', 1_209_600],
  ])('parses the duration %s as %s s', (text, seconds) => {
    expect(parseDuration('--step', text)).toBe(seconds);
  });

  it.each(['', '5', '5 minutes', '-1m', '0s', '1y', 'm'])(
    'refuses the duration %j naming the flag',
    (text) => {
      expect(() => parseDuration('--since', text)).toThrow(ConfigError);
      expect(() => parseDuration('--since', text)).toThrow(
        /^--since: must be a duration such as 30s, 5m, 1h, 7d/,
      );
    },
  );

  it('parses ISO times and epoch seconds, and refuses anything else', () => {
    expect(parseTime('--from', '2026-11-29T10:00:00Z').toISOString()).toBe('2026-11-29T10:00:00.000Z');
    expect(parseTime('--from', '2026-11-29T11:00:00+01:00').toISOString()).toBe('2026-11-29T10:00:00.000Z');
    expect(parseTime('--to', '1790000000').toISOString()).toBe(new Date(1_790_000_000_000).toISOString());
    expect(() => parseTime('--to', 'yesterday')).toThrow(/^--to: must be an ISO 8601 time/);
  });

  it('splits KEY=VALUE at the first =', () => {
    expect(parseMatcher('--where', 'http.route=/a=b')).toEqual(['http.route', '/a=b']);
    expect(() => parseMatcher('--where', '=x')).toThrow(/^--where: must be KEY=VALUE/);
  });
});
