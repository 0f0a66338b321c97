import { once } from 'node:events';
import { connect } from 'node:net';
import { gzipSync } from 'node:zlib';
import { ExportResultCode } from '@opentelemetry/core';
import { OTLPMetricExporter as OtlpHttpJsonExporter } from '@opentelemetry/exporter-metrics-otlp-http';
import { OTLPMetricExporter as OtlpProtoExporter } from '@opentelemetry/exporter-metrics-otlp-proto';
import { CompressionAlgorithm } from '@opentelemetry/otlp-exporter-base';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { AggregationTemporality, AggregationType, MeterProvider } from '@opentelemetry/sdk-metrics';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { OtlpReceiver } from '../../src/receiver/OtlpReceiver.js';
import {
  ExportMetricsServiceRequest,
  ExportMetricsServiceResponse,
  RpcStatus,
} from '../../src/receiver/otlpMetricsSchema.js';
import { MetricStore } from '../../src/store/MetricStore.js';
import { exportWith, ManualReader } from '../helpers/manualExport.js';
import { tempDir } from '../helpers/tempDir.js';

function micros(time: readonly [number, number]): bigint {
  return BigInt(time[0]) * 1_000_000n + BigInt(Math.trunc(time[1] / 1000));
}

const NANOS = '1767225600000000000'; // 2026-01-01T00:00:00Z
const NANOS_MICROS = 1_767_225_600_000_000n;

