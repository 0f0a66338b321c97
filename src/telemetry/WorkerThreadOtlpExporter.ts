import type { Worker } from 'node:worker_threads';
import type { Attributes } from '@opentelemetry/api';
import { type ExportResult, ExportResultCode } from '@opentelemetry/core';
import {
  OTLPMetricExporter,
  type OTLPMetricExporterOptions,
} from '@opentelemetry/exporter-metrics-otlp-http';
import type {
  AggregationOption,
  AggregationTemporality,
  InstrumentType,
  PushMetricExporter,
  ResourceMetrics,
  ScopeMetrics,
} from '@opentelemetry/sdk-metrics';
import type { Logger } from '../logging/Logger.js';
import { startSupervisedWorker } from '../scheduling/startSupervisedWorker.js';

/** What the worker is asked: ResourceMetrics as plain data (a Resource's getters do not cross). */
export type OtlpWorkerRequest =
  | {
      readonly id: number;
      readonly kind: 'export';
      readonly resource: { readonly attributes: Attributes; readonly schemaUrl: string | undefined };
      readonly scopeMetrics: ScopeMetrics[];
    }
  | { readonly id: number; readonly kind: 'forceFlush' | 'shutdown' };

export interface OtlpWorkerResponse {
  readonly id: number;
  readonly code: ExportResultCode;
  /** The export error's name, message and, for an OTLPExporterError, its HTTP status and body. */
  readonly error?: {
    readonly name: string;
    readonly message: string;
    readonly code?: number;
    readonly data?: string;
  };
}

type Pending =
  | {
      readonly kind: 'export';
      readonly metrics: ResourceMetrics;
      readonly done: (result: ExportResult) => void;
    }
  | {
      readonly kind: 'forceFlush' | 'shutdown';
      readonly resolve: () => void;
      readonly reject: (error: Error) => void;
    };

/**
 * The standard OTLP/HTTP metric exporter, run in a worker thread.
 *
 * Why: after the first `node:http` request a thread makes, every request the service's server
 * answers on that thread costs more, for good: +6-7 % CPU per request on a 15 µs handler, from
 * one POST at start-up (README, Overhead). Most likely V8's inline caches in the HTTP code client
 * and server share (outgoing messages, the parser, sockets) turn polymorphic. In a worker, the
 * exporter's requests run in an isolate of their own; serialising to OTLP moves there too. The worker gets a structured copy of each
 * collection and answers with the export's result.
 *
 * If the worker cannot start or dies, what it had not answered and everything after is exported
 * on this thread by the same exporter class, for the rest of the process (with one warning):
 * export never stops for want of a worker. Delivery is at least once: a collection the worker
 * sent but had not confirmed when it died is sent again (with delta temporality, counted twice).
 */
export class WorkerThreadOtlpExporter implements PushMetricExporter {
  /** Answers the reader's temporality and aggregation questions; exports once there is no worker. */
  private readonly here: OTLPMetricExporter;
  private worker: Worker | undefined;
  private readonly pending = new Map<number, Pending>();
  private nextId = 0;
  private failed = false;
  private shutdownOnce: Promise<void> | undefined;

  constructor(
    options: OTLPMetricExporterOptions,
    private readonly logger: Logger,
  ) {
    this.here = new OTLPMetricExporter(options);
    this.worker = startSupervisedWorker(
      import.meta.url,
      'otlpExportWorker',
      {
        onMessage: (response: OtlpWorkerResponse) => this.answer(response),
        onFailure: (error) => this.fallBack(error),
        stillWanted: () => this.worker !== undefined,
      },
      { workerData: options },
    );
  }

  /** Whether exports go to the worker thread (false once it could not start or has died). */
  get threaded(): boolean {
    return this.worker !== undefined && !this.failed;
  }

