// What a filesystem served by procfs/fuse implements: one handler object per worker thread, called
// synchronously for each request that worker reads. Errors are returned as a negative errno (a
// handler that throws gets EIO for that request and the server goes on). Node ids and file handles
// are plain numbers (safe integers); ids the handler hands out must be stable across workers,
// since the kernel may send LOOKUP to one worker and GETATTR of its answer to another.
import type { Attr, StatfsOut } from './protocol.js';

/** The request being handled. */
export interface RequestContext {
  readonly unique: bigint;
  readonly uid: number;
  readonly gid: number;
  /** The caller's pid in the server's pid namespace (0 when the caller is in none we can see). */
  readonly pid: number;
  /** Whether the kernel asked to interrupt this request (the caller got a signal): answer -EINTR soon. */
  interrupted(): boolean;
  /** Whether the server is stopping. */
  stopping(): boolean;
}

/** A LOOKUP's answer. */
export interface Entry {
  nodeid: number;
  attr: Attr;
  entryTtlMs: number;
  attrTtlMs: number;
  generation?: number;
}

/** An OPEN's or OPENDIR's answer: the handle later requests carry, and FOPEN_* flags. */
interface Opened {
  fh: number;
  flags: number;
}

/** One directory entry. */
interface DirEntry {
  name: string;
  ino: number;
  /** DT_DIR or DT_REG (protocol.ts). */
  type: number;
}

/** The filesystem's side of the protocol (one instance per worker). */
export interface FuseHandler {
  lookup(parent: number, name: string, ctx: RequestContext): Entry | number;
  getattr(nodeid: number, ctx: RequestContext): { attr: Attr; ttlMs: number } | number;
  open(nodeid: number, flags: number, ctx: RequestContext): Opened | number;
  /** Copy up to `size` bytes at `offset` into `out` (which holds at least `size`); bytes copied, or -errno. */
  read(nodeid: number, fh: number, offset: number, size: number, out: Buffer, ctx: RequestContext): number;
  release(nodeid: number, fh: number): void;
  /** Entries of a directory ('.' and '..' are added by the server). */
  readdir(nodeid: number, ctx: RequestContext): readonly DirEntry[] | number;
  opendir?(nodeid: number, ctx: RequestContext): Opened | number;
  releasedir?(nodeid: number, fh: number): void;
  /** FLUSH (sent on close unless the open said FOPEN_NOFLUSH): 0 or -errno. */
  flush?(nodeid: number, fh: number): number;
  /** The kernel dropped `nlookup` references to `nodeid` (FORGET and BATCH_FORGET). */
  forget?(nodeid: number, nlookup: number): void;
  statfs?(): StatfsOut;
  /** Work the last request left for later, run once its reply is written (its caller no longer waits). */
  afterReply?(): void;
}

/** What a handler module exports: a factory the worker calls once with the server's handlerData. */
export interface HandlerModule {
  createHandler(data: unknown, worker: { index: number }): FuseHandler | Promise<FuseHandler>;
}
