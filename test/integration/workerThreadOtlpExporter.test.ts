import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { once } from 'node:events';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Worker } from 'node:worker_threads';
import { type ExportResult, ExportResultCode } from '@opentelemetry/core';
import { OTLPMetricExporter } from '@opentelemetry/exporter-metrics-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { MeterProvider, MetricReader, type ResourceMetrics } from '@opentelemetry/sdk-metrics';
import { afterEach, describe, expect, it } from 'vitest';
import { WorkerThreadOtlpExporter } from '../../src/telemetry/WorkerThreadOtlpExporter.js';
import { captureLogger } from '../helpers/captureLogger.js';

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

class CollectingReader extends MetricReader {
  protected override async onForceFlush(): Promise<void> {}
  protected override async onShutdown(): Promise<void> {}
}

/** One collection with a sum, a histogram and a gauge, under a resource with a schema URL. */
async function collection(): Promise<ResourceMetrics> {
  const reader = new CollectingReader();
  const provider = new MeterProvider({
    resource: resourceFromAttributes(
      { 'service.name': 'orders-api', 'deployment.environment.name': 'test' },
      { schemaUrl: 'https://opentelemetry.io/schemas/1.27.0' },
    ),
    readers: [reader],
  });
  cleanups.push(() => provider.shutdown());
  const meter = provider.getMeter('orders', '1.2.3');
  meter.createCounter('orders.created').add(5, { channel: 'web' });
  const latency = meter.createHistogram('orders.latency', { unit: 's' });
  for (const seconds of [0.004, 0.03, 0.2, 1.5]) latency.record(seconds, { route: '/orders' });
  meter.createGauge('queue.depth').record(17, { queue: 'a' });
  const { resourceMetrics, errors } = await reader.collect();
  expect(errors).toEqual([]);
  return resourceMetrics;
}

