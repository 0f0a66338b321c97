import protobuf from 'protobufjs/light.js';

/**
 * The OTLP metrics messages as a protobufjs reflection root, built once at load. Names and field
 * numbers are the OpenTelemetry protocol's (opentelemetry-proto: common/v1/common.proto,
 * resource/v1/resource.proto, metrics/v1/metrics.proto,
 * collector/metrics/v1/metrics_service.proto; google/rpc/status.proto for error bodies). Field
 * names are lowerCamelCase, which is what OTLP/JSON uses as object keys, so one schema serves the
 * binary and the JSON encoding.
 *
 * Only what perfwatch stores is declared: exemplars, `metadata`, `flags` beyond the no-value bit
 * and entity references are not, and the decoder skips undeclared fields as protobuf requires of
 * every reader of a newer schema.
 *
 * One-ofs (a metric's data, a point's value, AnyValue) and proto3 `optional` fields are declared
 * as plain fields on purpose: protobufjs keeps a one-of by deleting the other members' properties
 * on every decoded message, which turns each point into a slow dictionary-mode object (a third
 * of the decode time). Their scalar members are declared with explicit presence (PRESENT), as
 * the .proto gives them: without it protobufjs treats a proto3 scalar as implicit-presence and
 * leaves no own property for a zero, `false` or `""`, so `asDouble: 0` looked like no value at
 * all. With it, a decoded message has an own property exactly for each such field present on
 * the wire (or in the JSON), so readers test presence with `Object.hasOwn`.
 */

/** Explicit field presence: a one-of member or a proto3 `optional` scalar. */
const PRESENT = { features: { field_presence: 'EXPLICIT' } };

const COMMON = {
  AnyValue: {
    fields: {
      stringValue: { type: 'string', id: 1, options: PRESENT },
      boolValue: { type: 'bool', id: 2, options: PRESENT },
      intValue: { type: 'int64', id: 3, options: PRESENT },
      doubleValue: { type: 'double', id: 4, options: PRESENT },
      arrayValue: { type: 'ArrayValue', id: 5 },
      kvlistValue: { type: 'KeyValueList', id: 6 },
      bytesValue: { type: 'bytes', id: 7, options: PRESENT },
    },
  },
  ArrayValue: { fields: { values: { rule: 'repeated', type: 'AnyValue', id: 1 } } },
  KeyValueList: { fields: { values: { rule: 'repeated', type: 'KeyValue', id: 1 } } },
  KeyValue: {
    fields: {
      key: { type: 'string', id: 1 },
      value: { type: 'AnyValue', id: 2 },
    },
  },
  InstrumentationScope: {
    fields: {
      name: { type: 'string', id: 1 },
      version: { type: 'string', id: 2 },
      attributes: { rule: 'repeated', type: 'KeyValue', id: 3 },
      droppedAttributesCount: { type: 'uint32', id: 4 },
    },
  },
};

const RESOURCE = {
  Resource: {
    fields: {
      attributes: { rule: 'repeated', type: 'opentelemetry.proto.common.v1.KeyValue', id: 1 },
      droppedAttributesCount: { type: 'uint32', id: 2 },
    },
  },
};

const KEY_VALUE = 'opentelemetry.proto.common.v1.KeyValue';

