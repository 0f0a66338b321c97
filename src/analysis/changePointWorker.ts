/**
 * Worker-thread entry of ChangePointWorkers: detects the change points of each series it is sent
 * and answers with them (or with the error's message), in the order asked.
 */
import { parentPort } from 'node:worker_threads';
import type { DetectRequest, DetectResponse } from './ChangePointWorkers.js';
import { detectChangePoints } from './detectChangePoints.js';

const port = parentPort;
if (port === null) throw new Error('changePointWorker runs as a worker thread');
port.on('message', ({ id, values, options }: DetectRequest) => {
  let response: DetectResponse;
  try {
    response = { id, points: detectChangePoints(values, options) };
  } catch (error) {
    response = { id, error: error instanceof Error ? error.message : String(error) };
  }
  port.postMessage(response);
});
