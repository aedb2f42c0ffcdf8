// The entry of a view server's worker thread in the CLI (dist/supervisor/view-worker.cjs): runs the
// workers' bundle (dist/supervisor/view-worker.bundle.cjs, procfs/view-worker.ts) with V8's code
// cache, as main.cts runs the CLI's: without one, a worker compiles each view's renderer lazily on
// its first render of it (docs/bench/2026-12-07-first-read.md). The same rules as main.cts
// (supervisor/code-cache.cts): used only with its build; one V8 rejects is compiled around.
//
// Who writes it: a worker's functions are compiled while it serves, and a worker never gets to an
// exit handler (the server terminates it). So the bundle writes it itself, from the thread that
// serves, once it has answered enough requests to have rendered the views read
// (procfs/view-worker.ts): the first worker of a build that gets there, and again only when V8
// rejected the cache. A failed write (a read-only install) is skipped.
import { join } from 'node:path';
import { Script } from 'node:vm';
import { threadId } from 'node:worker_threads';
import { readBundle, readCodeCache, writeCodeCache } from './code-cache.cjs';

const bundle = join(__dirname, 'view-worker.bundle.cjs');
const bundled = readBundle(bundle);
/** The one kind of this cache: written by a worker that served. */
const KIND = 'serve';
const cache = readCodeCache(bundled);
const cached = cache?.kind === KIND ? cache.data : null;
const script = new Script(`(function (exports, require, module, __filename, __dirname) {${bundled.source}\n})`, {
  filename: bundle,
  cachedData: cached ?? undefined,
});

/** What the bundle calls once it has served enough (procfs/view-worker.ts); absent when the cache is good. */
interface WorkerCodeCache {
  write(): void;
}
if (cached === null || script.cachedDataRejected) {
  (globalThis as { __sandboxWorkerCodeCache?: WorkerCodeCache }).__sandboxWorkerCodeCache = {
    write: () => writeCodeCache(bundled, script, KIND, `${process.pid}.${threadId}`),
  };
}
const bundleModule = { exports: {} };
const run = script.runInThisContext() as (...args: unknown[]) => void;
run(bundleModule.exports, require, bundleModule, bundle, __dirname);
