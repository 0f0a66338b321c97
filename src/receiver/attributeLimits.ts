import type { OtlpAnyValue, OtlpKeyValue } from './decodeOtlpMetrics.js';

/**
 * Bounds on the attributes of one point or resource, so a small request cannot make a large
 * series identity: past them the point (or every point of the resource) is rejected and counted
 * in `partialSuccess`, never cut short silently. The count is the OTel SDK's default attribute
 * limit; a value's length is counted in characters of its text (nested values as their JSON).
 */
export const ATTRIBUTE_LIMITS = Object.freeze({
  /** Attributes per point or resource. */
  maxCount: 128,
  /** Characters of a key. */
  maxKeyLength: 256,
  /** Characters of a value as stored (strings as they are, arrays and maps as JSON). */
  maxValueLength: 4096,
  /** Levels of arrays and maps inside a value (a map of maps is 2). */
  maxDepth: 8,
});

/** Why these attributes break a limit, naming the key and the limit, or undefined. */
export function attributesProblem(keyValues: readonly OtlpKeyValue[]): string | undefined {
  if (keyValues.length > ATTRIBUTE_LIMITS.maxCount) {
    return `has ${keyValues.length} attributes; at most ${ATTRIBUTE_LIMITS.maxCount} are accepted`;
  }
  for (const { key, value } of keyValues) {
    if (key.length > ATTRIBUTE_LIMITS.maxKeyLength) {
      return `attribute key ${JSON.stringify(key.slice(0, 40))}… is ${key.length} characters long; at most ${ATTRIBUTE_LIMITS.maxKeyLength} are accepted`;
    }
    const size = value ? sizeOf(value, 0) : 0;
    if (size === TOO_DEEP) {
      return `attribute ${JSON.stringify(key)} nests arrays or maps more than ${ATTRIBUTE_LIMITS.maxDepth} deep`;
    }
    if (size > ATTRIBUTE_LIMITS.maxValueLength) {
      return `attribute ${JSON.stringify(key)} is about ${size} characters long; at most ${ATTRIBUTE_LIMITS.maxValueLength} are accepted`;
    }
  }
  return undefined;
}

const TOO_DEEP = -1;

/**
 * A value's length as stored, close enough to bound it (escapes are not counted), or TOO_DEEP.
 * Stops adding once past the limit, so a huge value costs no more than a limit's worth of work.
 */
function sizeOf(value: OtlpAnyValue, depth: number): number {
  if (typeof value.stringValue === 'string' && Object.hasOwn(value, 'stringValue')) {
    return value.stringValue.length;
  }
  const items = value.arrayValue?.values ?? value.kvlistValue?.values;
  if (items === undefined)
    return Object.hasOwn(value, 'bytesValue') ? (value.bytesValue!.length * 4) / 3 : 24;
  if (depth >= ATTRIBUTE_LIMITS.maxDepth) return TOO_DEEP;
  let size = 2;
  for (const item of items) {
    const nested = 'key' in item ? item.value : (item as OtlpAnyValue);
    const itemSize = nested ? sizeOf(nested, depth + 1) : 4;
    if (itemSize === TOO_DEEP) return TOO_DEEP;
    size += itemSize + ('key' in item ? (item as OtlpKeyValue).key.length + 4 : 1);
    if (size > ATTRIBUTE_LIMITS.maxValueLength) return size;
  }
  return size;
}