/** A loopback OTLP endpoint that keeps each body; `hold` keeps responses until released. */
async function receiver(status = 200, hold = false) {
  const bodies: string[] = [];
  const held: ServerResponse[] = [];
  const server = createServer((request: IncomingMessage, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      bodies.push(Buffer.concat(chunks).toString('utf8'));
      if (hold) held.push(response);
      else response.writeHead(status, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(() => {
    server.closeAllConnections();
    return new Promise((resolve) => server.close(resolve));
  });
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/metrics`;
  const release = () => {
    for (const response of held.splice(0)) response.writeHead(200).end('{}');
  };
  return { url, bodies, release };
}

function exportThrough(
  exporter: { export(metrics: ResourceMetrics, done: (result: ExportResult) => void): void },
  metrics: ResourceMetrics,
): Promise<ExportResult> {
  return new Promise((resolve) => exporter.export(metrics, resolve));
}

/** Counts the HTTP client requests this thread starts (diagnostics channels are per thread). */
function countClientRequests(): { readonly count: number } {
  const counter = { count: 0 };
  const onStart = () => counter.count++;
  subscribe('http.client.request.start', onStart);
  cleanups.push(async () => unsubscribe('http.client.request.start', onStart));
  return counter;
}

function workerExporter(url: string, logger = captureLogger()): WorkerThreadOtlpExporter {
  const exporter = new WorkerThreadOtlpExporter({ url, timeoutMillis: 5_000 }, logger);
  cleanups.push(() => exporter.shutdown());
  return exporter;
}

describe('WorkerThreadOtlpExporter', () => {
  it('sends what the standard exporter sends from this thread, field for field, without an HTTP request here', async () => {
    const metrics = await collection();
    const fromWorker = await receiver();
    const fromHere = await receiver();
    const clientRequests = countClientRequests();

    const exporter = workerExporter(fromWorker.url);
    expect(await exportThrough(exporter, metrics)).toEqual({ code: ExportResultCode.SUCCESS });
    expect(exporter.threaded).toBe(true);
    expect(clientRequests.count).toBe(0);

    const standard = new OTLPMetricExporter({ url: fromHere.url });
    cleanups.push(() => standard.shutdown());
    expect((await exportThrough(standard, metrics)).code).toBe(ExportResultCode.SUCCESS);
    expect(clientRequests.count).toBe(1); // the probe sees this thread's requests

    expect(fromWorker.bodies).toHaveLength(1);
    const sent = JSON.parse(fromWorker.bodies[0]!);
    expect(sent).toEqual(JSON.parse(fromHere.bodies[0]!));
    const [resourceMetrics] = sent.resourceMetrics;
    expect(resourceMetrics.schemaUrl).toBe('https://opentelemetry.io/schemas/1.27.0');
    expect(resourceMetrics.resource.attributes).toContainEqual({
      key: 'service.name',
      value: { stringValue: 'orders-api' },
    });
    const [scope] = resourceMetrics.scopeMetrics;
    expect(scope.scope).toEqual({ name: 'orders', version: '1.2.3' });
    const latency = scope.metrics.find((metric: { name: string }) => metric.name === 'orders.latency');
    const [point] = latency.histogram.dataPoints;
    expect(Number(point.count)).toBe(4);
    expect(point.sum).toBeCloseTo(1.734, 9);
  });

  it('passes on a rejected export as a failure with the exporter error', async () => {
    const rejecting = await receiver(400);
    const clientRequests = countClientRequests();
    const exporter = workerExporter(rejecting.url);
    const result = await exportThrough(exporter, await collection());
    expect(exporter.threaded).toBe(true);
    expect(clientRequests.count).toBe(0);
    expect(result.code).toBe(ExportResultCode.FAILED);
    expect(result.error).toBeInstanceOf(Error);
    expect(result.error).toMatchObject({ name: 'OTLPExporterError', message: 'Bad Request', code: 400 });
  });

  it('forceFlush waits for the export in flight', async () => {
    const slow = await receiver(200, true);
    const exporter = workerExporter(slow.url);
    let exported: ExportResult | undefined;
    exporter.export(await collection(), (result) => {
      exported = result;
    });
    const flushed = exporter.forceFlush();
    while (slow.bodies.length === 0) await new Promise((resolve) => setImmediate(resolve));
    expect(exported).toBeUndefined();
    slow.release();
    await flushed;
    expect(exported).toEqual({ code: ExportResultCode.SUCCESS });
    expect(exporter.threaded).toBe(true);
  });

  it('exports on this thread what a worker that died had not answered, and everything after', async () => {
    const metrics = await collection();
    const endpoint = await receiver(200, true);
    const logger = captureLogger();
    const exporter = workerExporter(endpoint.url, logger);
    const asked = exportThrough(exporter, metrics);
    while (endpoint.bodies.length === 0) await new Promise((resolve) => setImmediate(resolve));
    // The worker thread ends under the export (as an out-of-memory kill would end it).
    await (exporter as unknown as { worker: { terminate(): Promise<number> } }).worker.terminate();
    const clientRequests = countClientRequests();
    while (endpoint.bodies.length < 2) {
      endpoint.release();
      await new Promise((resolve) => setImmediate(resolve));
    }
    endpoint.release();
    expect(await asked).toEqual({ code: ExportResultCode.SUCCESS });
    expect(exporter.threaded).toBe(false);
    expect(clientRequests.count).toBe(1);
    expect(logger.entries.map((entry) => entry.message)).toContain(
      'OTLP export worker unavailable; exporting on the main thread',
    );

    const later = exportThrough(exporter, metrics);
    while (endpoint.bodies.length < 3) await new Promise((resolve) => setImmediate(resolve));
    endpoint.release();
    expect(await later).toEqual({ code: ExportResultCode.SUCCESS });
    expect(clientRequests.count).toBe(2);
    // At least once: the export the worker had sent is sent again from here.
    expect(JSON.parse(endpoint.bodies[1]!)).toEqual(JSON.parse(endpoint.bodies[0]!));
  });

  it('on shutdown, sends the export in flight first (the last collection on SIGTERM), then ends the worker', async () => {
    const endpoint = await receiver(200, true);
    const exporter = workerExporter(endpoint.url);
    const worker = (exporter as unknown as { worker: Worker }).worker;
    const exited = once(worker, 'exit');
    const last = exportThrough(exporter, await collection());
    const shutDown = exporter.shutdown();
    const flushedMeanwhile = exporter.forceFlush();
    while (endpoint.bodies.length === 0) await new Promise((resolve) => setImmediate(resolve));
    let settled = false;
    void shutDown.then(() => {
      settled = true;
    });
    for (let turn = 0; turn < 20; turn++) await new Promise((resolve) => setImmediate(resolve));
    expect(settled).toBe(false); // it waits for the Collector's answer
    endpoint.release();
    expect(await last).toEqual({ code: ExportResultCode.SUCCESS });
    await shutDown;
    await flushedMeanwhile;
    await exited;
    expect(exporter.threaded).toBe(false);
  });

  it('shuts down once; exports after it fail without sending', async () => {
    const endpoint = await receiver();
    const exporter = workerExporter(endpoint.url);
    await Promise.all([exporter.shutdown(), exporter.shutdown()]);
    expect(exporter.threaded).toBe(false);
    const result = await exportThrough(exporter, await collection());
    expect(result.code).toBe(ExportResultCode.FAILED);
    expect(endpoint.bodies).toHaveLength(0);
  });
});
