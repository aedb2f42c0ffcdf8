// `sandbox commit ID DIR`: the writable overlay layer of a running sandbox with a root of its own
// becomes a new read-only layer directory DIR, usable as `--layer DIR` under a new sandbox.
//
// - Where the layer is: PID 1 holds a read-only, detached clone of the overlay's upper directory on
//   fd UPPER_FD (native/stage/rootfs.c). The throwaway upper lives on a tmpfs inside the sandbox's
//   private mount namespace that no path reaches once the old root is detached, but
//   /proc/<pid 1>/fd/99 does (proc(5), /proc/pid/fd: the link resolves to the open directory
//   itself). PID 1 is non-dumpable, so reading that link takes CAP_SYS_PTRACE: the supervisor (host
//   root) has it, the workload does not (issue 19, finding 1).
// - Consistency: the sandbox's cgroup is frozen for the copy (v1 freezer.state FROZEN, v2
//   cgroup.freeze + "frozen 1" in cgroup.events), and thawed whether the copy works or fails.
// - The copy is native (native/commit: mknod for whiteouts, xattrs such as trusted.overlay.opaque;
//   Node can do neither), into a staging dir beside DIR that is renamed onto DIR when complete.
//   The tree is the workload's: the copier follows none of its symlinks (a planted `/mnt -> /host/dir`
//   once made the pruning below remove a host directory: issue 19, finding 8), and the copy, the
//   pruning and the rename all happen while the sandbox is frozen.
// - Ids: a layer is stored 0-based, like an image. The upper of a sandbox in a user namespace holds
//   the range's host ids (native/stage/rootfs.c map_layers): the copier shifts them back (--shift,
//   native/commit/shift.c). DIR is made 0700: a set-user-ID file made inside is root's again in
//   the layer, reachable by host root (the supervisor) only (SECURITY.md).
// - Not committed: the generated /etc files (INIT_FILES), the mount points the stage makes (/proc,
//   /sys, /dev, /tmp; rootfs.c step 3) and the volume and --tmpfs targets, nor anything beneath
//   them (their content lives on the mounts, never in the upper); directories created only as
//   parents of such mount points are dropped too when they are empty and no layer below has them.
import { spawn } from 'node:child_process';
import { chmod, lstat, readdir, realpath, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, posix, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { CgroupManager } from './cgroup/index.js';
import { SandboxError, describeSystemError, withContext } from './errors.js';
import { INIT_FILES } from './rootfs.js';
import type { RecordedFilesystem, SandboxState } from './state.js';
import type { UsernsRange } from './userns.js';

/** The native layer copier (built by native/build.sh). */
const COMMIT_PATH = fileURLToPath(new URL('../native/sandbox-commit', import.meta.url));
/** The descriptor on which PID 1 holds the upper dir (UPPER_FD in native/stage/stage.h). */
const UPPER_FD = 99;
/** How long the cgroup may take to report every task stopped. */
const FREEZE_TIMEOUT_MS = 5000;
/** Mount points the stage creates in every root of its own (native/stage/rootfs.c, step 3). */
const STAGE_MOUNT_POINTS = ['/proc', '/sys', '/dev', '/tmp'];

/** The layer-relative paths (no leading '/') that are not committed. */
export function commitExcludes(fs: RecordedFilesystem): string[] {
  const paths = [...STAGE_MOUNT_POINTS, ...INIT_FILES.map((f) => `/etc/${f}`), ...fs.mountTargets];
  return [
    ...new Set(paths.map((p) => posix.normalize(p).replace(/^\/+|\/+$/g, '')).filter((p) => p !== '' && p !== '.')),
  ];
}

/** True when path is dir or lies beneath it. */
function within(path: string, dir: string): boolean {
  return path === dir || path.startsWith(dir.endsWith('/') ? dir : `${dir}/`);
}

/** A path with its symlinks resolved as far as it exists. */
async function real(path: string): Promise<string> {
  try {
    return await realpath(path);
  } catch {
    return path;
  }
}

/** The sandbox's recorded root of its own, or why it has no writable layer to commit. */
export function writableLayerOf(state: SandboxState): RecordedFilesystem {
  const fs = state.filesystem;
  if (!fs)
    throw new SandboxError(
      `commit: sandbox ${state.id} has no writable layer: it runs on the host's root (start it with --rootfs or --layer)`,
    );
  if (fs.readOnly)
    throw new SandboxError(`commit: sandbox ${state.id} has no writable layer: it runs with --read-only`);
  return fs;
}

/**
 * Check DIR before anything is frozen or written: an absolute path usable as an overlay layer (no
 * ',', ':' or '\\'), whose parent exists, that is missing or an empty directory, and that is not on
 * the sandbox's own layers (inside a layer or the --keep dir). Returns the absolute path.
 */
export async function commitTarget(dir: string, fs: RecordedFilesystem): Promise<string> {
  const bad = (why: string): SandboxError => new SandboxError(`commit: DIR "${dir}": ${why}`);
  if (dir === '') throw bad('an empty path');
  const abs = resolve(dir);
  if (/[,:\\]/.test(abs)) throw bad("a path with ',', ':' or '\\' can't be an overlay layer");
  if (abs === '/') throw bad('is the host root');
  const parent = dirname(abs);
  if (
    !(await stat(parent).then(
      (s) => s.isDirectory(),
      () => false,
    ))
  )
    throw bad(`its parent ${parent} is not an existing directory`);
  const target = await lstat(abs).catch(() => null);
  if (target !== null) {
    if (!target.isDirectory()) throw bad('exists and is not a directory');
    if ((await readdir(abs)).length > 0) throw bad('exists and is not empty');
  }
  const where = posix.join(await real(parent), basename(abs));
  for (const own of [...fs.layers, ...(fs.keep === null ? [] : [fs.keep])]) {
    const ownReal = await real(own);
    if (within(where, ownReal) || within(ownReal, where)) throw bad(`is on the sandbox's own layers (${own})`);
  }
  return abs;
}

/** Freeze the cgroup, run the copy, thaw it again whatever the copy did. */
export async function whileFrozen<T>(
  cgroup: Pick<CgroupManager, 'freeze' | 'thaw'>,
  copy: () => Promise<T>,
): Promise<T> {
  const inCommit = (err: unknown): never => {
    throw withContext('commit', err);
  };
  await cgroup.freeze(FREEZE_TIMEOUT_MS).catch(inCommit);
  try {
    return await copy();
  } finally {
    await cgroup.thaw().catch(inCommit);
  }
}

/**
 * Run the native copier: src (the upper) into dst (must not exist), without excludes; the
 * directories it kept only as parents of excluded mount points (each ancestor of an excluded path
 * that is an empty directory in the copy and exists in no layer) are removed, symlinks never
 * followed (native/commit/prune.c).
 */
function copyUpper(
  src: string,
  dst: string,
  excludes: readonly string[],
  layers: readonly string[],
  userns: UsernsRange | null = null,
): Promise<void> {
  const shift = userns ? ['--shift', `${userns.uid}:${userns.gid}:${userns.count}`] : [];
  const args = [
    src,
    dst,
    ...excludes.flatMap((e) => ['--exclude', e]),
    ...layers.flatMap((l) => ['--layer', l]),
    ...shift,
  ];
  return new Promise((done, fail) => {
    const child = spawn(COMMIT_PATH, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    child.once('error', (err) =>
      fail(new SandboxError(`commit: spawn ${COMMIT_PATH}: ${describeSystemError(err)} (run "npm run build")`)),
    );
    child.once('close', (code, signal) => {
      if (code === 0) return done();
      const line =
        stderr
          .trim()
          .split('\n')[0]
          ?.replace(/^sandbox: /, '') ?? '';
      fail(new SandboxError(line !== '' ? line : `commit: ${COMMIT_PATH} ended with ${code ?? signal}`));
    });
  });
}

/** Commit a sandbox's writable layer (pid 1 = init, host pid) into DIR; returns DIR's absolute path. */
export async function commitLayer(
  state: SandboxState,
  cgroup: CgroupManager,
  init: number,
  dir: string,
): Promise<string> {
  const fs = writableLayerOf(state);
  const target = await commitTarget(dir, fs);
  const staging = `${dirname(target)}/.${basename(target)}.commit-${process.pid}`;
  const excludes = commitExcludes(fs);
  try {
    await whileFrozen(cgroup, async () => {
      try {
        await copyUpper(`/proc/${init}/fd/${UPPER_FD}`, staging, excludes, fs.layers, state.userns ?? null);
        // Root's alone: its set-id files are root's again (0-based), for sandboxes, not for host users.
        await chmod(staging, 0o700);
        await rename(staging, target);
      } catch (err) {
        // fs.rm never follows a symlink (it unlinks the link); still frozen, so nothing swaps one in.
        await rm(staging, { recursive: true, force: true }).catch(() => undefined);
        throw err;
      }
    });
  } catch (err) {
    if (err instanceof SandboxError) throw err;
    throw new SandboxError(`commit: ${describeSystemError(err)}`, undefined, { cause: err });
  }
  return target;
}
