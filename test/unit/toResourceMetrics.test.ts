import { ValueType } from '@opentelemetry/api';
import { AggregationTemporality, DataPointType } from '@opentelemetry/sdk-metrics';
import { describe, expect, it } from 'vitest';
import { decodeOtlpMetrics, OtlpDecodeError } from '../../src/receiver/decodeOtlpMetrics.js';
import { ExportMetricsServiceRequest } from '../../src/receiver/otlpMetricsSchema.js';
import { toResourceMetrics } from '../../src/receiver/toResourceMetrics.js';
import { attrsOfKey } from '../../src/store/SeriesCatalog.js';
import type { ColumnarMetricData } from '../../src/store/StoredResourceMetrics.js';

const TIME = '1767225600123456789';

/** One metric in one resource, through the binary encoding (as a client would send it). */
function convert(metric: object, attributes: object[] = []) {
  const request = {
    resourceMetrics: [
      { resource: { attributes }, scopeMetrics: [{ scope: { name: 's' }, metrics: [metric] }] },
    ],
  };
  const bytes = ExportMetricsServiceRequest.encode(ExportMetricsServiceRequest.fromObject(request)).finish();
  return toResourceMetrics(decodeOtlpMetrics(bytes, 'protobuf'));
}

function onlyMetric(converted: ReturnType<typeof toResourceMetrics>) {
  return converted.resourceMetrics[0]!.scopeMetrics[0]!.metrics[0]! as ColumnarMetricData;
}

