// A bundle's V8 code cache, as both CommonJS entries use it (supervisor/main.cts for the CLI's
// bundle, supervisor/view-worker.cts for the views' workers). native/compile-ts.sh bundles this
// module into each entry, so it is no file of its own at run time.
//
// The cache is V8's serialized bytecode (vm.Script cachedData). V8 accepts it only for the same V8
// version, the same flags and a source of the same length (src/snapshot/code-serializer.cc
// SerializedCodeData::SanityCheck), and otherwise compiles as usual and sets cachedDataRejected.
// The length check does not notice a rebuilt bundle of the same length, so the cache file starts
// with the bundle's first line, a build id (`// sandbox-build <random hex>`), then the kind of run
// that wrote it, and is used only with the bundle of that build.
import { readFileSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import type { Script } from 'node:vm';

const BUILD_PREFIX = '// sandbox-build ';

/** A bundle's source, its build line and its cache file (`<bundle>.cache`). */
export interface CachedBundle {
  source: string;
  buildLine: string;
  cacheFile: string;
}

/** Read a bundle's source. */
export function readBundle(bundle: string): CachedBundle {
  const source = readFileSync(bundle, 'utf8');
  return { source, buildLine: source.slice(0, source.indexOf('\n') + 1), cacheFile: `${bundle}.cache` };
}

/** This build's cache and the kind of run that wrote it, or null (none, or another build's). */
export function readCodeCache({ buildLine, cacheFile }: CachedBundle): { data: Buffer; kind: string } | null {
  let file: Buffer;
  try {
    file = readFileSync(cacheFile);
  } catch {
    return null; // not built (a plain tsc build), not copied, or not written yet: compile as usual
  }
  const header = Buffer.from(buildLine);
  if (!buildLine.startsWith(BUILD_PREFIX) || !file.subarray(0, header.length).equals(header)) return null;
  const end = file.indexOf(0x0a, header.length);
  return end < 0 ? null : { data: file.subarray(end + 1), kind: file.toString('latin1', header.length, end) };
}

/**
 * Replace the cache by the functions `script` has compiled so far, under `kind` (rename(2): readers
 * see the old file or the new). `writer` names the temporary file (a pid, a thread). A failed
 * write (a read-only install) is skipped.
 */
export function writeCodeCache(
  { buildLine, cacheFile }: CachedBundle,
  script: Script,
  kind: string,
  writer: string,
): void {
  const tmp = `${cacheFile}.${writer}.tmp`;
  try {
    writeFileSync(tmp, Buffer.concat([Buffer.from(`${buildLine}${kind}\n`), script.createCachedData()]));
    renameSync(tmp, cacheFile);
  } catch {
    try {
      unlinkSync(tmp);
    } catch {
      // nothing written
    }
  }
}
