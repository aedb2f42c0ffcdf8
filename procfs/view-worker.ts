// The entry of a view server's worker thread (bundled for the CLI as
// dist/supervisor/view-worker.bundle.cjs, run by supervisor/view-worker.cts with V8's code cache).
import { workerData } from 'node:worker_threads';
import { runWorker, type WorkerInput } from './fuse/run-worker.js';
import type { FuseHandler } from './fuse/handler.js';
import { createViewHandler, type ViewHandlerData } from './view-handler.js';

/**
 * Reads a worker answers before it writes the code cache its entry asked for: by then it has
 * rendered the views a workload reads (top: stat, meminfo, uptime, loadavg), so their renderers are
 * compiled and go into the cache.
 */
const CACHE_AFTER_READS = 64;

/** The entry's request to write the code cache (supervisor/view-worker.cts); absent when it has a good one, or runs no bundle. */
const codeCache = (globalThis as { __sandboxWorkerCodeCache?: { write(): void } }).__sandboxWorkerCodeCache;

/** The handler, writing the code cache once after CACHE_AFTER_READS reads when its entry asked for it. */
function withCodeCache(handler: FuseHandler): FuseHandler {
  if (!codeCache) return handler;
  let reads = 0;
  const read = handler.read.bind(handler);
  handler.read = (...args) => {
    const n = read(...args);
    if (++reads === CACHE_AFTER_READS) codeCache.write();
    return n;
  };
  return handler;
}

const input = workerData as WorkerInput;
runWorker(input, withCodeCache(createViewHandler(input.handlerData as ViewHandlerData)));
