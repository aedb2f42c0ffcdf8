// A private copy of the built CLI (dist/supervisor/main.cjs, the bundle and its V8 code cache), for
// tests that change or remove the cache without touching the build other tests run. The copy keeps
// the repository's layout, so the bundle finds what the real one finds: the stage at
// ../native/sandbox-stage and fuse-native's addon at ../../node_modules/… (symlinks to the real ones).
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { needsSetup, type Missing } from './skip.js';

/** dist/supervisor of the build. */
export const BUILT_CLI_DIR = fileURLToPath(new URL('../../dist/supervisor', import.meta.url));
/** The files of the built CLI: the entry, the bundle it runs, the bundle's code cache, and the views' worker entry and bundle. */
export const CLI_FILES = [
  'main.cjs',
  'sandbox.bundle.cjs',
  'sandbox.bundle.cjs.cache',
  'view-worker.cjs',
  'view-worker.bundle.cjs',
] as const;

/** One copy: its entry, its cache file, and remove() to delete it. */
export interface CliCopy {
  entry: string;
  cache: string;
  bundle: string;
  remove(): void;
}

/** What a copy needs that is missing (the build), or null. */
export function cliCopyUnavailable(): Missing | null {
  const missing = CLI_FILES.filter((f) => !existsSync(join(BUILT_CLI_DIR, f)));
  return missing.length === 0
    ? null
    : needsSetup(`needs the build (${missing.join(', ')} in ${BUILT_CLI_DIR}); run npm run build`);
}

/** Copy the built CLI into a fresh directory (root/dist/supervisor, with root/dist/native and root/node_modules linked). */
export function copyCli(): CliCopy {
  const root = mkdtempSync(join(tmpdir(), 'cli-copy-'));
  const dir = join(root, 'dist/supervisor');
  mkdirSync(dir, { recursive: true });
  symlinkSync(join(BUILT_CLI_DIR, '../native'), join(root, 'dist/native'));
  symlinkSync(join(BUILT_CLI_DIR, '../../node_modules'), join(root, 'node_modules'));
  for (const f of CLI_FILES) copyFileSync(join(BUILT_CLI_DIR, f), join(dir, f));
  return {
    entry: join(dir, 'main.cjs'),
    cache: join(dir, 'sandbox.bundle.cjs.cache'),
    bundle: join(dir, 'sandbox.bundle.cjs'),
    remove: () => rmSync(root, { recursive: true, force: true }),
  };
}

/** The kind line of a cache file ("help", "run"), after its build line. */
export function cacheKind(cache: string): string {
  return readFileSync(cache, 'latin1').split('\n')[1] ?? '';
}
