import type { Attributes, AttributeValue } from '@opentelemetry/api';
import type { Int64, OtlpAnyValue, OtlpKeyValue } from './decodeOtlpMetrics.js';
import { int64Text, int64ToNumber } from './int64.js';

/** OTLP key-value pairs as SDK attributes (a repeated key: the last one wins). */
export function toAttributes(keyValues: readonly OtlpKeyValue[]): Attributes {
  const attributes: Attributes = {};
  for (const { key, value } of keyValues) {
    const converted = anyValueOf(value);
    if (converted !== undefined) attributes[key] = converted;
  }
  return attributes;
}

/**
 * OTLP's AnyValue as an SDK attribute value: scalars as themselves, 64-bit integers beyond 2^53
 * as their decimal text, homogeneous scalar arrays as arrays, and what the SDK's attributes
 * cannot hold (maps, nested arrays, bytes) as JSON or base64 text, so nothing is lost. Nested
 * values are encoded once, at the top: JSON inside JSON would double its escapes at every level.
 */
function anyValueOf(value: OtlpAnyValue | null | undefined): AttributeValue | undefined {
  const plain = plainValueOf(value);
  if (plain === undefined || plain === null || typeof plain !== 'object') return plain ?? undefined;
  if (Array.isArray(plain) && plain.every((item) => item === null || typeof item !== 'object')) {
    // The store writes arrays as JSON whatever their element types.
    return plain as AttributeValue;
  }
  return JSON.stringify(plain);
}

type PlainValue = string | number | boolean | null | PlainValue[] | { [key: string]: PlainValue };

/** An AnyValue as plain data (maps as objects, arrays as arrays), for one JSON encoding. */
function plainValueOf(value: OtlpAnyValue | null | undefined): PlainValue | undefined {
  if (value === null || value === undefined) return undefined;
  if (Object.hasOwn(value, 'stringValue')) return value.stringValue!;
  if (Object.hasOwn(value, 'boolValue')) return value.boolValue!;
  if (Object.hasOwn(value, 'intValue')) return intAttribute(value.intValue!);
  if (Object.hasOwn(value, 'doubleValue')) return value.doubleValue!;
  if (value.arrayValue) return value.arrayValue.values.map((item) => plainValueOf(item) ?? null);
  if (value.kvlistValue) {
    const map: { [key: string]: PlainValue } = {};
    for (const { key, value: item } of value.kvlistValue.values) {
      // defineProperty: a key named __proto__ is data, not the object's prototype.
      Object.defineProperty(map, key, {
        value: plainValueOf(item) ?? null,
        enumerable: true,
        writable: true,
      });
    }
    return map;
  }
  if (Object.hasOwn(value, 'bytesValue')) return Buffer.from(value.bytesValue!).toString('base64');
  return undefined;
}

function intAttribute(value: Int64): number | string {
  if (typeof value === 'number') return value;
  const number = int64ToNumber(value);
  return Number.isSafeInteger(number) ? number : int64Text(value);
}
