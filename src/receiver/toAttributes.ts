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
 * cannot hold (maps, nested arrays, bytes) as JSON or base64 text, so nothing is lost.
 */
function anyValueOf(value: OtlpAnyValue | null | undefined): AttributeValue | undefined {
  if (value === null || value === undefined) return undefined;
  if (Object.hasOwn(value, 'stringValue')) return value.stringValue!;
  if (Object.hasOwn(value, 'boolValue')) return value.boolValue!;
  if (Object.hasOwn(value, 'intValue')) return intAttribute(value.intValue!);
  if (Object.hasOwn(value, 'doubleValue')) return value.doubleValue!;
  if (value.arrayValue) {
    const items = value.arrayValue.values.map(anyValueOf);
    const scalar = items.every((item) => item === undefined || typeof item !== 'object');
    // The store writes arrays as JSON whatever their element types.
    return scalar ? (items.map((item) => item ?? null) as AttributeValue) : JSON.stringify(items);
  }
  if (value.kvlistValue) {
    return JSON.stringify(
      Object.fromEntries(value.kvlistValue.values.map(({ key, value: v }) => [key, anyValueOf(v) ?? null])),
    );
  }
  if (Object.hasOwn(value, 'bytesValue')) return Buffer.from(value.bytesValue!).toString('base64');
  return undefined;
}

function intAttribute(value: Int64): number | string {
  if (typeof value === 'number') return value;
  const number = int64ToNumber(value);
  return Number.isSafeInteger(number) ? number : int64Text(value);
}
