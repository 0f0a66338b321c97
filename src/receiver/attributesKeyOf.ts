import { attributesKey, fitsFastKey } from '../store/SeriesCatalog.js';
import type { OtlpKeyValue } from './decodeOtlpMetrics.js';
import { toAttributes } from './toAttributes.js';

/**
 * The store's lookup key (SeriesCatalog's attributesKey) of an OTLP point's attributes, built
 * straight from the key-value list in the common case — string values, names in ascending order,
 * no separator characters — instead of an attributes object per point. Anything else (other value
 * types, unsorted or repeated names) goes through toAttributes and attributesKey, so both give the
 * same key for the same attributes.
 */
export function attributesKeyOf(keyValues: readonly OtlpKeyValue[]): string {
  let key = '';
  let previous = '';
  for (let i = 0; i < keyValues.length; i++) {
    const { key: name, value } = keyValues[i]!;
    if (
      value === null ||
      value === undefined ||
      !Object.hasOwn(value, 'stringValue') ||
      (i > 0 && !(name > previous)) ||
      // toAttributes cannot keep it (an object literal's setter), so neither may the key.
      name === '__proto__' ||
      !fitsFastKey(name) ||
      !fitsFastKey(value.stringValue!)
    ) {
      return attributesKey(toAttributes(keyValues));
    }
    key += `${name}\u0000${value.stringValue}\u0001`;
    previous = name;
  }
  return key;
}