  export(metrics: ResourceMetrics, resultCallback: (result: ExportResult) => void): void {
    if (this.shutdownOnce !== undefined) {
      // The specification: after Shutdown, Export is not allowed and returns Failure.
      resultCallback({ code: ExportResultCode.FAILED, error: new Error('the OTLP exporter is shut down') });
      return;
    }
    if (!this.threaded) {
      this.here.export(metrics, resultCallback);
      return;
    }
    const request: OtlpWorkerRequest = {
      id: this.nextId++,
      kind: 'export',
      resource: { attributes: metrics.resource.attributes, schemaUrl: metrics.resource.schemaUrl },
      scopeMetrics: metrics.scopeMetrics,
    };
    try {
      this.send(request, { kind: 'export', metrics, done: resultCallback });
    } catch (error) {
      // Only a value a thread cannot be sent (DataCloneError) gets here; this thread can export it.
      this.logger.warn({ err: error }, 'OTLP export worker cannot take this collection; exporting it here');
      this.here.export(metrics, resultCallback);
    }
  }

  forceFlush(): Promise<void> {
    // Shutdown flushes; a flush asked during it must not wait on a worker about to be ended.
    if (this.shutdownOnce !== undefined) return this.shutdownOnce;
    if (!this.threaded) return this.here.forceFlush();
    return new Promise((resolve, reject) =>
      this.send({ id: this.nextId++, kind: 'forceFlush' }, { kind: 'forceFlush', resolve, reject }),
    );
  }

  shutdown(): Promise<void> {
    this.shutdownOnce ??= this.shutDown();
    return this.shutdownOnce;
  }

  selectAggregationTemporality(instrumentType: InstrumentType): AggregationTemporality {
    return this.here.selectAggregationTemporality(instrumentType);
  }

  selectAggregation(instrumentType: InstrumentType): AggregationOption {
    return this.here.selectAggregation(instrumentType);
  }

  private async shutDown(): Promise<void> {
    try {
      if (this.threaded) {
        await new Promise<void>((resolve, reject) =>
          this.send({ id: this.nextId++, kind: 'shutdown' }, { kind: 'shutdown', resolve, reject }),
        );
      }
    } finally {
      const worker = this.worker;
      this.worker = undefined;
      this.failed = true;
      await worker?.terminate();
      // An answer still on its way when the worker ended (a flush that finished after the shutdown)
      // is settled here rather than left waiting.
      for (const [id, pending] of this.pending) {
        this.pending.delete(id);
        if (pending.kind === 'export') {
          pending.done({ code: ExportResultCode.FAILED, error: new Error('the OTLP exporter is shut down') });
        } else pending.resolve();
      }
      await this.here.shutdown();
    }
  }

  private send(request: OtlpWorkerRequest, pending: Pending): void {
    this.worker!.postMessage(request);
    if (this.pending.size === 0) this.worker!.ref();
    this.pending.set(request.id, pending);
  }

  private answer(response: OtlpWorkerResponse): void {
    const pending = this.pending.get(response.id);
    if (pending === undefined) return;
    this.pending.delete(response.id);
    if (this.pending.size === 0) this.worker?.unref();
    const error =
      response.error === undefined
        ? undefined
        : Object.assign(new Error(response.error.message), response.error);
    if (pending.kind === 'export') {
      pending.done(error === undefined ? { code: response.code } : { code: response.code, error });
    } else if (response.code === ExportResultCode.SUCCESS) pending.resolve();
    else pending.reject(error ?? new Error(`OTLP exporter ${pending.kind} failed`));
  }

  private fallBack(error: unknown): void {
    if (this.failed) return;
    this.failed = true;
    this.logger.warn({ err: error }, 'OTLP export worker unavailable; exporting on the main thread');
    void this.worker?.terminate().catch(() => undefined);
    this.worker = undefined;
    // What the worker had not answered is done here, in the order it was asked.
    for (const [id, pending] of this.pending) {
      this.pending.delete(id);
      if (pending.kind === 'export') this.here.export(pending.metrics, pending.done);
      else
        (pending.kind === 'forceFlush' ? this.here.forceFlush() : this.here.shutdown()).then(
          pending.resolve,
          pending.reject,
        );
    }
  }
}
