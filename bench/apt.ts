// Peers come from Debian packages (../shared/BENCH.md step 4): install only what is missing, say so.
import { spawnSync } from 'node:child_process';

/** Whether `binary` is on PATH. */
export function onPath(binary: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${binary}`], { stdio: 'ignore' }).status === 0;
}

/**
 * Make `binary` available by installing Debian package `pkg` when it is missing (apt-get update
 * once if the lists are empty: a fresh machine has none). Returns null when it is there, or why not.
 */
export function ensureBinary(binary: string, pkg: string): string | null {
  if (onPath(binary)) return null;
  if (!onPath('apt-get')) return `${binary} not installed and no apt-get to install ${pkg}`;
  process.stderr.write(`bench: ${binary} missing: apt-get install ${pkg}\n`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const install = () =>
    spawnSync('apt-get', ['install', '-y', '--no-install-recommends', pkg], {
      env,
      stdio: ['ignore', 'ignore', 'pipe'],
    });
  let r = install();
  if (r.status !== 0) {
    spawnSync('apt-get', ['update'], { env, stdio: 'ignore' });
    r = install();
  }
  if (r.status !== 0) return `apt-get install ${pkg} failed: ${String(r.stderr).trim().split('\n').pop()}`;
  return onPath(binary) ? null : `${pkg} installed but ${binary} is not on PATH`;
}
