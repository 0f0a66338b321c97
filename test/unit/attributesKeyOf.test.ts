import { describe, expect, it } from 'vitest';
import { attributesKeyOf } from '../../src/receiver/attributesKeyOf.js';
import type { OtlpKeyValue } from '../../src/receiver/decodeOtlpMetrics.js';
import { toAttributes } from '../../src/receiver/toAttributes.js';
import { attributesKey, attrsOfKey } from '../../src/store/SeriesCatalog.js';

const text = (key: string, value: string): OtlpKeyValue => ({ key, value: { stringValue: value } });

describe('attributesKeyOf', () => {
  it('gives the key attributesKey gives the same attributes as an object, on the fast path and off it', () => {
    const lists: OtlpKeyValue[][] = [
      [],
      [text('route', '/a')],
      [text('a', '1'), text('b', '')],
      // unsorted, repeated (the last wins), non-string and absent values
      [text('z', '1'), text('a', '2')],
      [text('k', 'first'), text('k', 'second')],
      [text('n', 'x'), { key: 'i', value: { intValue: 7 } }, { key: 'b', value: { boolValue: false } }],
      [text('gone', 'x'), { key: 'none' }, { key: 'empty', value: {} }],
      // separator characters and a name an object literal cannot hold
      [text('a', 'x\u0001b\u0000y')],
      [text('__proto__', 'p'), text('q', 'r')],
    ];
    for (const list of lists) {
      expect({ list, key: attributesKeyOf(list) }).toEqual({
        list,
        key: attributesKey(toAttributes(list)),
      });
    }
  });

  it('is reversible: the key gives back the stored attributes', () => {
    const attributes = { route: '/a', status: 200, ok: true, weird: 'x\u0000y' };
    expect(attrsOfKey(attributesKey(attributes))).toEqual({
      ok: 'true',
      route: '/a',
      status: '200',
      weird: 'x\u0000y',
    });
    expect(attrsOfKey(attributesKey({ route: '/a', status: 200 }))).toEqual({ route: '/a', status: '200' });
    expect(attrsOfKey('')).toEqual({});
  });
});
