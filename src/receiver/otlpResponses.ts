import type { OtlpEncoding } from './decodeOtlpMetrics.js';
import { ExportMetricsServiceResponse, RpcStatus } from './otlpMetricsSchema.js';

/** google.rpc.Code values sent in error bodies. */
export const RpcCode = {
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  RESOURCE_EXHAUSTED: 8,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  UNAUTHENTICATED: 16,
} as const;

export const CONTENT_TYPES: Readonly<Record<OtlpEncoding, string>> = {
  protobuf: 'application/x-protobuf',
  json: 'application/json',
};

/**
 * The body of a 200 answer: an ExportMetricsServiceResponse, with `partial_success` only when
 * points were rejected (an empty message means full success).
 */
export function exportResponseBody(
  encoding: OtlpEncoding,
  rejected: number,
  errorMessage: string,
): Uint8Array {
  const partialSuccess = rejected > 0 ? { rejectedDataPoints: rejected, errorMessage } : undefined;
  if (encoding === 'json') {
    // ProtoJSON writes int64 as a decimal string.
    const body =
      partialSuccess === undefined
        ? {}
        : { partialSuccess: { rejectedDataPoints: String(rejected), errorMessage } };
    return Buffer.from(JSON.stringify(body));
  }
  return ExportMetricsServiceResponse.encode(
    ExportMetricsServiceResponse.create(partialSuccess === undefined ? {} : { partialSuccess }),
  ).finish();
}

/** The body of an error answer: a google.rpc.Status in the request's encoding. */
export function statusBody(encoding: OtlpEncoding, code: number, message: string): Uint8Array {
  if (encoding === 'json') return Buffer.from(JSON.stringify({ code, message }));
  return RpcStatus.encode(RpcStatus.create({ code, message })).finish();
}
