// The only code that reads or writes cgroupfs. Paths given to it are absolute as the host sees them
// ("/sys/fs/cgroup/memory/x/memory.limit_in_bytes"); the instance maps them under its root dir, so
// tests can point it at a copy of a captured tree. Every failure is a CgroupFsError that names the
// operation, the full path, the value written and the errno, e.g.
//   write /sys/fs/cgroup/memory/x/memory.limit_in_bytes "268435456": EBUSY (errno 16)
// Reads are synchronous (kernel-generated text, microseconds each: see kept-files.ts); everything
// that can wait in the kernel is asynchronous: writes (joining cgroup.procs waits for an RCU grace
// period), mkdir, rmdir, stat and readdir.
import { closeSync, constants, openSync, readFileSync, writeSync } from 'node:fs';
import { mkdir, open, readdir, rmdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { constants as osConstants } from 'node:os';
import { KeptFiles } from '../kept-files.js';

/** A failed cgroupfs operation with everything needed to act on it. */
export class CgroupFsError extends Error {
  /** Numeric errno (positive), e.g. 16 for EBUSY. */
  readonly errno: number;

  constructor(
    /** The operation: read, write, mkdir, rmdir, readdir, stat, or parse (kernel text not as expected). */
    readonly syscall: string,
    /** Full path as opened (root dir included). */
    readonly path: string,
    /** Errno name, e.g. "EBUSY"; "EINVAL" for a parse failure. */
    readonly code: string,
    /** The value written (write) or read (parse); undefined otherwise. */
    readonly value?: string,
    options?: { cause?: unknown },
  ) {
    const errno = Math.abs((osConstants.errno as Record<string, number>)[code] ?? 0);
    const shown = value === undefined ? '' : ` ${JSON.stringify(value.length > 80 ? `${value.slice(0, 80)}…` : value)}`;
    super(`${syscall} ${path}${shown}: ${code}${errno ? ` (errno ${errno})` : ''}`, options);
    this.name = 'CgroupFsError';
    this.errno = errno;
  }
}

/** The errno name of an error or of any error in its cause chain (e.g. "ENOENT"), else undefined. */
export function errnoCode(err: unknown): string | undefined {
  for (let e: unknown = err, depth = 0; e instanceof Error && depth < 16; e = e.cause, depth++) {
    const code = (e as NodeJS.ErrnoException).code;
    if (typeof code === 'string') return code;
  }
  return undefined;
}

/**
 * Files read through a fresh open every time: v1 caches the pid list of an open cgroup.procs/tasks
 * and serves it again for up to a second (kernel/cgroup/cgroup-v1.c cgroup_pidlist_start(),
 * CGROUP_PIDLIST_DESTROY_DELAY), too stale for waiting until a cgroup is empty.
 */
function mustReopen(path: string): boolean {
  const name = path.slice(path.lastIndexOf('/') + 1); // path.basename costs more: this runs on every read
  return name === 'tasks' || name.startsWith('cgroup.');
}

/** Reads and writes cgroup control files under a root dir ("/" on a live system). */
export class CgroupFs {
  private readonly kept = new KeptFiles();

  constructor(readonly root: string = '/') {}

  /** Close the descriptors kept for reads (before the cgroup is removed). */
  closeAll(): void {
    this.kept.closeAll();
  }

  /** The full path of a host-absolute cgroupfs path under this instance's root. */
  resolve(path: string): string {
    return this.root === '/' ? path : join(this.root, path);
  }

  /** Whole content of a control file. */
  read(path: string): string {
    const full = this.resolve(path);
    try {
      return mustReopen(full) ? readFileSync(full, 'utf8') : this.kept.read(full);
    } catch (err) {
      throw fsError('read', full, err);
    }
  }

  /** Content of a control file, or null when it doesn't exist (a controller or feature the kernel lacks). */
  readIfExists(path: string): string | null {
    try {
      return this.read(path);
    } catch (err) {
      if (errnoCode(err) === 'ENOENT') return null;
      throw err;
    }
  }

  /** A control file holding one decimal integer (e.g. memory.limit_in_bytes, pids.current). */
  readInt(path: string): number {
    const text = this.read(path);
    const value = text.trim();
    if (!/^-?\d+$/.test(value)) throw new CgroupFsError('parse', this.resolve(path), 'EINVAL', value);
    return Number(value);
  }

  /**
   * Write one value with a single write(2), as the kernel expects (one pid per write to
   * cgroup.procs). O_WRONLY without O_CREAT: a missing file is the kernel saying "no such
   * feature" (ENOENT), never a file to create. Write-only files such as cgroup.kill open fine.
   */
  async write(path: string, value: string): Promise<void> {
    const full = this.resolve(path);
    let handle;
    try {
      handle = await open(full, constants.O_WRONLY | constants.O_TRUNC);
    } catch (err) {
      throw fsError('write', full, err, value);
    }
    try {
      await handle.write(value);
    } catch (err) {
      throw fsError('write', full, err, value);
    } finally {
      await handle.close().catch(() => undefined);
    }
  }

  /**
   * write(), synchronously: for control files whose write is a few µs of bookkeeping in the kernel
   * (a limit or an accounting switch of a leaf that holds no task yet), where the three thread-pool
   * trips of write() (open, write, close, queued behind the other set-up at launch) cost more than
   * the call. Never for cgroup.procs (a migration may wait for an RCU grace period) or a
   * limit below a live cgroup's usage (reclaim): those block, and this thread serves the views.
   */
  writeNow(path: string, value: string): void {
    const full = this.resolve(path);
    let fd;
    try {
      fd = openSync(full, constants.O_WRONLY | constants.O_TRUNC);
    } catch (err) {
      throw fsError('write', full, err, value);
    }
    try {
      writeSync(fd, value);
    } catch (err) {
      throw fsError('write', full, err, value);
    } finally {
      closeSync(fd);
    }
  }

  /** Create one cgroup directory (not recursive: the parent must exist). */
  async mkdir(path: string): Promise<void> {
    const full = this.resolve(path);
    try {
      await mkdir(full);
    } catch (err) {
      throw fsError('mkdir', full, err);
    }
  }

  /** Remove one cgroup directory (cgroupfs removes its control files with it). */
  async rmdir(path: string): Promise<void> {
    const full = this.resolve(path);
    try {
      await rmdir(full);
    } catch (err) {
      throw fsError('rmdir', full, err);
    }
  }

  /** Whether a file or directory exists. */
  async exists(path: string): Promise<boolean> {
    const full = this.resolve(path);
    try {
      await stat(full);
      return true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
      throw fsError('stat', full, err);
    }
  }

  /** Names in a directory. */
  async list(path: string): Promise<string[]> {
    const full = this.resolve(path);
    try {
      return await readdir(full);
    } catch (err) {
      throw fsError('readdir', full, err);
    }
  }
}

/** Turn a Node system error into a CgroupFsError for the given operation. */
function fsError(syscall: string, path: string, err: unknown, value?: string): CgroupFsError {
  const code = (err as NodeJS.ErrnoException).code ?? 'EIO';
  return new CgroupFsError(syscall, path, code, value, { cause: err });
}