describe('OtlpReceiver', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let store: MetricStore;
  let receiver: OtlpReceiver;
  let url: string;

  beforeEach(async () => {
    dir = await tempDir();
    store = await MetricStore.open(dir.file('central.duckdb'));
    receiver = new OtlpReceiver({ store, port: 0, maxRequestBytes: 64 * 1024 });
    url = await receiver.start();
  });

  afterEach(async () => {
    await receiver.shutdown();
    await store.close();
    await dir.cleanup();
  });

  async function pointCount(): Promise<number> {
    const [row] = await store.query(
      `SELECT (SELECT count(*) FROM points_number) + (SELECT count(*) FROM points_histogram)
            + (SELECT count(*) FROM points_exp_histogram) + (SELECT count(*) FROM points_summary) AS n`,
    );
    return Number(row?.n);
  }

  function post(body: Uint8Array | string, headers: Record<string, string>, target = url, method = 'POST') {
    return fetch(target, { method, headers, body: method === 'GET' ? undefined : body });
  }

  it('stores what the official protobuf exporter sends, field for field, with the resource', async () => {
    const reader = new ManualReader();
    const provider = new MeterProvider({
      resource: resourceFromAttributes({
        'service.name': 'checkout',
        'service.version': '1.4.2',
        'host.name': 'web-1',
      }),
      readers: [reader],
      views: [
        { instrumentName: 'latency.exp', aggregation: { type: AggregationType.EXPONENTIAL_HISTOGRAM } },
      ],
    });
    const meter = provider.getMeter('shop', '2.0.0');
    meter.createCounter('orders', { unit: '{order}', description: 'orders placed' }).add(3, { region: 'eu' });
    meter.createUpDownCounter('queue.depth').add(-2, { queue: 'mail' });
    meter.createGauge('temperature', { unit: 'Cel' }).record(21.5, { room: 'lab', floor: 3, ok: true });
    const latency = meter.createHistogram('latency', {
      unit: 'ms',
      advice: { explicitBucketBoundaries: [10, 100] },
    });
    for (const value of [5, 50, 500, 7]) latency.record(value, { route: '/pay' });
    const exp = meter.createHistogram('latency.exp');
    for (const value of [1, 2, 4, 1000]) exp.record(value);
    const { resourceMetrics } = await reader.collect();

    const exporter = new OtlpProtoExporter({ url });
    expect(await exportWith(exporter, resourceMetrics)).toEqual({ code: ExportResultCode.SUCCESS });
    await exporter.shutdown();
    await provider.shutdown();

    const metric = (name: string) =>
      resourceMetrics.scopeMetrics[0]!.metrics.find((m) => m.descriptor.name === name)!;
    const numbers = await store.query(`
      SELECT s.metric_name, s.kind, s.unit, s.description, s.temporality, s.monotonic, s.attrs,
             s.service_name, s.service_version, s.host_name, s.resource_attrs, s.scope_name, s.scope_version,
             epoch_us(p.start_time) AS start_us, epoch_us(p.time) AS time_us, p.value
      FROM points_number p JOIN series s USING (series_ref) ORDER BY s.metric_name`);
    const resourceColumns = {
      service_name: 'checkout',
      service_version: '1.4.2',
      host_name: 'web-1',
      scope_name: 'shop',
      scope_version: '2.0.0',
    };
    const times = (name: string) => {
      const point = metric(name).dataPoints[0]!;
      return { start_us: micros(point.startTime), time_us: micros(point.endTime) };
    };
    expect(numbers).toEqual([
      {
        metric_name: 'orders',
        kind: 'sum',
        unit: '{order}',
        description: 'orders placed',
        temporality: 'cumulative',
        monotonic: true,
        attrs: { region: 'eu' },
        ...resourceColumns,
        resource_attrs: expect.objectContaining({ 'service.name': 'checkout', 'host.name': 'web-1' }),
        ...times('orders'),
        value: 3,
      },
      expect.objectContaining({
        metric_name: 'queue.depth',
        kind: 'sum',
        temporality: 'cumulative',
        monotonic: false,
        attrs: { queue: 'mail' },
        ...times('queue.depth'),
        value: -2,
      }),
      expect.objectContaining({
        metric_name: 'temperature',
        kind: 'gauge',
        unit: 'Cel',
        temporality: null,
        monotonic: null,
        attrs: { floor: '3', ok: 'true', room: 'lab' },
        ...resourceColumns,
        ...times('temperature'),
        value: 21.5,
      }),
    ]);

    const [histogram] = await store.query(`
      SELECT s.metric_name, s.unit, s.temporality, s.attrs, s.service_name, p.count, p.sum, p.min, p.max,
             p.bounds, p.counts, epoch_us(p.time) AS time_us
      FROM points_histogram p JOIN series s USING (series_ref)`);
    expect(histogram).toEqual({
      metric_name: 'latency',
      unit: 'ms',
      temporality: 'cumulative',
      attrs: { route: '/pay' },
      service_name: 'checkout',
      count: 4n,
      sum: 562,
      min: 5,
      max: 500,
      bounds: [10, 100],
      counts: [2n, 1n, 1n],
      time_us: times('latency').time_us,
    });

    const expPoint = metric('latency.exp').dataPoints[0]!.value as {
      scale: number;
      positive: { offset: number; bucketCounts: number[] };
    };
    const [exponential] = await store.query(`
      SELECT s.metric_name, p.count, p.sum, p.min, p.max, p.scale, p.zero_count, p.zero_threshold,
             p.positive_offset, p.positive_counts, p.negative_counts
      FROM points_exp_histogram p JOIN series s USING (series_ref)`);
    expect(exponential).toEqual({
      metric_name: 'latency.exp',
      count: 4n,
      sum: 1007,
      min: 1,
      max: 1000,
      scale: expPoint.scale,
      zero_count: 0n,
      zero_threshold: 0,
      positive_offset: expPoint.positive.offset,
      positive_counts: expPoint.positive.bucketCounts.map(BigInt),
      negative_counts: [],
    });
  });

  it('stores delta temporality as sent, from the JSON exporter with gzip', async () => {
    // Delta, as a service whose SDK prefers it exports (the temporality is fixed at collection).
    const reader = new ManualReader({ aggregationTemporalitySelector: () => AggregationTemporality.DELTA });
    const provider = new MeterProvider({
      resource: resourceFromAttributes({ 'service.name': 'billing' }),
      readers: [reader],
    });
    provider.getMeter('pay').createCounter('payments').add(7, { method: 'card' });
    provider
      .getMeter('pay')
      .createHistogram('amount', { advice: { explicitBucketBoundaries: [1] } })
      .record(3);
    const { resourceMetrics } = await reader.collect();
    const exporter = new OtlpHttpJsonExporter({
      url,
      compression: CompressionAlgorithm.GZIP,
    });
    expect(await exportWith(exporter, resourceMetrics)).toEqual({ code: ExportResultCode.SUCCESS });
    await exporter.shutdown();
    await provider.shutdown();

    const rows = await store.query(`
      SELECT metric_name, kind, temporality, monotonic, service_name, scope_name FROM series ORDER BY metric_name`);
    expect(rows).toEqual([
      {
        metric_name: 'amount',
        kind: 'histogram',
        temporality: 'delta',
        monotonic: null,
        service_name: 'billing',
        scope_name: 'pay',
      },
      {
        metric_name: 'payments',
        kind: 'sum',
        temporality: 'delta',
        monotonic: true,
        service_name: 'billing',
        scope_name: 'pay',
      },
    ]);
    const [sum] = await store.query(
      `SELECT Value, AggregationTemporality, IsMonotonic, Attributes FROM otel_metrics_sum`,
    );
    expect(sum).toEqual({
      Value: 7,
      AggregationTemporality: 1,
      IsMonotonic: true,
      Attributes: { method: 'card' },
    });
  });

  it.each(['protobuf', 'json'] as const)(
    'keeps zero values, zero statistics and false/0/"" attributes as sent (%s)',
    async (encoding) => {
      const reader = new ManualReader();
      const provider = new MeterProvider({
        resource: resourceFromAttributes({ 'service.name': 'idle', 'feature.on': false, 'process.pid': 0 }),
        readers: [reader],
      });
      const meter = provider.getMeter('idle');
      meter.createGauge('queue.size').record(0);
      const counter = meter.createCounter('jobs');
      for (const attributes of [{ flag: false }, { code: 0 }, { empty: '' }, {}]) counter.add(0, attributes);
      meter.createUpDownCounter('in.flight').add(0);
      meter.createObservableGauge('pool.free').addCallback((result) => result.observe(0));
      meter.createHistogram('wait', { advice: { explicitBucketBoundaries: [1] } }).record(0);
      const { resourceMetrics } = await reader.collect();
      const exporter =
        encoding === 'json' ? new OtlpHttpJsonExporter({ url }) : new OtlpProtoExporter({ url });
      expect(await exportWith(exporter, resourceMetrics)).toEqual({ code: ExportResultCode.SUCCESS });
      await exporter.shutdown();
      await provider.shutdown();

      expect(
        await store.query(`
          SELECT s.metric_name, s.attrs, p.value FROM points_number p JOIN series s USING (series_ref)
          ORDER BY s.metric_name, s.attrs::VARCHAR`),
      ).toEqual([
        { metric_name: 'in.flight', attrs: {}, value: 0 },
        { metric_name: 'jobs', attrs: { code: '0' }, value: 0 },
        { metric_name: 'jobs', attrs: { empty: '' }, value: 0 },
        { metric_name: 'jobs', attrs: { flag: 'false' }, value: 0 },
        { metric_name: 'jobs', attrs: {}, value: 0 },
        { metric_name: 'pool.free', attrs: {}, value: 0 },
        { metric_name: 'queue.size', attrs: {}, value: 0 },
      ]);
      expect(
        await store.query('SELECT DISTINCT resource_attrs FROM series WHERE service_name IS NOT NULL'),
      ).toEqual([
        {
          resource_attrs: expect.objectContaining({
            'service.name': 'idle',
            'feature.on': 'false',
            'process.pid': '0',
          }),
        },
      ]);
      expect(await store.query('SELECT count, sum, min, max, counts FROM points_histogram')).toEqual([
        { count: 1n, sum: 0, min: 0, max: 0, counts: [1n, 0n] },
      ]);
    },
  );

  it('keeps zero values written by hand in OTLP/JSON: asDouble 0, asInt "0" and asInt 0', async () => {
    const point = (value: object, key: string) => ({
      timeUnixNano: NANOS,
      attributes: [{ key: 'form', value: { stringValue: key } }],
      ...value,
    });
    const request = {
      resourceMetrics: [
        {
          scopeMetrics: [
            {
              metrics: [
                {
                  name: 'depth',
                  gauge: {
                    dataPoints: [
                      point({ asDouble: 0 }, 'double'),
                      point({ asInt: '0' }, 'int text'),
                      point({ asInt: 0 }, 'int number'),
                    ],
                  },
                },
              ],
            },
          ],
        },
      ],
    };
    const answer = await post(JSON.stringify(request), { 'Content-Type': 'application/json' });
    expect(await answer.json()).toEqual({});
    expect(
      await store.query(`
        SELECT s.attrs['form'] AS form, p.value FROM points_number p JOIN series s USING (series_ref)
        ORDER BY form`),
    ).toEqual([
      { form: 'double', value: 0 },
      { form: 'int number', value: 0 },
      { form: 'int text', value: 0 },
    ]);
  });

  it.each([25, 31])(
    'answers nested map attributes %i deep with a rejected point, not a huge string or a 500',
    async (depth) => {
      let value: object = { stringValue: 'leaf' };
      for (let i = 0; i < depth; i++) value = { kvlistValue: { values: [{ key: 'n', value }] } };
      const point = (attributes: object[]) => ({ timeUnixNano: NANOS, asDouble: 1, attributes });
      const request = {
        resourceMetrics: [
          {
            scopeMetrics: [
              {
                metrics: [
                  { name: 'nested', gauge: { dataPoints: [point([{ key: 'deep', value }]), point([])] } },
                ],
              },
            ],
          },
        ],
      };
      const answer = await post(JSON.stringify(request), { 'Content-Type': 'application/json' });
      expect(answer.status).toBe(200);
      const body = (await answer.json()) as {
        partialSuccess: { rejectedDataPoints: string; errorMessage: string };
      };
      expect(body.partialSuccess.rejectedDataPoints).toBe('1');
      expect(body.partialSuccess.errorMessage).toContain(
        'attribute "deep" nests arrays or maps more than 8 deep',
      );
      expect(await pointCount()).toBe(1);
      const [longest] = await store.query('SELECT max(length(attrs::VARCHAR))::INTEGER AS n FROM series');
      expect(longest!.n).toBeLessThan(100);
    },
  );

  it('refuses a body nested beyond the decoder recursion limit with 400, storing nothing', async () => {
    let value: object = { stringValue: 'leaf' };
    for (let i = 0; i < 200; i++) value = { kvlistValue: { values: [{ key: 'n', value }] } };
    const request = {
      resourceMetrics: [
        {
          scopeMetrics: [
            {
              metrics: [
                {
                  name: 'nested',
                  gauge: {
                    dataPoints: [{ timeUnixNano: NANOS, asDouble: 1, attributes: [{ key: 'd', value }] }],
                  },
                },
              ],
            },
          ],
        },
      ],
    };
    const answer = await post(JSON.stringify(request), { 'Content-Type': 'application/json' });
    expect(answer.status).toBe(400);
    expect(((await answer.json()) as { message: string }).message).toContain('max depth exceeded');
    expect(await pointCount()).toBe(0);
  });

  it('stores summaries and rejects invalid points in partial_success, keeping the rest (OTLP/JSON)', async () => {
    const point = { timeUnixNano: NANOS, startTimeUnixNano: '0' };
    const request = {
      resourceMetrics: [
        {
          resource: { attributes: [{ key: 'service.name', value: { stringValue: 'legacy' } }] },
          scopeMetrics: [
            {
              scope: { name: 'prom' },
              metrics: [
                {
                  name: 'rpc.duration',
                  unit: 's',
                  summary: {
                    dataPoints: [
                      {
                        ...point,
                        count: '10',
                        sum: 2.5,
                        quantileValues: [
                          { quantile: 0.5, value: 0.2 },
                          { quantile: 0.99, value: 0.9 },
                        ],
                        attributes: [{ key: 'method', value: { stringValue: 'get' } }],
                      },
                      { ...point, count: 1, sum: 1, quantileValues: [{ quantile: 1.5, value: 1 }] },
                    ],
                  },
                },
                {
                  name: 'requests',
                  sum: {
                    aggregationTemporality: 2,
                    isMonotonic: true,
                    dataPoints: [
                      { ...point, asInt: '42' },
                      { ...point, asDouble: 'NaN', attributes: [{ key: 'bad', value: { boolValue: true } }] },
                    ],
                  },
                },
                {
                  name: 'sizes',
                  histogram: {
                    aggregationTemporality: 2,
                    dataPoints: [{ ...point, count: '3', bucketCounts: ['1', '2'], explicitBounds: [1, 2] }],
                  },
                },
                { name: '', gauge: { dataPoints: [{ ...point, asDouble: 1 }] } },
                {
                  name: 'temperature',
                  gauge: {
                    dataPoints: [
                      { ...point, asDouble: 'NaN' },
                      { ...point, asDouble: 20 },
                    ],
                  },
                },
              ],
            },
          ],
        },
      ],
    };
    const response = await post(JSON.stringify(request), { 'Content-Type': 'application/json' });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('application/json');
    const body = (await response.json()) as {
      partialSuccess: { rejectedDataPoints: string; errorMessage: string };
    };
    expect(body.partialSuccess.rejectedDataPoints).toBe('4');
    expect(body.partialSuccess.errorMessage).toContain('quantile must be between 0 and 1, got 1.5');
    expect(body.partialSuccess.errorMessage).toContain('a monotonic sum must be finite and ≥ 0, got NaN');
    expect(body.partialSuccess.errorMessage).toContain('bucketCounts has 2 entries for 2 explicitBounds');
    expect(body.partialSuccess.errorMessage).toContain('metric.name: must not be empty');

    const [summary] = await store.query(`
      SELECT MetricName, ServiceName, Attributes, Count, Sum, "ValueAtQuantiles.Quantile" AS q,
             "ValueAtQuantiles.Value" AS v, epoch_us(TimeUnix) AS t, epoch_us(StartTimeUnix) AS s
      FROM otel_metrics_summary`);
    expect(summary).toEqual({
      MetricName: 'rpc.duration',
      ServiceName: 'legacy',
      Attributes: { method: 'get' },
      Count: 10n,
      Sum: 2.5,
      q: [0.5, 0.99],
      v: [0.2, 0.9],
      t: NANOS_MICROS,
      // No startTimeUnixNano: unset, stored as NULL rather than 1970.
      s: null,
    });
    const numbers = await store.query(
      `SELECT metric_name, kind, value FROM points_number JOIN series USING (series_ref) ORDER BY metric_name, value`,
    );
    // NaN is a valid gauge value (kept, as the reader keeps it); only the monotonic sum refused it.
    expect(numbers).toEqual([
      { metric_name: 'requests', kind: 'sum', value: 42 },
      { metric_name: 'temperature', kind: 'gauge', value: 20 },
      { metric_name: 'temperature', kind: 'gauge', value: Number.NaN },
    ]);
    expect(await pointCount()).toBe(4);
  });

  it('answers a fully valid protobuf request with an empty ExportMetricsServiceResponse', async () => {
    const body = gaugeRequestBytes([{ asDouble: 1 }]);
    const response = await post(body, { 'Content-Type': 'application/x-protobuf' });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('application/x-protobuf');
    const decoded = ExportMetricsServiceResponse.decode(new Uint8Array(await response.arrayBuffer()));
    expect(ExportMetricsServiceResponse.toObject(decoded)).toEqual({});
    expect(await pointCount()).toBe(1);
  });

  it('rejects malformed and truncated bodies with 400 and a Status, storing nothing', async () => {
    await post(gaugeRequestBytes([{ asDouble: 1 }]), { 'Content-Type': 'application/x-protobuf' });
    expect(await pointCount()).toBe(1);
    const valid = gaugeRequestBytes([{ asDouble: 2 }, { asDouble: 3 }]);

    const truncated = await post(valid.subarray(0, valid.length - 5), {
      'Content-Type': 'application/x-protobuf',
    });
    expect(truncated.status).toBe(400);
    const status = RpcStatus.toObject(RpcStatus.decode(new Uint8Array(await truncated.arrayBuffer())));
    expect(status).toEqual({ code: 3, message: expect.stringContaining('not a valid protobuf') });

    const garbage = await post(new Uint8Array([0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x01]), {
      'Content-Type': 'application/x-protobuf',
    });
    expect(garbage.status).toBe(400);

    const badJson = await post('{"resourceMetrics": [', { 'Content-Type': 'application/json' });
    expect(badJson.status).toBe(400);
    expect(await badJson.json()).toEqual({
      code: 3,
      message: expect.stringContaining('not valid UTF-8 JSON'),
    });

    const wrongShape = await post('{"resourceMetrics": "x"}', { 'Content-Type': 'application/json' });
    expect(wrongShape.status).toBe(400);
    expect(((await wrongShape.json()) as { message: string }).message).toContain(
      'resourceMetrics: array expected',
    );

    const badGzip = await post(new Uint8Array([1, 2, 3]), {
      'Content-Type': 'application/x-protobuf',
      'Content-Encoding': 'gzip',
    });
    expect(badGzip.status).toBe(400);

    expect(await pointCount()).toBe(1);
  });

  it('answers 415, 404, 405 and 413 (declared, streamed and after gunzip)', async () => {
    const text = await post('x', { 'Content-Type': 'text/plain' });
    expect(text.status).toBe(415);
    expect(((await text.json()) as { message: string }).message).toContain('Content-Type must be');
    const deflate = await post('{}', { 'Content-Type': 'application/json', 'Content-Encoding': 'br' });
    expect(deflate.status).toBe(415);
    expect(
      (await post('{}', { 'Content-Type': 'application/json' }, url.replace('/v1/metrics', '/v1/traces')))
        .status,
    ).toBe(404);
    const get = await post('', {}, url, 'GET');
    expect(get.status).toBe(405);
    expect(get.headers.get('allow')).toBe('POST');

    const tooLarge = await post(new Uint8Array(65 * 1024), { 'Content-Type': 'application/x-protobuf' });
    expect(tooLarge.status).toBe(413);
    // Without Content-Length (chunked): the limit applies while reading.
    const chunked = new ReadableStream<Uint8Array>({
      start(controller) {
        for (let i = 0; i < 3; i++) controller.enqueue(new Uint8Array(30 * 1024));
        controller.close();
      },
    });
    const streamed = await fetch(url, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-protobuf' },
      body: chunked,
      duplex: 'half',
    } as RequestInit);
    expect(streamed.status).toBe(413);
    // A gzip bomb: 10 MiB of zeros compress to ~10 KiB, below the limit until decompressed.
    const bomb = gzipSync(Buffer.alloc(10 * 1024 * 1024));
    expect(bomb.length).toBeLessThan(64 * 1024);
    const bombed = await post(bomb, { 'Content-Type': 'application/x-protobuf', 'Content-Encoding': 'gzip' });
    expect(bombed.status).toBe(413);
    expect(await pointCount()).toBe(0);
  });

  it('survives a client that disconnects mid-body: nothing stored, shutdown not held up', async () => {
    const patient = new OtlpReceiver({ store, port: 0, shutdownTimeoutMillis: 600_000 });
    const patientUrl = new URL(await patient.start());
    const socket = connect(Number(patientUrl.port), '127.0.0.1');
    await once(socket, 'connect');
    const body = gaugeRequestBytes([{ asDouble: 1 }, { asDouble: 2 }]);
    socket.write(
      `POST /v1/metrics HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-protobuf\r\nContent-Length: ${body.length}\r\n\r\n`,
    );
    socket.write(body.subarray(0, 10));
    socket.destroy();
    await once(socket, 'close');
    const after = await post(
      gaugeRequestBytes([{ asDouble: 3 }]),
      { 'Content-Type': 'application/x-protobuf' },
      patientUrl.href,
    );
    expect(after.status).toBe(200);
    // With the abandoned request still pending, this would wait for the 10-minute timeout.
    await patient.shutdown();
    expect(await store.query('SELECT value FROM points_number')).toEqual([{ value: 3 }]);
  });

  it('requires the bearer token when one is set', async () => {
    const secured = new OtlpReceiver({ store, port: 0, token: 's3cret' });
    const securedUrl = await secured.start();
    try {
      const body = gaugeRequestBytes([{ asDouble: 1 }]);
      const anonymous = await post(body, { 'Content-Type': 'application/x-protobuf' }, securedUrl);
      expect(anonymous.status).toBe(401);
      expect(anonymous.headers.get('www-authenticate')).toBe('Bearer');
      const wrong = await post(
        body,
        { 'Content-Type': 'application/x-protobuf', Authorization: 'Bearer nope' },
        securedUrl,
      );
      expect(wrong.status).toBe(401);
      const right = await post(
        body,
        { 'Content-Type': 'application/x-protobuf', Authorization: 'Bearer s3cret' },
        securedUrl,
      );
      expect(right.status).toBe(200);
      expect(await pointCount()).toBe(1);
    } finally {
      await secured.shutdown();
    }
  });

  it('refuses a non-loopback interface without a token and invalid limits, naming the option', () => {
    expect(() => new OtlpReceiver({ store, host: '0.0.0.0' })).toThrow(
      /host: "0.0.0.0" is not a loopback interface/,
    );
    expect(() => new OtlpReceiver({ store, maxRequestBytes: 0 })).toThrow(
      /maxRequestBytes: must be an integer/,
    );
    expect(() => new OtlpReceiver({ store, port: 70_000 })).toThrow(
      /port: must be an integer between 0 and 65535/,
    );
  });
});

