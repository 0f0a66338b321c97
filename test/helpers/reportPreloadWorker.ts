/** Worker fixture for startModuleWorker's test: reports whether a host preload ran in this thread. */
import { parentPort } from 'node:worker_threads';

parentPort?.postMessage({
  preloaded: (globalThis as { perfwatchTestPreloaded?: boolean }).perfwatchTestPreloaded === true,
  nodeOptions: process.env.NODE_OPTIONS,
  otelServiceName: process.env.OTEL_SERVICE_NAME,
});
