/**
 * Worker-thread entry of WorkerThreadOtlpExporter: the standard OTLP/HTTP metric exporter, built
 * from the options in workerData, exports each collection it is sent and answers with the result.
 */

import { parentPort, workerData } from 'node:worker_threads';
import { type ExportResult, ExportResultCode, internal } from '@opentelemetry/core';
import {
  OTLPMetricExporter,
  type OTLPMetricExporterOptions,
} from '@opentelemetry/exporter-metrics-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import type { OtlpWorkerRequest, OtlpWorkerResponse } from './WorkerThreadOtlpExporter.js';

const port = parentPort;
if (port === null) throw new Error('otlpExportWorker runs as a worker thread');
const exporter = new OTLPMetricExporter(workerData as OTLPMetricExporterOptions);

function respond(id: number, result: ExportResult): void {
  const { error } = result;
  if (error === undefined) {
    port!.postMessage({ id, code: result.code } satisfies OtlpWorkerResponse);
    return;
  }
  // An Error does not cross threads with its class; its fields do (OTLPExporterError's status too).
  const { code, data } = error as { code?: unknown; data?: unknown };
  const response: OtlpWorkerResponse = {
    id,
    code: result.code,
    error: {
      name: error.name,
      message: error.message,
      ...(typeof code === 'number' ? { code } : {}),
      ...(typeof data === 'string' ? { data } : {}),
    },
  };
  port!.postMessage(response);
}

function fail(id: number, error: unknown): void {
  respond(id, {
    code: ExportResultCode.FAILED,
    error: error instanceof Error ? error : new Error(String(error)),
  });
}

port.on('message', (request: OtlpWorkerRequest) => {
  const { id } = request;
  if (request.kind === 'export') {
    const resource = resourceFromAttributes(request.resource.attributes, {
      ...(request.resource.schemaUrl === undefined ? {} : { schemaUrl: request.resource.schemaUrl }),
    });
    // As the SDK's readers export: with tracing suppressed, so that an HTTP instrumentation loaded
    // in this thread would not trace the export's own request.
    internal._export(exporter, { resource, scopeMetrics: request.scopeMetrics }).then(
      (result) => respond(id, result),
      (error: unknown) => fail(id, error),
    );
    return;
  }
  const done = request.kind === 'forceFlush' ? exporter.forceFlush() : exporter.shutdown();
  done.then(
    () => respond(id, { code: ExportResultCode.SUCCESS }),
    (error: unknown) => fail(id, error),
  );
});
