import { otlpJsonNumberProblem } from './otlpJsonNumberProblem.js';
import { ExportMetricsServiceRequest } from './otlpMetricsSchema.js';

/**
 * A 64-bit integer as protobufjs hands it over: a `Long` (low and high 32 bits) when the `long`
 * package is present, which it is as a dependency of protobufjs, else a (possibly rounded) number.
 */
export type Int64 = number | { readonly low: number; readonly high: number; readonly unsigned: boolean };

/**
 * The decoded shapes this package reads (lowerCamelCase, as in OTLP/JSON). A field is an own
 * property of a decoded message exactly when it was sent (see otlpMetricsSchema): one-of members
 * and optional fields are told apart with `Object.hasOwn`.
 */
export interface OtlpAnyValue {
  readonly stringValue?: string;
  readonly boolValue?: boolean;
  readonly intValue?: Int64;
  readonly doubleValue?: number;
  readonly arrayValue?: { readonly values: readonly OtlpAnyValue[] };
  readonly kvlistValue?: { readonly values: readonly OtlpKeyValue[] };
  readonly bytesValue?: Uint8Array;
}

export interface OtlpKeyValue {
  readonly key: string;
  readonly value?: OtlpAnyValue | null;
}

interface OtlpPointBase {
  readonly attributes: readonly OtlpKeyValue[];
  readonly startTimeUnixNano: Int64;
  readonly timeUnixNano: Int64;
  readonly flags: number;
}

export interface OtlpNumberDataPoint extends OtlpPointBase {
  readonly asDouble?: number;
  readonly asInt?: Int64;
}

export interface OtlpHistogramDataPoint extends OtlpPointBase {
  readonly count: Int64;
  readonly sum?: number | null;
  readonly min?: number | null;
  readonly max?: number | null;
  readonly bucketCounts: readonly Int64[];
  readonly explicitBounds: readonly number[];
}

export interface OtlpBuckets {
  readonly offset: number;
  readonly bucketCounts: readonly Int64[];
}

export interface OtlpExponentialHistogramDataPoint extends OtlpPointBase {
  readonly count: Int64;
  readonly sum?: number | null;
  readonly min?: number | null;
  readonly max?: number | null;
  readonly scale: number;
  readonly zeroCount: Int64;
  readonly zeroThreshold: number;
  readonly positive?: OtlpBuckets | null;
  readonly negative?: OtlpBuckets | null;
}

export interface OtlpSummaryDataPoint extends OtlpPointBase {
  readonly count: Int64;
  readonly sum: number;
  readonly quantileValues: readonly { readonly quantile: number; readonly value: number }[];
}

export interface OtlpMetric {
  readonly name: string;
  readonly description: string;
  readonly unit: string;
  readonly gauge?: { readonly dataPoints: readonly OtlpNumberDataPoint[] } | null;
  readonly sum?: {
    readonly dataPoints: readonly OtlpNumberDataPoint[];
    readonly aggregationTemporality: number;
    readonly isMonotonic: boolean;
  } | null;
  readonly histogram?: {
    readonly dataPoints: readonly OtlpHistogramDataPoint[];
    readonly aggregationTemporality: number;
  } | null;
  readonly exponentialHistogram?: {
    readonly dataPoints: readonly OtlpExponentialHistogramDataPoint[];
    readonly aggregationTemporality: number;
  } | null;
  readonly summary?: { readonly dataPoints: readonly OtlpSummaryDataPoint[] } | null;
}

export interface OtlpResourceMetrics {
  readonly resource?: { readonly attributes: readonly OtlpKeyValue[] } | null;
  readonly scopeMetrics: readonly {
    readonly scope?: { readonly name: string; readonly version: string } | null;
    readonly metrics: readonly OtlpMetric[];
    readonly schemaUrl: string;
  }[];
  readonly schemaUrl: string;
}

export interface OtlpMetricsRequest {
  readonly resourceMetrics: readonly OtlpResourceMetrics[];
}

export type OtlpEncoding = 'protobuf' | 'json';

/** The body is not an ExportMetricsServiceRequest in the stated encoding (HTTP 400). */
export class OtlpDecodeError extends Error {
  override readonly name = 'OtlpDecodeError';
}

/**
 * Decodes an ExportMetricsServiceRequest from its binary protobuf or its OTLP/JSON encoding (JSON
 * accepts 64-bit integers as strings or numbers and enums as numbers or names). Throws
 * OtlpDecodeError naming what is wrong; never returns a partly decoded request.
 */
export function decodeOtlpMetrics(body: Uint8Array, encoding: OtlpEncoding): OtlpMetricsRequest {
  if (encoding === 'protobuf') {
    try {
      return ExportMetricsServiceRequest.decode(body) as unknown as OtlpMetricsRequest;
    } catch (error) {
      throw new OtlpDecodeError(
        `body is not a valid protobuf ExportMetricsServiceRequest (truncated or corrupt): ${messageOf(error)}`,
      );
    }
  }
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(body));
  } catch (error) {
    throw new OtlpDecodeError(`body is not valid UTF-8 JSON: ${messageOf(error)}`);
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw new OtlpDecodeError('body must be a JSON object (an ExportMetricsServiceRequest)');
  }
  const numberProblem = otlpJsonNumberProblem(json);
  if (numberProblem !== undefined) {
    throw new OtlpDecodeError(`body is not a valid OTLP/JSON ExportMetricsServiceRequest: ${numberProblem}`);
  }
  try {
    return ExportMetricsServiceRequest.fromObject(json) as unknown as OtlpMetricsRequest;
  } catch (error) {
    // protobufjs names the field path, e.g. ".resourceMetrics: array expected".
    throw new OtlpDecodeError(
      `body is not a valid OTLP/JSON ExportMetricsServiceRequest: ${messageOf(error)}`,
    );
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
