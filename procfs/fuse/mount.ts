// Mounting and unmounting a FUSE filesystem as root without libfuse or fusermount: open /dev/fuse,
// give it to mount(8) as its fd 3 and name it in the options (fd=3), as fusermount does
// (fs/fuse/inode.c fuse_parse_param takes fd, rootmode, user_id, group_id). mount(8) runs through
// child_process, i.e. libuv's uv_spawn, so no fork happens outside libuv (issue 20: a fork of
// libfuse2's own while libuv's signal handlers were installed took libuv's signal lock with it).
import { spawn } from 'node:child_process';
import { openSync, readFileSync } from 'node:fs';

/** Options of a FUSE mount. */
export interface FuseMountOptions {
  /** The source shown in /proc/mounts. */
  fsname: string;
  /** The type is fuse.<subtype>. */
  subtype: string;
  /**
   * Mount read-only (default): a write open fails with EROFS in the VFS, and reads cost no GETATTR
   * (on a read-write mount each direct-I/O read invalidates atime, fs/fuse/file.c
   * fuse_invalidate_atime, and coreutils cat's fstat then asks for it). Read-write leaves refusing
   * writes to the filesystem (the views answer EACCES, as before).
   */
  readOnly?: boolean;
}

/** Open /dev/fuse for a new connection (close-on-exec, as every Node open: only mount(8) gets it, as fd 3). */
export function openFuseDevice(): number {
  try {
    return openSync('/dev/fuse', 'r+');
  } catch (err) {
    throw new Error(`open /dev/fuse: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}

/** Run a command with `fd` as its fd 3; rejects with its stderr when it fails. */
function run(cmd: string, args: string[], fd?: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'pipe', ...(fd === undefined ? [] : [fd])] });
    let stderr = '';
    child.stderr!.setEncoding('utf8').on('data', (s: string) => (stderr += s));
    child.on('error', (err) => reject(new Error(`${cmd} ${args.join(' ')}: ${err.message}`)));
    child.on('close', (code, signal) =>
      code === 0
        ? resolve()
        : reject(new Error(`${cmd} ${args.join(' ')}: ${stderr.trim() || `exit ${code ?? signal}`}`)),
    );
  });
}

/**
 * Mount the connection of `fd` read-only at `mountpoint` (an existing directory). mount(2) returns
 * before INIT is answered; the server is ready when its INIT reply is written. `ro`: on a
 * read-write mount every direct-I/O read invalidates atime and coreutils cat fstat()s, one more
 * GETATTR per cat. allow_other: a --user workload or a daemon that drops privileges reads the views;
 * default_permissions: the kernel checks modes, so no ACCESS requests.
 */
export async function mountFuse(fd: number, mountpoint: string, opts: FuseMountOptions): Promise<void> {
  const options = [
    'fd=3',
    'rootmode=40000',
    'user_id=0',
    'group_id=0',
    'allow_other',
    'default_permissions',
    opts.readOnly === false ? 'rw' : 'ro',
    'nosuid',
    'nodev',
    'noexec',
  ].join(',');
  // -i: no /sbin/mount.fuse helper; -n: no /etc/mtab.
  await run('mount', ['-i', '-n', '-t', `fuse.${opts.subtype}`, '-o', options, opts.fsname, mountpoint], fd);
}

/**
 * Whether a FUSE mount is at `mountpoint` in this mount namespace (/proc/self/mountinfo, read
 * synchronously: procfs text made in memory, no request to the mount, and no pool thread taken
 * from a stop that runs beside the cgroups' removal).
 */
export function fuseMountedAt(mountpoint: string): boolean {
  const info = readFileSync('/proc/self/mountinfo', 'utf8');
  const escaped = mountpoint.replace(/[ \t\n\\]/g, (c) => `\\${c.charCodeAt(0).toString(8).padStart(3, '0')}`);
  return info.split('\n').some((line) => {
    const f = line.split(' ');
    const dash = f.indexOf('-');
    return f[4] === escaped && dash > 0 && (f[dash + 1] ?? '').startsWith('fuse');
  });
}

/** Detach the mount at `mountpoint` (umount -l: busy or not; copies in other namespaces stay). */
export async function unmountFuse(mountpoint: string): Promise<void> {
  await run('umount', ['-i', '-n', '-l', mountpoint]);
}

/** The commands a server's stop runs, as one object so tests can count them (vi.spyOn). */
export const mountCommands = { unmount: unmountFuse };
