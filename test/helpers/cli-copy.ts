// A private copy of the built CLI (dist/supervisor/main.cjs, the bundle and its V8 code cache), for
// tests that change or remove the cache without touching the build other tests run. It lives under
// dist/ so that the bundle finds what the real one finds: node_modules (fuse-native) up the tree and
// the stage at ../native/sandbox-stage (a symlink to dist/native).
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** dist/supervisor of the build. */
export const BUILT_CLI_DIR = fileURLToPath(new URL('../../dist/supervisor', import.meta.url));
/** The files of the built CLI: the entry, the bundle it runs and the bundle's code cache. */
export const CLI_FILES = ['main.cjs', 'sandbox.bundle.cjs', 'sandbox.bundle.cjs.cache'] as const;

/** One copy: its entry, its cache file, and remove() to delete it. */
export interface CliCopy {
  entry: string;
  cache: string;
  bundle: string;
  remove(): void;
}

/** Why a copy can't be made (the build is missing), or null. */
export function cliCopyUnavailable(): string | null {
  const missing = CLI_FILES.filter((f) => !existsSync(join(BUILT_CLI_DIR, f)));
  return missing.length === 0 ? null : `needs the build (${missing.join(', ')} in ${BUILT_CLI_DIR}); run npm run build`;
}

/** Copy the built CLI into a fresh directory under dist/. */
export function copyCli(): CliCopy {
  const root = mkdtempSync(join(BUILT_CLI_DIR, '..', '.cli-copy-'));
  mkdirSync(join(root, 'supervisor'));
  symlinkSync('../native', join(root, 'native'));
  for (const f of CLI_FILES) copyFileSync(join(BUILT_CLI_DIR, f), join(root, 'supervisor', f));
  const dir = join(root, 'supervisor');
  return { entry: join(dir, 'main.cjs'), cache: join(dir, 'sandbox.bundle.cjs.cache'), bundle: join(dir, 'sandbox.bundle.cjs'), remove: () => rmSync(root, { recursive: true, force: true }) };
}

/** The kind line of a cache file ("help", "run"), after its build line. */
export function cacheKind(cache: string): string {
  return readFileSync(cache, 'latin1').split('\n')[1] ?? '';
}
