/*
 * ProtoJSON's rules for the numbers of an OTLP/JSON request, checked before protobufjs converts
 * it: its `fromObject` applies `Number()` and `Long.fromString()`, so `"abc"` or `{}` became NaN
 * and `"-1"` in an unsigned timestamp wrapped to 2^64 − 1 (the year 2554). A value of the wrong
 * form makes the whole body invalid (400), as protojson parsers (the Collector's among them)
 * answer; the per-point rules come after decoding (pointProblems).
 */

/** A double: a JSON number, or a string holding a number, "NaN", "Infinity" or "-Infinity". */
const DOUBLE_TEXT = /^-?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$|^(NaN|-?Infinity)$/;
const UNSIGNED_TEXT = /^\d{1,20}$/;
const SIGNED_TEXT = /^-?\d{1,19}$/;
const UINT64_MAX = 2n ** 64n - 1n;
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

type NumberForm = 'double' | 'uint64' | 'int64';

const POINT_FIELDS: Record<string, NumberForm> = {
  startTimeUnixNano: 'uint64',
  timeUnixNano: 'uint64',
  asDouble: 'double',
  asInt: 'int64',
  count: 'uint64',
  sum: 'double',
  min: 'double',
  max: 'double',
  zeroCount: 'uint64',
  zeroThreshold: 'double',
};
const POINT_LISTS: Record<string, NumberForm> = { bucketCounts: 'uint64', explicitBounds: 'double' };
const DATA_MEMBERS = ['gauge', 'sum', 'histogram', 'exponentialHistogram', 'summary'] as const;

/** The path and rule of the first number of the wrong form, or undefined when all are right. */
export function otlpJsonNumberProblem(request: unknown): string | undefined {
  for (const [r, resourceMetrics] of entries(field(request, 'resourceMetrics'))) {
    const resourcePath = `resourceMetrics[${r}]`;
    const problem = attributesProblem(field(field(resourceMetrics, 'resource'), 'attributes'), resourcePath);
    if (problem !== undefined) return problem;
    for (const [s, scopeMetrics] of entries(field(resourceMetrics, 'scopeMetrics'))) {
      for (const [m, metric] of entries(field(scopeMetrics, 'metrics'))) {
        const metricPath = `${resourcePath}.scopeMetrics[${s}].metrics[${m}]`;
        for (const member of DATA_MEMBERS) {
          for (const [p, point] of entries(field(field(metric, member), 'dataPoints'))) {
            const found = pointProblem(point, `${metricPath}.${member}.dataPoints[${p}]`);
            if (found !== undefined) return found;
          }
        }
      }
    }
  }
  return undefined;
}

function pointProblem(point: unknown, path: string): string | undefined {
  if (typeof point !== 'object' || point === null) return undefined;
  const record = point as Record<string, unknown>;
  for (const name of Object.keys(record)) {
    const form = POINT_FIELDS[name];
    if (form !== undefined) {
      const problem = valueProblem(record[name], form, `${path}.${name}`);
      if (problem !== undefined) return problem;
      continue;
    }
    const listForm = POINT_LISTS[name];
    if (listForm !== undefined) {
      for (const [i, item] of entries(record[name])) {
        const problem = valueProblem(item, listForm, `${path}.${name}[${i}]`);
        if (problem !== undefined) return problem;
      }
    }
  }
  for (const buckets of ['positive', 'negative']) {
    for (const [i, item] of entries(field(record[buckets], 'bucketCounts'))) {
      const problem = valueProblem(item, 'uint64', `${path}.${buckets}.bucketCounts[${i}]`);
      if (problem !== undefined) return problem;
    }
  }
  for (const [i, quantile] of entries(record.quantileValues)) {
    for (const name of ['quantile', 'value']) {
      const value = field(quantile, name);
      const problem = valueProblem(value, 'double', `${path}.quantileValues[${i}].${name}`);
      if (problem !== undefined) return problem;
    }
  }
  return attributesProblem(record.attributes, path);
}

function attributesProblem(attributes: unknown, path: string): string | undefined {
  for (const [i, keyValue] of entries(attributes)) {
    const value = field(keyValue, 'value');
    const where = `${path}.attributes[${i}].value`;
    const problem =
      valueProblem(field(value, 'intValue'), 'int64', `${where}.intValue`) ??
      valueProblem(field(value, 'doubleValue'), 'double', `${where}.doubleValue`);
    if (problem !== undefined) return problem;
  }
  return undefined;
}

function valueProblem(value: unknown, form: NumberForm, path: string): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (form === 'double') {
    if (typeof value === 'number' || (typeof value === 'string' && DOUBLE_TEXT.test(value))) return undefined;
    return `${path}: must be a number (or "NaN", "Infinity", "-Infinity"), got ${describe(value)}`;
  }
  const unsigned = form === 'uint64';
  let integer: bigint | undefined;
  if (typeof value === 'number' && Number.isInteger(value)) integer = BigInt(value);
  else if (typeof value === 'string' && (unsigned ? UNSIGNED_TEXT : SIGNED_TEXT).test(value)) {
    integer = BigInt(value);
  }
  const [low, high] = unsigned ? [0n, UINT64_MAX] : [INT64_MIN, INT64_MAX];
  if (integer !== undefined && integer >= low && integer <= high) return undefined;
  return `${path}: must be ${unsigned ? 'a whole number from 0 to 2^64 − 1' : 'a whole number that fits in 64 bits'}, as a number or a decimal string, got ${describe(value)}`;
}

function describe(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 40 ? `${text.slice(0, 40)}…` : text;
}

function field(value: unknown, name: string): unknown {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)[name]
    : undefined;
}

function entries(value: unknown): [number, unknown][] {
  return Array.isArray(value) ? value.map((item, i) => [i, item]) : [];
}
