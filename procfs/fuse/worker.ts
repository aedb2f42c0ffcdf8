// The generic entry of one FUSE worker thread: import the filesystem's handler module named in
// workerData, build its handler, and serve (run-worker.ts). Everything a handler needs comes in
// workerData (plain data and SharedArrayBuffers) or is opened here: no request crosses threads.
import { workerData, parentPort } from 'node:worker_threads';
import type { HandlerModule } from './handler.js';
import { runWorker, type WorkerInput } from './run-worker.js';

if (parentPort && (workerData as WorkerInput | undefined)?.handlerModule) {
  const input = workerData as WorkerInput;
  const mod = (await import(input.handlerModule)) as HandlerModule;
  runWorker(input, await mod.createHandler(input.handlerData, { index: input.index }));
}
