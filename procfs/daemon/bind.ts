// Binding views into a container's mount namespace through the native helper
// (native/viewbind/viewbind.c): Node can't setns(2) into a mount namespace (EINVAL in a
// multi-threaded process), so a small single-threaded program does it.
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { ServedView } from './protocol.js';

/** Where native/build.sh puts the helper: dist/native/sandbox-viewbind. */
const VIEWBIND_PATH = fileURLToPath(new URL('../native/sandbox-viewbind', import.meta.url));

/**
 * Bind each source over its target inside pid's mount namespace; resolves with the targets the
 * helper skipped (not present in the container). Rejects with the helper's one-line error.
 */
export function bindViews(pid: number, views: readonly ServedView[], helper = VIEWBIND_PATH): Promise<string[]> {
  const args = ['--pid', String(pid), ...views.map((v) => `${v.source}:${v.target}`)];
  return new Promise((resolve, reject) => {
    execFile(helper, args, { encoding: 'utf8', timeout: 10_000 }, (err, _stdout, stderr) => {
      const lines = stderr.split('\n').filter(Boolean);
      if (err) return reject(new Error(lines.at(-1) ?? `${helper}: ${err.message}`));
      resolve(
        lines.map((l) => /^sandbox-viewbind: skipped (\S+)/.exec(l)?.[1]).filter((t): t is string => t !== undefined),
      );
    });
  });
}