describe('OtlpReceiver back-pressure', () => {
  it('answers 429 with Retry-After while the write buffer is full, and accepts again once it drains', async () => {
    const written: number[] = [];
    let release: () => void = () => undefined;
    const blocked = new Promise<void>((resolve) => {
      release = resolve;
    });
    // A store writer stuck on a slow disk: the first write waits until the test releases it.
    const writer = {
      async writeCollections(batch: readonly { scopeMetrics: readonly { metrics: readonly unknown[] }[] }[]) {
        await blocked;
        written.push(batch.length);
      },
    };
    const receiver = new OtlpReceiver({ store: writer, port: 0, maxPendingPoints: 2, retryAfterSeconds: 7 });
    const url = await receiver.start();
    try {
      const send = () =>
        fetch(url, {
          method: 'POST',
          headers: { 'Content-Type': 'application/x-protobuf' },
          body: gaugeRequestBytes([{ asDouble: 1 }, { asDouble: 2 }]),
        });
      const first = send();
      await expect.poll(() => receiver.pendingPoints, { timeout: 5000, interval: 5 }).toBe(2);
      const refused = await send();
      expect(refused.status).toBe(429);
      expect(refused.headers.get('retry-after')).toBe('7');
      const status = RpcStatus.decode(new Uint8Array(await refused.arrayBuffer()));
      expect(RpcStatus.toObject(status)).toEqual({
        code: 8,
        message: expect.stringContaining('write buffer is full'),
      });
      release();
      expect((await first).status).toBe(200);
      expect((await send()).status).toBe(200);
      expect(written).toEqual([1, 1]);
    } finally {
      release();
      await receiver.shutdown();
    }
  });
});

