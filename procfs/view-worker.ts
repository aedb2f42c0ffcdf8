// The entry of a view server's worker thread (bundled for the CLI as dist/supervisor/view-worker.cjs).
import { workerData } from 'node:worker_threads';
import { runWorker, type WorkerInput } from './fuse/run-worker.js';
import { createViewHandler, type ViewHandlerData } from './view-handler.js';

const input = workerData as WorkerInput;
runWorker(input, createViewHandler(input.handlerData as ViewHandlerData));
