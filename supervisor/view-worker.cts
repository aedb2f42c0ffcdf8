// The entry of a view server's worker thread in the CLI (dist/supervisor/view-worker.cjs): runs the
// workers' bundle (dist/supervisor/view-worker.bundle.cjs, procfs/view-worker.ts) with V8's code
// cache, as main.cts runs the CLI's: without one, a worker compiles each view's renderer lazily on
// its first render of it (docs/bench/2026-12-07-first-read.md). The same rules as main.cts: the
// cache starts with the bundle's build line and is used only with that build; V8 rejects one made
// by another V8 or with other flags (cachedDataRejected) and compiles as usual.
//
// Who writes it: a worker's functions are compiled while it serves, and a worker never gets to an
// exit handler (the server terminates it). So the bundle writes it itself, from the thread that
// serves, once it has answered enough requests to have rendered the views read
// (procfs/view-worker.ts): the first worker of a build that gets there, and again only when V8
// rejected the cache. A failed write (a read-only install) is skipped.
import { readFileSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Script } from 'node:vm';
import { threadId } from 'node:worker_threads';

const bundle = join(__dirname, 'view-worker.bundle.cjs');
const cacheFile = `${bundle}.cache`;
const source = readFileSync(bundle, 'utf8');
const buildLine = source.slice(0, source.indexOf('\n') + 1);
const BUILD_PREFIX = '// sandbox-build ';
/** The one kind of this cache: written by a worker that served. */
const KIND = 'serve';

/** This build's cache, or null. */
function readCache(): Buffer | null {
  let file: Buffer;
  try {
    file = readFileSync(cacheFile);
  } catch {
    return null; // none written yet
  }
  const header = Buffer.from(`${buildLine}${KIND}\n`);
  return buildLine.startsWith(BUILD_PREFIX) && file.subarray(0, header.length).equals(header)
    ? file.subarray(header.length)
    : null;
}

const cached = readCache();
const script = new Script(`(function (exports, require, module, __filename, __dirname) {${source}\n})`, {
  filename: bundle,
  cachedData: cached ?? undefined,
});

/** What the bundle calls once it has served enough (procfs/view-worker.ts); absent when the cache is good. */
interface WorkerCodeCache {
  write(): void;
}
if (cached === null || script.cachedDataRejected) {
  (globalThis as { __sandboxWorkerCodeCache?: WorkerCodeCache }).__sandboxWorkerCodeCache = {
    write() {
      const tmp = `${cacheFile}.${process.pid}.${threadId}.tmp`;
      try {
        writeFileSync(tmp, Buffer.concat([Buffer.from(`${buildLine}${KIND}\n`), script.createCachedData()]));
        renameSync(tmp, cacheFile);
      } catch {
        try {
          unlinkSync(tmp);
        } catch {
          // nothing written
        }
      }
    },
  };
}
const bundleModule = { exports: {} };
const run = script.runInThisContext() as (...args: unknown[]) => void;
run(bundleModule.exports, require, bundleModule, bundle, __dirname);
