import type { Worker, WorkerOptions } from 'node:worker_threads';
import { startModuleWorker } from './startModuleWorker.js';

export interface WorkerSupervision<Response> {
  onMessage(response: Response): void;
  /** The worker could not start, raised an error, or exited while still wanted. */
  onFailure(error: unknown): void;
  /** False once the owner has let the worker go: its exit is then not a failure. */
  stillWanted(): boolean;
}

/**
 * startModuleWorker, with the worker's messages and failures wired to its owner, and `unref()`ed:
 * an idle worker must not keep the process alive (owners `ref()` it while a request is out).
 * Undefined, after onFailure, when it cannot start.
 */
export function startSupervisedWorker<Response>(
  callerUrl: string,
  name: string,
  supervision: WorkerSupervision<Response>,
  options: WorkerOptions = {},
): Worker | undefined {
  let worker: Worker;
  try {
    worker = startModuleWorker(callerUrl, name, options);
  } catch (error) {
    supervision.onFailure(error);
    return undefined;
  }
  worker.on('message', (response: Response) => supervision.onMessage(response));
  worker.on('error', (error) => supervision.onFailure(error));
  worker.on('exit', (code) => {
    if (supervision.stillWanted()) supervision.onFailure(new Error(`the worker exited with code ${code}`));
  });
  worker.unref();
  return worker;
}