describe('OtlpReceiver buffered bodies', () => {
  it('answers 503 while bodies in flight exceed maxBufferedBytes, and counts none after they are stored', async () => {
    const dir = await tempDir();
    const store = await MetricStore.open(dir.file('buffered.duckdb'));
    const limit = 4096;
    // A clock that stands still: the half-sent upload never counts as stalled here.
    const receiver = new OtlpReceiver({
      store,
      port: 0,
      maxRequestBytes: limit,
      maxBufferedBytes: limit,
      now: () => 0,
    });
    const url = new URL(await receiver.start());
    const body = gaugeRequestBytes(Array.from({ length: 80 }, (_, i) => ({ asDouble: i })));
    expect(body.length).toBeGreaterThan(limit / 2);
    expect(body.length).toBeLessThan(limit);
    // Each answer is read whole, so no connection is left holding an unread body.
    const send = async () => {
      const response = await fetch(url, {
        method: 'POST',
        headers: { 'Content-Type': 'application/x-protobuf' },
        body,
      });
      await response.arrayBuffer();
      return response;
    };
    try {
      // A client halfway through its upload holds part of the budget…
      const socket = connect(Number(url.port), '127.0.0.1');
      await once(socket, 'connect');
      socket.write(
        `POST /v1/metrics HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-protobuf\r\nContent-Length: ${body.length}\r\n\r\n`,
      );
      socket.write(body.subarray(0, body.length - 100));
      // …so another whole body does not fit (once the server has read that half).
      await expect.poll(async () => (await send()).status, { timeout: 5000, interval: 10 }).toBe(503);
      const refused = await send();
      expect(refused.status).toBe(503);
      expect(refused.headers.get('retry-after')).toBe('1');
      const answer = once(socket, 'data');
      socket.write(body.subarray(body.length - 100));
      expect(String((await answer)[0])).toMatch(/^HTTP\/1\.1 200/);
      socket.destroy();
      // Stored bodies are no longer counted: a whole body fits again, twice in a row.
      expect((await send()).status).toBe(200);
      expect((await send()).status).toBe(200);
    } finally {
      await receiver.shutdown();
      await store.close();
      await dir.cleanup();
    }
  });
});