describe('toResourceMetrics', () => {
  it('converts nanosecond times to µs exactly and int64 values, negative ones included', () => {
    const converted = convert({
      name: 'level',
      gauge: { dataPoints: [{ timeUnixNano: TIME, startTimeUnixNano: '0', asInt: '-42' }] },
    });
    expect(converted).toMatchObject({ points: 1, rejected: 0, errorMessage: '' });
    const metric = onlyMetric(converted);
    expect(metric.dataPointType).toBe(DataPointType.GAUGE);
    expect(metric.columns).toEqual({
      attributeKeys: [''],
      // startTimeUnixNano 0 is OTLP's "unset": no start time, not 1970.
      startMicros: [null],
      timeMicros: [1_767_225_600_123_456n],
      values: [-42],
    });
    expect(metric.descriptor.valueType).toBe(ValueType.INT);
  });

  it('turns every AnyValue kind into an attribute the store can hold', () => {
    const converted = convert({ name: 'g', gauge: { dataPoints: [{ timeUnixNano: TIME, asDouble: 1 }] } }, [
      { key: 'big', value: { intValue: '9007199254740993' } },
      { key: 'small', value: { intValue: '7' } },
      { key: 'list', value: { arrayValue: { values: [{ stringValue: 'a' }, { stringValue: 'b' }] } } },
      { key: 'map', value: { kvlistValue: { values: [{ key: 'k', value: { boolValue: true } }] } } },
      { key: 'raw', value: { bytesValue: Buffer.from([1, 2, 3]).toString('base64') } },
      { key: 'unset', value: {} },
    ]);
    expect(converted.resourceMetrics[0]!.resource.attributes).toEqual({
      big: '9007199254740993',
      small: 7,
      list: ['a', 'b'],
      map: '{"k":true}',
      raw: 'AQID',
    });
  });

  it('skips points flagged "no recorded value" without counting them as rejected', () => {
    const converted = convert({
      name: 'g',
      gauge: {
        dataPoints: [
          { timeUnixNano: TIME, flags: 1 },
          { timeUnixNano: TIME, asDouble: 2 },
        ],
      },
    });
    expect(converted).toMatchObject({ points: 1, rejected: 0 });
  });

  it('rejects what cannot be stored faithfully, naming the metric, point and rule', () => {
    const cases: [object, string][] = [
      [
        { name: 's', sum: { aggregationTemporality: 0, dataPoints: [{ timeUnixNano: TIME, asDouble: 1 }] } },
        'metric "s": aggregationTemporality must be 1 (delta) or 2 (cumulative), got 0',
      ],
      [
        { name: 'g', gauge: { dataPoints: [{ asDouble: 1 }] } },
        'metric "g" point 0: timeUnixNano must be set',
      ],
      [
        { name: 'g', gauge: { dataPoints: [{ timeUnixNano: TIME }] } },
        'metric "g" point 0: has neither asDouble nor asInt',
      ],
      [
        {
          name: 'h',
          histogram: {
            aggregationTemporality: 2,
            dataPoints: [
              { timeUnixNano: TIME, count: 1, bucketCounts: [1, 0], explicitBounds: [Number.NaN] },
            ],
          },
        },
        'metric "h" point 0: explicitBounds[0] must be finite, got NaN',
      ],
      [
        {
          name: 'h',
          histogram: {
            aggregationTemporality: 2,
            dataPoints: [{ timeUnixNano: TIME, count: 1, bucketCounts: [1, 0, 0], explicitBounds: [2, 1] }],
          },
        },
        'metric "h" point 0: explicitBounds must be strictly increasing (at index 1)',
      ],
      [
        {
          name: 'h',
          histogram: {
            aggregationTemporality: 2,
            dataPoints: [{ timeUnixNano: TIME, count: 5, bucketCounts: [1, 1], explicitBounds: [1] }],
          },
        },
        'metric "h" point 0: count 5 is not the sum of bucketCounts (2)',
      ],
      [
        {
          name: 'h',
          histogram: {
            aggregationTemporality: 1,
            dataPoints: [{ timeUnixNano: TIME, count: '9007199254740993' }],
          },
        },
        'metric "h" point 0: count must be below 2^53 to be stored exactly, got 9007199254740993',
      ],
      [
        {
          name: 'h',
          histogram: {
            aggregationTemporality: 1,
            dataPoints: [{ timeUnixNano: TIME, count: 1, sum: Number.NaN }],
          },
        },
        'metric "h" point 0: sum must be a finite number, got NaN',
      ],
      [
        {
          name: 'e',
          exponentialHistogram: {
            aggregationTemporality: 2,
            dataPoints: [{ timeUnixNano: TIME, count: 1, scale: 21, zeroCount: 1 }],
          },
        },
        'metric "e" point 0: scale must be between -10 and 20, got 21',
      ],
      [
        {
          name: 'e',
          exponentialHistogram: {
            aggregationTemporality: 2,
            dataPoints: [
              {
                timeUnixNano: TIME,
                count: 9,
                scale: 1,
                zeroCount: 1,
                positive: { offset: -1, bucketCounts: [2, 3] },
              },
            ],
          },
        },
        'metric "e" point 0: count 9 is not zeroCount plus the positive and negative bucket counts (6)',
      ],
      [
        {
          name: 'c',
          sum: {
            aggregationTemporality: 2,
            isMonotonic: true,
            dataPoints: [{ timeUnixNano: TIME, asDouble: -1 }],
          },
        },
        'metric "c" point 0: a monotonic sum must be finite and ≥ 0, got -1',
      ],
    ];
    for (const [metric, reason] of cases) {
      const converted = convert(metric);
      expect({ reason, result: converted }).toMatchObject({
        reason,
        result: {
          points: 0,
          rejected: 1,
          errorMessage: `1 data point(s) rejected: ${reason}`,
          resourceMetrics: [],
        },
      });
    }
  });

  it('keeps a valid exponential histogram with its zero threshold and both bucket ranges', () => {
    const converted = convert({
      name: 'e',
      unit: 's',
      exponentialHistogram: {
        aggregationTemporality: 1,
        dataPoints: [
          {
            timeUnixNano: TIME,
            count: 6,
            sum: 1.5,
            scale: -2,
            zeroCount: 1,
            zeroThreshold: 0.001,
            positive: { offset: 3, bucketCounts: [2, 1] },
            negative: { offset: -1, bucketCounts: [2] },
          },
        ],
      },
    });
    expect(converted).toMatchObject({ points: 1, rejected: 0 });
    expect(onlyMetric(converted).columns.values[0]).toEqual({
      count: 6,
      sum: 1.5,
      scale: -2,
      zeroCount: 1,
      zeroThreshold: 0.001,
      positive: { offset: 3, bucketCounts: [2, 1] },
      negative: { offset: -1, bucketCounts: [2] },
    });
  });

  it('counts at most five reasons in the message but every rejected point', () => {
    const converted = convert({
      name: 'g',
      gauge: { dataPoints: Array.from({ length: 8 }, () => ({ timeUnixNano: TIME })) },
    });
    expect(converted.rejected).toBe(8);
    expect(converted.errorMessage.match(/has neither/g)).toHaveLength(5);
    expect(converted.errorMessage.endsWith('; …')).toBe(true);
  });
});

