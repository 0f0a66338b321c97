import { describe, expect, it } from 'vitest';
import { type MetricIdentity, resourceIdentity, SeriesCatalog } from '../../src/store/SeriesCatalog.js';

const identity: MetricIdentity = {
  metricName: 'http.server.request.duration',
  kind: 'histogram',
  unit: 's',
  description: '',
  temporality: 'cumulative',
  monotonic: null,
  resource: resourceIdentity({ 'service.name': 'api', 'host.name': 'web-1' }),
  scopeName: 'http',
  scopeVersion: null,
};

describe('SeriesCatalog', () => {
  it('gives the same series to the same attributes in any key order, and another to other values', () => {
    const catalog = new SeriesCatalog();
    const metric = catalog.seriesOf(identity);
    const a = catalog.resolve(metric, { route: '/a', status: 200 }, 1n)!;
    const b = catalog.resolve(metric, { status: 200, route: '/a' }, 2n)!;
    const c = catalog.resolve(metric, { route: '/a', status: '200x' }, 2n)!;
    expect(b).toBe(a);
    expect(c.ref).not.toBe(a.ref);
    expect(a.attrs).toEqual({ route: '/a', status: '200' });
  });

  it('keeps attribute sets apart even when values contain the separator characters', () => {
    const catalog = new SeriesCatalog();
    const metric = catalog.seriesOf(identity);
    const joined = catalog.resolve(metric, { a: 'x\u0001b\u0000y' }, 1n)!;
    const split = catalog.resolve(metric, { a: 'x', b: 'y' }, 1n)!;
    expect(joined.ref).not.toBe(split.ref);
    expect(catalog.resolve(metric, { a: 'x\u0001b\u0000y' }, 1n)).toBe(joined);
  });

  it('derives a stable id from the identity, independent of the file or process', () => {
    const first = new SeriesCatalog();
    const second = new SeriesCatalog();
    const one = first.resolve(first.seriesOf(identity), { route: '/a' }, 1n)!;
    first.resolve(first.seriesOf(identity), { route: '/b' }, 1n)!;
    const again = second.resolve(second.seriesOf(identity), { route: '/a' }, 1n)!;
    expect(again.id).toBe(one.id);
    expect(typeof one.id).toBe('bigint');
  });

  it('finds series loaded from the file and continues their refs', () => {
    const original = new SeriesCatalog();
    const entry = original.resolve(original.seriesOf(identity), { route: '/a' }, 1n)!;
    const reopened = new SeriesCatalog([entry]);
    expect(reopened.resolve(reopened.seriesOf(identity), { route: '/a' }, 5n)).toBe(entry);
    expect(reopened.pendingSeries()).toEqual([]);
    expect(reopened.resolve(reopened.seriesOf(identity), { route: '/b' }, 5n)!.ref).toBe(entry.ref + 1);
  });

  it('refuses new series past its limits, the same one again without a hash, and takes it once room is made', () => {
    const catalog = new SeriesCatalog([], { maxSeries: 1, maxSeriesPerMetric: 1 });
    const metric = catalog.seriesOf(identity);
    const first = catalog.resolve(metric, { route: '/a' }, 1n)!;
    catalog.commit();
    expect(catalog.resolve(metric, { route: '/b' }, 1n)).toBeUndefined();
    expect(catalog.lastRefusal).toContain('its limit (maxSeries');
    expect(catalog.resolve(metric, { route: '/b' }, 2n)).toBeUndefined();
    expect(catalog.resolve(metric, { route: '/a' }, 2n)).toBe(first);
    catalog.forget(new Set([first.ref]));
    expect(catalog.resolve(metric, { route: '/b' }, 3n)).toBeDefined();
  });

  it('forgets uncommitted series on rollback so the next write inserts them again', () => {
    const catalog = new SeriesCatalog();
    const metric = catalog.seriesOf(identity);
    const committed = catalog.resolve(metric, { route: '/a' }, 1n)!;
    catalog.commit();
    const pending = catalog.resolve(metric, { route: '/b' }, 2n)!;
    expect(catalog.pendingSeries()).toEqual([pending]);
    catalog.rollback();
    expect(catalog.size).toBe(1);
    const retried = catalog.resolve(catalog.seriesOf(identity), { route: '/b' }, 3n)!;
    expect(retried.ref).toBe(pending.ref);
    expect(catalog.pendingSeries()).toEqual([retried]);
    expect(catalog.resolve(metric, { route: '/a' }, 3n)).toBe(committed);
  });
});