const METRICS = {
  AggregationTemporality: {
    values: {
      AGGREGATION_TEMPORALITY_UNSPECIFIED: 0,
      AGGREGATION_TEMPORALITY_DELTA: 1,
      AGGREGATION_TEMPORALITY_CUMULATIVE: 2,
    },
  },
  ResourceMetrics: {
    fields: {
      resource: { type: 'opentelemetry.proto.resource.v1.Resource', id: 1 },
      scopeMetrics: { rule: 'repeated', type: 'ScopeMetrics', id: 2 },
      schemaUrl: { type: 'string', id: 3 },
    },
  },
  ScopeMetrics: {
    fields: {
      scope: { type: 'opentelemetry.proto.common.v1.InstrumentationScope', id: 1 },
      metrics: { rule: 'repeated', type: 'Metric', id: 2 },
      schemaUrl: { type: 'string', id: 3 },
    },
  },
  Metric: {
    fields: {
      name: { type: 'string', id: 1 },
      description: { type: 'string', id: 2 },
      unit: { type: 'string', id: 3 },
      gauge: { type: 'Gauge', id: 5 },
      sum: { type: 'Sum', id: 7 },
      histogram: { type: 'Histogram', id: 9 },
      exponentialHistogram: { type: 'ExponentialHistogram', id: 10 },
      summary: { type: 'Summary', id: 11 },
    },
  },
  Gauge: { fields: { dataPoints: { rule: 'repeated', type: 'NumberDataPoint', id: 1 } } },
  Sum: {
    fields: {
      dataPoints: { rule: 'repeated', type: 'NumberDataPoint', id: 1 },
      aggregationTemporality: { type: 'AggregationTemporality', id: 2 },
      isMonotonic: { type: 'bool', id: 3 },
    },
  },
  Histogram: {
    fields: {
      dataPoints: { rule: 'repeated', type: 'HistogramDataPoint', id: 1 },
      aggregationTemporality: { type: 'AggregationTemporality', id: 2 },
    },
  },
  ExponentialHistogram: {
    fields: {
      dataPoints: { rule: 'repeated', type: 'ExponentialHistogramDataPoint', id: 1 },
      aggregationTemporality: { type: 'AggregationTemporality', id: 2 },
    },
  },
  Summary: { fields: { dataPoints: { rule: 'repeated', type: 'SummaryDataPoint', id: 1 } } },
  NumberDataPoint: {
    fields: {
      attributes: { rule: 'repeated', type: KEY_VALUE, id: 7 },
      startTimeUnixNano: { type: 'fixed64', id: 2 },
      timeUnixNano: { type: 'fixed64', id: 3 },
      asDouble: { type: 'double', id: 4, options: PRESENT },
      asInt: { type: 'sfixed64', id: 6, options: PRESENT },
      flags: { type: 'uint32', id: 8 },
    },
  },
  HistogramDataPoint: {
    fields: {
      attributes: { rule: 'repeated', type: KEY_VALUE, id: 9 },
      startTimeUnixNano: { type: 'fixed64', id: 2 },
      timeUnixNano: { type: 'fixed64', id: 3 },
      count: { type: 'fixed64', id: 4 },
      sum: { type: 'double', id: 5, options: PRESENT },
      bucketCounts: { rule: 'repeated', type: 'fixed64', id: 6 },
      explicitBounds: { rule: 'repeated', type: 'double', id: 7 },
      flags: { type: 'uint32', id: 10 },
      min: { type: 'double', id: 11, options: PRESENT },
      max: { type: 'double', id: 12, options: PRESENT },
    },
  },
  ExponentialHistogramDataPoint: {
    fields: {
      attributes: { rule: 'repeated', type: KEY_VALUE, id: 1 },
      startTimeUnixNano: { type: 'fixed64', id: 2 },
      timeUnixNano: { type: 'fixed64', id: 3 },
      count: { type: 'fixed64', id: 4 },
      sum: { type: 'double', id: 5, options: PRESENT },
      scale: { type: 'sint32', id: 6 },
      zeroCount: { type: 'fixed64', id: 7 },
      positive: { type: 'Buckets', id: 8 },
      negative: { type: 'Buckets', id: 9 },
      flags: { type: 'uint32', id: 10 },
      min: { type: 'double', id: 12, options: PRESENT },
      max: { type: 'double', id: 13, options: PRESENT },
      zeroThreshold: { type: 'double', id: 14 },
    },
    nested: {
      Buckets: {
        fields: {
          offset: { type: 'sint32', id: 1 },
          bucketCounts: { rule: 'repeated', type: 'uint64', id: 2 },
        },
      },
    },
  },
  SummaryDataPoint: {
    fields: {
      attributes: { rule: 'repeated', type: KEY_VALUE, id: 7 },
      startTimeUnixNano: { type: 'fixed64', id: 2 },
      timeUnixNano: { type: 'fixed64', id: 3 },
      count: { type: 'fixed64', id: 4 },
      sum: { type: 'double', id: 5 },
      quantileValues: { rule: 'repeated', type: 'ValueAtQuantile', id: 6 },
      flags: { type: 'uint32', id: 8 },
    },
    nested: {
      ValueAtQuantile: {
        fields: {
          quantile: { type: 'double', id: 1 },
          value: { type: 'double', id: 2 },
        },
      },
    },
  },
};

const COLLECTOR = {
  ExportMetricsServiceRequest: {
    fields: {
      resourceMetrics: {
        rule: 'repeated',
        type: 'opentelemetry.proto.metrics.v1.ResourceMetrics',
        id: 1,
      },
    },
  },
  ExportMetricsServiceResponse: {
    fields: { partialSuccess: { type: 'ExportMetricsPartialSuccess', id: 1 } },
  },
  ExportMetricsPartialSuccess: {
    fields: {
      rejectedDataPoints: { type: 'int64', id: 1 },
      errorMessage: { type: 'string', id: 2 },
    },
  },
};

/** google.rpc.Status, the body of OTLP/HTTP error responses (`details` is never sent). */
const RPC = {
  Status: {
    fields: {
      code: { type: 'int32', id: 1 },
      message: { type: 'string', id: 2 },
    },
  },
};

const root = protobuf.Root.fromJSON({
  nested: {
    opentelemetry: {
      nested: {
        proto: {
          nested: {
            common: { nested: { v1: { nested: COMMON } } },
            resource: { nested: { v1: { nested: RESOURCE } } },
            metrics: { nested: { v1: { nested: METRICS } } },
            collector: { nested: { metrics: { nested: { v1: { nested: COLLECTOR } } } } },
          },
        },
      },
    },
    google: { nested: { rpc: { nested: RPC } } },
  },
});

export const ExportMetricsServiceRequest = root.lookupType(
  'opentelemetry.proto.collector.metrics.v1.ExportMetricsServiceRequest',
);
export const ExportMetricsServiceResponse = root.lookupType(
  'opentelemetry.proto.collector.metrics.v1.ExportMetricsServiceResponse',
);
export const RpcStatus = root.lookupType('google.rpc.Status');
