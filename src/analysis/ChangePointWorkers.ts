import type { Worker } from 'node:worker_threads';
import type { Logger } from '../logging/Logger.js';
import { startSupervisedWorker } from '../scheduling/startSupervisedWorker.js';
import { type ChangePoint, type ChangePointOptions, detectChangePoints } from './detectChangePoints.js';

export interface DetectRequest {
  readonly id: number;
  readonly values: Float64Array;
  readonly options: ChangePointOptions;
}

export type DetectResponse =
  | { readonly id: number; readonly points: ChangePoint[] }
  | { readonly id: number; readonly error: string };

interface Pending {
  readonly values: readonly (number | null)[] | Float64Array;
  readonly options: ChangePointOptions;
  readonly resolve: (points: ChangePoint[]) => void;
  readonly reject: (error: unknown) => void;
}

/**
 * Change-point detection in a worker thread, so a regression cycle's CPU-heavy part runs beside
 * its DuckDB reads instead of after them, and off the event loop of the service perfwatch runs in
 * (10,000 series of a day at 30 s are ~5 s of detection). One worker per cycle: started when the
 * cycle starts, ended when it ends. If the worker cannot start or dies, the series it had not
 * answered and all later ones are detected on this thread: a cycle never fails for want of a
 * worker, and gives the same answers.
 */
export class ChangePointWorkers {
  private worker: Worker | undefined;
  private readonly pending = new Map<number, Pending>();
  private nextId = 0;
  private failed = false;

  constructor(private readonly logger: Logger) {
    this.worker = startSupervisedWorker(import.meta.url, 'changePointWorker', {
      onMessage: (response: DetectResponse) => this.answer(response),
      onFailure: (error) => this.fallBack(error),
      stillWanted: () => this.worker !== undefined,
    });
  }

  /** Whether detections go to the worker thread (false once it could not start or has died). */
  get threaded(): boolean {
    return this.worker !== undefined && !this.failed;
  }

  /** Requests not yet answered. */
  get inFlight(): number {
    return this.pending.size;
  }

  /** detectChangePoints(values, options), in the worker (values are copied, not moved). */
  detect(
    values: readonly (number | null)[] | Float64Array,
    options: ChangePointOptions,
  ): Promise<ChangePoint[]> {
    // Input detectChangePoints would refuse is refused here, with its error.
    if (this.worker === undefined || this.failed || !isNumeric(values)) {
      return new Promise((resolve) => resolve(detectChangePoints(values, options)));
    }
    const copy =
      values instanceof Float64Array
        ? values.slice()
        : Float64Array.from(values, (value) => value ?? Number.NaN);
    const id = this.nextId++;
    if (this.pending.size === 0) this.worker.ref();
    return new Promise((resolve, reject) => {
      this.pending.set(id, { values, options, resolve, reject });
      const request: DetectRequest = { id, values: copy, options };
      this.worker!.postMessage(request, [copy.buffer]);
    });
  }

  /** Ends the worker; requests still waiting are detected on this thread. */
  async close(): Promise<void> {
    const worker = this.worker;
    this.worker = undefined;
    this.failed = true;
    if (worker !== undefined) await worker.terminate();
    this.detectPendingHere();
  }

  private answer(response: DetectResponse): void {
    const pending = this.pending.get(response.id);
    if (pending === undefined) return;
    this.pending.delete(response.id);
    if (this.pending.size === 0) this.worker?.unref();
    if ('error' in response) {
      // Detecting here raises the error as its own class (AnalysisInputError), not a copied message.
      if (settleHere(pending)) {
        this.logger.warn({ message: response.error }, 'change-point worker failed where this thread did not');
      }
    } else pending.resolve(response.points);
  }

  private fallBack(error: unknown): void {
    if (this.failed) return;
    this.failed = true;
    this.logger.warn({ err: error }, 'change-point worker unavailable; detecting on the main thread');
    void this.worker?.terminate().catch(() => undefined);
    this.worker = undefined;
    this.detectPendingHere();
  }

  /** What was sent to a worker that is gone is detected here, in the order it was asked. */
  private detectPendingHere(): void {
    for (const [id, pending] of this.pending) {
      this.pending.delete(id);
      settleHere(pending);
    }
  }
}

/** Detects a request on this thread and settles it; whether detection succeeded. */
function settleHere(pending: Pending): boolean {
  try {
    pending.resolve(detectChangePoints(pending.values, pending.options));
    return true;
  } catch (error) {
    pending.reject(error);
    return false;
  }
}

function isNumeric(values: unknown): values is readonly (number | null)[] | Float64Array {
  if (values instanceof Float64Array) return true;
  return Array.isArray(values) && values.every((value) => value === null || typeof value === 'number');
}