describe('toResourceMetrics: one written rule per point', () => {
  const histogram = (point: object) => ({
    name: 'h',
    histogram: {
      aggregationTemporality: 2,
      dataPoints: [{ timeUnixNano: TIME, count: '1', bucketCounts: ['1'], ...point }],
    },
  });

  it.each([
    [{ min: 5, max: 1 }, 'min (5) must not be greater than max (1)'],
    [{ sum: Number.POSITIVE_INFINITY }, 'sum must be a finite number, got Infinity'],
    [{ max: Number.NEGATIVE_INFINITY }, 'max must be a finite number, got -Infinity'],
    [{ sum: Number.NaN }, 'sum must be a finite number, got NaN'],
  ])('rejects a histogram with %j', (point, reason) => {
    const converted = convert(histogram(point));
    expect(converted).toMatchObject({ points: 0, rejected: 1 });
    expect(converted.errorMessage).toContain(`metric "h" point 0: ${reason}`);
  });

  it.each([
    [{ timeUnixNano: '-1' }, 'timeUnixNano must be below 2^63 (2262-04-11), got 18446744073709551615'],
    [{ timeUnixNano: '18446744073709551615' }, 'timeUnixNano must be below 2^63'],
    [{ timeUnixNano: '9223372036854775808' }, 'timeUnixNano must be below 2^63'],
    [
      { timeUnixNano: TIME, startTimeUnixNano: '1767225600123456790' },
      'startTimeUnixNano (1767225600123456790) must not be after timeUnixNano (1767225600123456789)',
    ],
  ])('rejects a point with times %j', (times, reason) => {
    const converted = convert({ name: 'g', gauge: { dataPoints: [{ asDouble: 1, ...times }] } });
    expect(converted).toMatchObject({ points: 0, rejected: 1 });
    expect(converted.errorMessage).toContain(reason);
  });

  it('keeps the largest time it accepts and a start equal to the time', () => {
    const converted = convert({
      name: 'g',
      gauge: {
        dataPoints: [
          { asDouble: 1, timeUnixNano: '9223372036854775807' },
          { asDouble: 2, timeUnixNano: TIME, startTimeUnixNano: TIME },
        ],
      },
    });
    expect(converted).toMatchObject({ points: 2, rejected: 0 });
  });
});

describe('toResourceMetrics: attribute bounds', () => {
  /** A map nested `depth` levels deep, each level holding a string and the next level. */
  function nested(depth: number): object {
    let value: object = { stringValue: 'leaf "quoted"' };
    for (let i = 0; i < depth; i++) {
      value = {
        kvlistValue: {
          values: [
            { key: 's', value: { stringValue: 'x"y' } },
            { key: 'n', value },
          ],
        },
      };
    }
    return value;
  }
  const gauge = (attributes: object[]) => ({
    name: 'g',
    gauge: { dataPoints: [{ timeUnixNano: TIME, asDouble: 1, attributes }] },
  });

  it('encodes nested maps once: the stored text grows with the depth, not twice per level', () => {
    const converted = convert(gauge([{ key: 'deep', value: nested(8) }]));
    expect(converted).toMatchObject({ points: 1, rejected: 0 });
    const stored = JSON.parse(attrsOfKey(onlyMetric(converted).columns.attributeKeys[0]!).deep!);
    expect(stored.n.n.n.n.n.n.n.n).toBe('leaf "quoted"');
    expect(stored.s).toBe('x"y');
  });

  it('rejects, naming the key and the limit: too deep, too long, too many (the point; the whole resource)', () => {
    // The request: 1,568 bytes at depth 25 stored a 134 MB string.
    const deep = convert(gauge([{ key: 'deep', value: nested(25) }]));
    expect(deep).toMatchObject({ points: 0, rejected: 1 });
    expect(deep.errorMessage).toContain('attribute "deep" nests arrays or maps more than 8 deep');

    const long = convert(gauge([{ key: 'v', value: { stringValue: 'x'.repeat(5000) } }]));
    expect(long.errorMessage).toContain('attribute "v" is about 5000 characters long; at most 4096');
    const wide = convert(
      gauge([{ key: 'list', value: { arrayValue: { values: Array(3000).fill({ stringValue: 'ab' }) } } }]),
    );
    expect(wide.errorMessage).toMatch(/attribute "list" is about \d+ characters long/);
    const key = convert(gauge([{ key: 'k'.repeat(300), value: { stringValue: 'v' } }]));
    expect(key.errorMessage).toContain('is 300 characters long; at most 256');
    const many = convert(
      gauge(Array.from({ length: 129 }, (_, i) => ({ key: `a${i}`, value: { stringValue: 'v' } }))),
    );
    expect(many.errorMessage).toContain('has 129 attributes; at most 128 are accepted');

    const resource = convert(
      { name: 'g', gauge: { dataPoints: [1, 2, 3].map((v) => ({ timeUnixNano: TIME, asDouble: v })) } },
      [{ key: 'deep', value: nested(9) }],
    );
    expect(resource).toMatchObject({ points: 0, rejected: 3 });
    expect(resource.errorMessage).toContain('resourceMetrics[0].resource attribute "deep" nests');

    const edge = convert(gauge([{ key: 'k'.repeat(256), value: { stringValue: 'x'.repeat(4096) } }]));
    expect(edge).toMatchObject({ points: 1, rejected: 0 });
  });
});