describe('OtlpReceiver stalled uploads', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let store: MetricStore;
  beforeEach(async () => {
    dir = await tempDir();
    store = await MetricStore.open(dir.file('stalled.duckdb'));
  });
  afterEach(async () => {
    await store.close();
    await dir.cleanup();
  });

  /** Opens a connection and sends the headers and all but the last 100 bytes of `body`. */
  async function stallUpload(url: URL, body: Uint8Array) {
    const socket = connect(Number(url.port), '127.0.0.1');
    await once(socket, 'connect');
    socket.write(
      `POST /v1/metrics HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-protobuf\r\nContent-Length: ${body.length}\r\n\r\n`,
    );
    socket.write(body.subarray(0, body.length - 100));
    let answer = '';
    socket.setEncoding('utf8').on('data', (text: string) => {
      answer += text;
    });
    const closed = once(socket, 'close').then(() => answer);
    return { socket, closed };
  }

  it('ends an upload that stalled when an honest request needs its room (408), and stores the honest one', async () => {
    const limit = 4096;
    let clock = 0;
    const receiver = new OtlpReceiver({
      store,
      port: 0,
      maxRequestBytes: limit,
      maxBufferedBytes: limit,
      stalledUploadMillis: 1000,
      now: () => clock,
    });
    const url = new URL(await receiver.start());
    const body = gaugeRequestBytes(Array.from({ length: 80 }, (_, i) => ({ asDouble: i })));
    const send = async () => {
      const response = await fetch(url, {
        method: 'POST',
        headers: { 'Content-Type': 'application/x-protobuf' },
        body,
      });
      await response.arrayBuffer();
      return response.status;
    };
    try {
      const stalled = await stallUpload(url, body);
      // While the half-sent upload is recent, the budget is honestly full…
      await expect.poll(send, { timeout: 5000, interval: 10 }).toBe(503);
      // …once it has sent nothing for a second, it gives its room up to a request that is sending.
      clock += 1000;
      expect(await send()).toBe(200);
      expect(await stalled.closed).toMatch(/^HTTP\/1\.1 408 /);
      const [row] = await store.query('SELECT count(*)::INTEGER AS n FROM points_number');
      expect(row!.n).toBe(80);
    } finally {
      await receiver.shutdown();
    }
  });

  it('answers 408 and closes the connection when a body does not arrive within bodyTimeoutMillis', async () => {
    const receiver = new OtlpReceiver({ store, port: 0, bodyTimeoutMillis: 200 });
    const url = new URL(await receiver.start());
    try {
      const stalled = await stallUpload(
        url,
        gaugeRequestBytes([{ asDouble: 1 }, { asDouble: 2 }, { asDouble: 3 }]),
      );
      const answer = await stalled.closed;
      expect(answer).toMatch(/^HTTP\/1\.1 408 /);
      expect(answer).toContain('did not arrive within 200 ms');
      const [row] = await store.query('SELECT count(*)::INTEGER AS n FROM points_number');
      expect(row!.n).toBe(0);
    } finally {
      await receiver.shutdown();
    }
  });
});

/** A protobuf request with one gauge point per value, at NANOS. */
function gaugeRequestBytes(values: { asDouble: number }[]): Uint8Array {
  return encodeRequest({
    resourceMetrics: [
      {
        resource: { attributes: [{ key: 'service.name', value: { stringValue: 'raw' } }] },
        scopeMetrics: [
          {
            scope: { name: 'raw' },
            metrics: [
              {
                name: 'level',
                gauge: {
                  dataPoints: values.map((value, i) => ({
                    ...value,
                    timeUnixNano: NANOS,
                    attributes: [{ key: 'i', value: { intValue: i } }],
                  })),
                },
              },
            ],
          },
        ],
      },
    ],
  });
}

function encodeRequest(request: object): Uint8Array {
  return ExportMetricsServiceRequest.encode(ExportMetricsServiceRequest.fromObject(request)).finish();
}
