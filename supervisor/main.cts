#!/usr/bin/env node
// The `sandbox` command's entry (dist/supervisor/main.cjs): runs the bundled CLI
// (dist/supervisor/sandbox.bundle.cjs, native/compile-ts.sh) with V8's code cache, so Node does not
// parse and compile the ~250 KB bundle on every start. CommonJS on purpose: an ES module entry starts
// Node's ESM loader, and `import` of a builtin builds a namespace of all its exports, running their
// lazy getters (crypto's webcrypto, util's parseArgs, …); require() leaves them lazy.
//
// The cache is V8's own serialized bytecode, used only with the bundle of the build that wrote it
// (supervisor/code-cache.cts says how): a cache V8 rejects is compiled around, so another Node runs
// the CLI just as well, only slower.
//
// Which functions the cache holds depends on the run that wrote it: V8 compiles a function lazily, on
// its first call, and createCachedData() serializes the functions compiled so far. The build writes
// one after `sandbox --help` (kind "help": the program and commander, not the run path); the first
// `sandbox run` of this build that gets as far as running its command rewrites it once (kind "run"),
// which takes the run path's compiling off every later run (docs/code-measurements.md). A run whose
// main thread answered a read of its own views (procfs/fs.ts marks it) holds the view-read path too
// and rewrites a "run" cache once more (kind "views"): without it, every sandbox's first view read
// compiled that path again (docs/bench/2026-12-07-first-read.md). Nothing else writes it, and a
// write that fails (a read-only install) is skipped.
import { access } from 'node:fs';
import { join } from 'node:path';
import { Script } from 'node:vm';
import { readBundle, readCodeCache, writeCodeCache } from './code-cache.cjs';

// libuv sizes its thread pool (4 by default) from UV_THREADPOOL_SIZE once, when the first request
// is queued (uv__work_submit -> init_threads). `sandbox run`'s views hold one pool thread in read(2)
// of /dev/fuse while the main thread serves them (procfs/fs.ts lazyWorkers): one more thread keeps
// four for the cgroup set-up's parallel mkdirs and the teardown's rmdirs (measured in
// docs/bench/2026-12-07-views-on-transport.md). The variable is removed again at once, so nothing
// started from here inherits it.
if (process.env.UV_THREADPOOL_SIZE === undefined) {
  process.env.UV_THREADPOOL_SIZE = '5';
  access(__filename, () => undefined);
  delete process.env.UV_THREADPOOL_SIZE;
}

const bundle = join(__dirname, 'sandbox.bundle.cjs');
const cached = readBundle(bundle);
const cache = readCodeCache(cached);
// The wrapper of Node's CommonJS loader (lib/internal/modules/cjs/loader.js wrapSafe), plus the
// loader's import() for code of the bundle that loads an ES module (supervisor/esm-import.ts). On
// one line with the bundle's first, so stack traces keep the bundle's line numbers.
const script = new Script(
  `(function (exports, require, module, __filename, __dirname, __sandboxImport) {${cached.source}\n})`,
  {
    filename: bundle,
    cachedData: cache?.data,
  },
);
// With SANDBOX_TIMINGS=1 (the bench's phase marks, supervisor/run/timings.ts) one line says what the
// cache did: `sandbox-code-cache none`, or its kind and `accepted`/`rejected`.
if (process.env.SANDBOX_TIMINGS === '1') {
  process.stderr.write(
    `sandbox-code-cache ${cache ? `${cache.kind} ${script.cachedDataRejected ? 'rejected' : 'accepted'}` : 'none'}\n`,
  );
}
/** The kinds a run writes, each holding more of what a run compiles than the one before. */
const RUN_KINDS = ['run', 'views'];
if (process.env.SANDBOX_BUILD_CODE_CACHE === '1') {
  process.once('exit', () => writeCodeCache(cached, script, 'help', String(process.pid)));
} else if (process.argv[2] === 'run' && (cache?.kind !== RUN_KINDS.at(-1) || script.cachedDataRejected)) {
  // Exit codes below 125 are the command's own: the sandbox ran (commands/exit-code.ts,
  // EXIT_SANDBOX_ERROR). A cache another Node rejected is replaced too, by one this Node accepts.
  process.once('exit', (code) => {
    const kind = (globalThis as { __sandboxViewReadServed?: boolean }).__sandboxViewReadServed ? 'views' : 'run';
    if (code < 125 && (script.cachedDataRejected || RUN_KINDS.indexOf(kind) > RUN_KINDS.indexOf(cache?.kind ?? '')))
      writeCodeCache(cached, script, kind, String(process.pid));
  });
}
const bundleModule = { exports: {} };
const run = script.runInThisContext() as (...args: unknown[]) => void;
run(bundleModule.exports, require, bundleModule, bundle, __dirname, (specifier: string) => import(specifier));