describe('decodeOtlpMetrics', () => {
  it.each([
    ['{"asDouble":"abc"}', 'asDouble: must be a number'],
    ['{"asDouble":{}}', 'asDouble: must be a number'],
    ['{"asDouble":true}', 'asDouble: must be a number'],
    ['{"asInt":"1.5"}', 'asInt: must be a whole number that fits in 64 bits'],
    ['{"asInt":"9223372036854775808"}', 'asInt: must be a whole number that fits in 64 bits'],
    ['{"timeUnixNano":"-1"}', 'timeUnixNano: must be a whole number from 0 to 2^64 − 1'],
    ['{"timeUnixNano":"-1e18"}', 'timeUnixNano: must be a whole number from 0 to 2^64 − 1'],
    ['{"timeUnixNano":-5}', 'timeUnixNano: must be a whole number from 0 to 2^64 − 1'],
    ['{"timeUnixNano":"18446744073709551616"}', 'timeUnixNano: must be a whole number from 0 to 2^64 − 1'],
  ])('refuses the whole OTLP/JSON body for a number of the wrong form: %s', (point, reason) => {
    const body = `{"resourceMetrics":[{"scopeMetrics":[{"metrics":[{"name":"g","gauge":{"dataPoints":[${point}]}}]}]}]}`;
    expect(() => decodeOtlpMetrics(Buffer.from(body), 'json')).toThrow(
      `resourceMetrics[0].scopeMetrics[0].metrics[0].gauge.dataPoints[0].${reason}`,
    );
  });

  it('accepts the number forms ProtoJSON allows', () => {
    const points = [
      '{"timeUnixNano":"1767225600000000000","asDouble":"NaN"}',
      '{"timeUnixNano":1767225600000000000,"asDouble":"-Infinity"}',
      '{"timeUnixNano":"1767225600000000000","asDouble":"1.5e3"}',
      '{"timeUnixNano":"1767225600000000000","asInt":"-9223372036854775808"}',
    ];
    const body = `{"resourceMetrics":[{"scopeMetrics":[{"metrics":[{"name":"g","gauge":{"dataPoints":[${points.join(',')}]}}]}]}]}`;
    const converted = toResourceMetrics(decodeOtlpMetrics(Buffer.from(body), 'json'));
    expect(converted).toMatchObject({ points: 4, rejected: 0 });
    const values = onlyMetric(converted).columns.values as number[];
    expect(values.slice(1)).toEqual([Number.NEGATIVE_INFINITY, 1500, -(2 ** 63)]);
    expect(values[0]).toBeNaN();
  });

  it('refuses a JSON array, invalid UTF-8 and a wrong field type with a message naming the problem', () => {
    expect(() => decodeOtlpMetrics(Buffer.from('[]'), 'json')).toThrow(OtlpDecodeError);
    expect(() => decodeOtlpMetrics(Buffer.from([0xff, 0xfe]), 'json')).toThrow(/not valid UTF-8 JSON/);
    expect(() => decodeOtlpMetrics(Buffer.from('{"resourceMetrics":[{"scopeMetrics":{}}]}'), 'json')).toThrow(
      /scopeMetrics: array expected/,
    );
  });

  it('accepts OTLP/JSON enums by name and int64 as numbers', () => {
    const request = decodeOtlpMetrics(
      Buffer.from(
        JSON.stringify({
          resourceMetrics: [
            {
              scopeMetrics: [
                {
                  metrics: [
                    {
                      name: 'n',
                      sum: {
                        aggregationTemporality: 'AGGREGATION_TEMPORALITY_DELTA',
                        dataPoints: [{ timeUnixNano: 1767225600000000000, asInt: 5 }],
                      },
                    },
                  ],
                },
              ],
            },
          ],
        }),
      ),
      'json',
    );
    const converted = toResourceMetrics(request);
    expect(converted).toMatchObject({ points: 1, rejected: 0 });
    expect(onlyMetric(converted)).toMatchObject({
      aggregationTemporality: AggregationTemporality.DELTA,
      columns: { values: [5] },
    });
  });
});
