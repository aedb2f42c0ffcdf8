// The request loop of one worker thread: block in read(2) on /dev/fuse, decode one request, call
// the handler, write the reply in place with one write(2), then run what the handler left for after
// the reply (FuseHandler.afterReply). Several workers may read the same
// descriptor: the kernel hands each request to exactly one reader (fs/fuse/dev.c
// fuse_dev_do_read), and a reply finds its request by `unique`, whoever writes it.
import { read, readSync, writeSync } from 'node:fs';
import type { Control } from './control.js';
import type { FuseHandler, RequestContext } from './handler.js';
import {
  DT_DIR,
  Errno,
  FUSE_KERNEL_MINOR,
  FUSE_KERNEL_VERSION,
  FUSE_MIN_READ_BUFFER,
  IN_HEADER_SIZE,
  InitFlag,
  OUT_HEADER_SIZE,
  Op,
  WRITE_IN_SIZE,
  direntSize,
  readInHeader,
  readInitIn,
  writeAttrOut,
  writeDirent,
  writeEntryOut,
  writeInitOut,
  writeOpenOut,
  writeOutHeader,
  writeStatfsOut,
  type InHeader,
} from './protocol.js';

/** Largest write we accept (we serve read-only mounts; the kernel still sizes its read check on it). */
const MAX_WRITE = 4096;
/** Pages per request we let the kernel use (its default, FUSE_DEFAULT_MAX_PAGES_PER_REQ = 32): 128 KiB reads. */
const MAX_PAGES = 32;
/** Largest READ or READDIR the kernel sends us. */
const MAX_READ = MAX_PAGES * 4096;
/**
 * The request buffer: above the kernel's minimum (FUSE_MIN_READ_BUFFER, and in_header + write_in +
 * max_write) with room for a BATCH_FORGET of ~4000 nodes; a smaller buffer reads INIT and then fails
 * every read with EINVAL.
 */
const REQUEST_BUFFER = Math.max(64 * 1024, FUSE_MIN_READ_BUFFER, IN_HEADER_SIZE + WRITE_IN_SIZE + MAX_WRITE);
/** INIT flags we accept when offered: reads of one file may run in parallel, lookups in one directory too. */
const ACCEPTED_FLAGS = InitFlag.ASYNC_READ | InitFlag.PARALLEL_DIROPS;
/** EPROTO: the kernel's major protocol version is not ours. */
const EPROTO = 71;

/** Why a worker's loop ended. */
export type LoopEnd = 'stopped' | 'unmounted';

/** Options of serveFuse. */
export interface LoopOptions {
  /** Called once by the worker that answered INIT. */
  onReady?: (minor: number) => void;
  /** Called with each error a handler threw (the request got EIO). */
  onHandlerError?: (err: unknown, opcode: number) => void;
}

/** What a worker's loop (serveFuse) does besides serving: the keeper's request journal (journal.ts). */
export interface JournalOptions {
  /** Records each request read, before it is answered. */
  record?: (buf: Buffer, n: number) => void;
  /** Requests a dead server of this connection had read: answered (and recorded) before the first read. */
  replay?: readonly Uint8Array[];
}

/** errno codes that mean "read again" on /dev/fuse. */
function transient(code: string | undefined): boolean {
  return code === 'EINTR' || code === 'EAGAIN';
}

/** One reader's request handling: its buffers, and `handle(n)` for the request just read into `buffer`. */
interface Dispatcher {
  /** Where the next request must be read (REQUEST_BUFFER bytes). */
  readonly buffer: Buffer;
  /** Answer the request of `n` bytes in `buffer`; false when the connection is gone. */
  handle(n: number): boolean;
}

/** Build a dispatcher: one per reader (a worker, or the main thread), each with its own buffers. */
function createDispatcher(fd: number, handler: FuseHandler, control: Control, options: LoopOptions = {}): Dispatcher {
  const d = new RequestDispatcher(fd, handler, control, options);
  return { buffer: d.inBuf, handle: (n) => d.handle(n) };
}

const DOT = Buffer.from('.');
const DOTDOT = Buffer.from('..');
const DEFAULT_STATFS = {
  blocks: 0,
  bfree: 0,
  bavail: 0,
  files: 0,
  ffree: 0,
  bsize: 4096,
  namelen: 255,
  frsize: 4096,
};

/** One reader's buffers and the request at hand; each request is decoded, handled and answered in place. */
class RequestDispatcher {
  readonly inBuf = Buffer.allocUnsafe(REQUEST_BUFFER);
  private readonly inView = new DataView(this.inBuf.buffer, this.inBuf.byteOffset, this.inBuf.byteLength);
  private readonly outBuf = Buffer.allocUnsafe(OUT_HEADER_SIZE + MAX_READ);
  private readonly outView = new DataView(this.outBuf.buffer, this.outBuf.byteOffset, this.outBuf.byteLength);
  /** The header of the request at hand. */
  private h!: InHeader;
  private readonly ctx: RequestContext;

  constructor(
    private readonly fd: number,
    private readonly handler: FuseHandler,
    private readonly control: Control,
    private readonly options: LoopOptions,
  ) {
    const self = this;
    this.ctx = {
      get unique() {
        return self.h.unique;
      },
      get uid() {
        return self.h.uid;
      },
      get gid() {
        return self.h.gid;
      },
      get pid() {
        return self.h.pid;
      },
      interrupted: () => control.interrupted(self.h.unique),
      stopping: () => control.stopping(),
    };
  }

  /** Answer the request of `n` bytes just read into inBuf; false when the connection is gone. */
  handle(n: number): boolean {
    const { control } = this;
    if (n < IN_HEADER_SIZE) {
      control.count('malformed'); // nothing to answer: no header, no unique
      return true;
    }
    this.h = readInHeader(this.inView);
    control.countOpcode(this.h.opcode);
    if (this.h.len !== n) {
      control.count('malformed');
      return this.failRequest();
    }
    let alive: boolean;
    try {
      alive = this.answer(n);
    } catch (err) {
      control.count('handlerErrors');
      this.options.onHandlerError?.(err, this.h.opcode);
      return this.failRequest();
    }
    if (alive) this.afterReply();
    return alive;
  }

  /** The handler's work after a reply: an error there is counted, never answered (the reply is gone). */
  private afterReply(): void {
    if (!this.handler.afterReply) return;
    try {
      this.handler.afterReply();
    } catch (err) {
      this.control.count('handlerErrors');
      this.options.onHandlerError?.(err, this.h.opcode);
    }
  }

  /** Write the reply in outBuf (`body` bytes after the header); false when the connection is gone. */
  private reply(errno: number, body: number): boolean {
    const len = OUT_HEADER_SIZE + (errno === 0 ? body : 0);
    writeOutHeader(this.outView, len, errno, this.h.unique);
    try {
      writeSync(this.fd, this.outBuf, 0, len);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      // ENOENT: the request is no longer waited for (interrupted, or its caller was killed and the
      // kernel already ended it: fs/fuse/dev.c fuse_dev_do_write -> request_find fails).
      if (code === 'ENOENT') this.control.count('lateReplies');
      else if (code === 'ENODEV' || code === 'ECONNABORTED') return false;
      else throw new Error(`write /dev/fuse (fd ${this.fd}, opcode ${this.h.opcode}, ${len} bytes): ${code}`);
    }
    return true;
  }

  private error(value: number): boolean {
    return this.reply(-value, 0);
  }

  /** EIO for a request that could not be answered; FORGET, BATCH_FORGET and INTERRUPT take no reply at all. */
  private failRequest(): boolean {
    const op = this.h.opcode;
    return op === Op.FORGET || op === Op.BATCH_FORGET || op === Op.INTERRUPT ? true : this.error(-Errno.EIO);
  }

  /** Answer the request in inBuf[0..n) once its header is read; false when the connection is gone. */
  private answer(n: number): boolean {
    const { handler, inView, control } = this;
    const op = this.h.opcode;
    const body = IN_HEADER_SIZE;
    const node = Number(this.h.nodeid);
    switch (op) {
      case Op.INIT:
        return this.init();
      case Op.DESTROY:
        this.reply(0, 0);
        return false;
      case Op.FORGET:
        handler.forget?.(node, Number(inView.getBigUint64(body, true)));
        return true;
      case Op.BATCH_FORGET: {
        const count = inView.getUint32(body, true);
        if (body + 8 + count * 16 > n) return (control.count('malformed'), true);
        for (let i = 0, at = body + 8; i < count; i++, at += 16)
          handler.forget?.(Number(inView.getBigUint64(at, true)), Number(inView.getBigUint64(at + 8, true)));
        return true;
      }
      case Op.INTERRUPT:
        // No reply: the interrupted request is answered (by whichever worker holds it) as usual.
        control.interrupt(inView.getBigUint64(body, true));
        return true;
      case Op.LOOKUP:
        return this.lookup(n, node);
      case Op.GETATTR: {
        const got = handler.getattr(node, this.ctx);
        if (typeof got === 'number') return this.error(got);
        return this.reply(0, writeAttrOut(this.outView, OUT_HEADER_SIZE, got.ttlMs, got.attr));
      }
      case Op.OPEN:
      case Op.OPENDIR:
        return this.open(op, node);
      case Op.READ: {
        const fh = Number(inView.getBigUint64(body, true));
        const offset = Number(inView.getBigUint64(body + 8, true));
        const size = Math.min(inView.getUint32(body + 16, true), MAX_READ);
        const out = this.outBuf.subarray(OUT_HEADER_SIZE, OUT_HEADER_SIZE + size);
        const got = handler.read(node, fh, offset, size, out, this.ctx);
        return got < 0 ? this.error(got) : this.reply(0, got);
      }
      case Op.READDIR:
        return this.readdir(node);
      case Op.RELEASE:
        handler.release(node, Number(inView.getBigUint64(body, true)));
        return this.reply(0, 0);
      case Op.RELEASEDIR:
        handler.releasedir?.(node, Number(inView.getBigUint64(body, true)));
        return this.reply(0, 0);
      case Op.FLUSH: {
        const got = handler.flush ? handler.flush(node, Number(inView.getBigUint64(body, true))) : 0;
        return got < 0 ? this.error(got) : this.reply(0, 0);
      }
      case Op.STATFS:
        return this.reply(0, writeStatfsOut(this.outView, OUT_HEADER_SIZE, handler.statfs?.() ?? DEFAULT_STATFS));
      default:
        // Asked once, then never again for most (fs/fuse: fc->no_getxattr, no_statx, … set on ENOSYS).
        control.count('enosys');
        return this.error(-Errno.ENOSYS);
    }
  }

  private init(): boolean {
    const init = readInitIn(this.inView, IN_HEADER_SIZE);
    if (init.major !== FUSE_KERNEL_VERSION) return this.error(-EPROTO);
    const minor = Math.min(init.minor, FUSE_KERNEL_MINOR);
    const size = writeInitOut(this.outView, OUT_HEADER_SIZE, {
      minor,
      maxReadahead: init.maxReadahead,
      flags: init.flags & ACCEPTED_FLAGS,
      maxBackground: 0, // 0 keeps the kernel's defaults (fs/fuse/inode.c process_init_reply)
      congestionThreshold: 0,
      maxWrite: MAX_WRITE,
      timeGran: 1,
      maxPages: 0,
    });
    const ok = this.reply(0, size);
    this.control.setReady(minor, init.minor);
    this.options.onReady?.(minor);
    return ok;
  }

  private lookup(n: number, node: number): boolean {
    const end = this.inBuf.indexOf(0, IN_HEADER_SIZE);
    const name = this.inBuf.toString('utf8', IN_HEADER_SIZE, end < 0 || end > n ? n : end);
    const entry = this.handler.lookup(node, name, this.ctx);
    if (typeof entry === 'number') return this.error(entry);
    return this.reply(
      0,
      writeEntryOut(
        this.outView,
        OUT_HEADER_SIZE,
        entry.nodeid,
        entry.generation ?? 0,
        entry.entryTtlMs,
        entry.attrTtlMs,
        entry.attr,
      ),
    );
  }

  private open(op: number, node: number): boolean {
    const { handler } = this;
    const flags = this.inView.getUint32(IN_HEADER_SIZE, true);
    const opened =
      op === Op.OPEN
        ? handler.open(node, flags, this.ctx)
        : handler.opendir
          ? handler.opendir(node, this.ctx)
          : { fh: 0, flags: 0 };
    if (typeof opened === 'number') return this.error(opened);
    return this.reply(0, writeOpenOut(this.outView, OUT_HEADER_SIZE, BigInt(opened.fh), opened.flags));
  }

  private readdir(node: number): boolean {
    const offset = Number(this.inView.getBigUint64(IN_HEADER_SIZE + 8, true));
    const size = Math.min(this.inView.getUint32(IN_HEADER_SIZE + 16, true), MAX_READ);
    const entries = this.handler.readdir(node, this.ctx);
    if (typeof entries === 'number') return this.error(entries);
    let at = OUT_HEADER_SIZE;
    const limit = OUT_HEADER_SIZE + size;
    // Offsets are indexes: 0 '.', 1 '..', 2.. the handler's entries; a dirent's `off` is the next index.
    for (let i = offset; i < entries.length + 2; i++) {
      const e =
        i === 0
          ? { name: DOT, ino: node, type: DT_DIR }
          : i === 1
            ? { name: DOTDOT, ino: 1, type: DT_DIR }
            : { ...entries[i - 2]!, name: Buffer.from(entries[i - 2]!.name) };
      if (at + direntSize(e.name.length) > limit) break;
      at += writeDirent(this.outBuf, this.outView, at, e.ino, i + 1, e.type, e.name);
    }
    return this.reply(0, at - OUT_HEADER_SIZE);
  }
}

/** What a failed read of /dev/fuse means: read again, the connection ended, or an error to throw. */
function readFailed(fd: number, err: unknown): 'again' | 'unmounted' {
  const code = (err as NodeJS.ErrnoException).code;
  if (transient(code)) return 'again';
  if (code === 'ENODEV') return 'unmounted';
  throw new Error(`read /dev/fuse (fd ${fd}): ${code ?? (err as Error).message}`);
}

/**
 * Serve requests from `fd` on this thread, blocking in read(2), until the server stops
 * (control.requestStop, then one request to wake this reader) or the connection ends (ENODEV:
 * unmounted and no copy left, or aborted). A worker's loop.
 */
export function serveFuse(
  fd: number,
  handler: FuseHandler,
  control: Control,
  options: LoopOptions & JournalOptions = {},
): LoopEnd {
  const { buffer, handle } = createDispatcher(fd, handler, control, options);
  const record = options.record;
  for (const request of options.replay ?? []) {
    buffer.set(request);
    record?.(buffer, request.length);
    if (!handle(request.length)) return 'unmounted';
  }
  for (;;) {
    if (control.stopping()) return 'stopped';
    let n: number;
    try {
      n = readSync(fd, buffer, 0, buffer.length, null);
    } catch (err) {
      if (readFailed(fd, err) === 'again') continue;
      return 'unmounted';
    }
    record?.(buffer, n);
    if (!handle(n)) return 'unmounted';
  }
}

/**
 * Serve requests from `fd` with the handler on this (the main) thread: each read(2) blocks one of
 * libuv's pool threads, the answer is written here. Ends like serveFuse, and also after the request
 * at hand once `handOver()` is true (workers serve from then on). Each request costs a hop from the
 * pool thread to the event loop that a worker's loop does not pay, but no thread has to start.
 */
export function serveFuseAsync(
  fd: number,
  handler: FuseHandler,
  control: Control,
  options: LoopOptions & { handOver?: () => boolean; onRequest?: () => void } = {},
): Promise<LoopEnd | 'handed over'> {
  const { buffer, handle } = createDispatcher(fd, handler, control, options);
  return new Promise((resolve, reject) => {
    const next = (): void => {
      if (control.stopping()) return resolve('stopped');
      if (options.handOver?.()) return resolve('handed over');
      read(fd, buffer, 0, buffer.length, null, (err, n) => {
        try {
          if (err) return readFailed(fd, err) === 'again' ? next() : resolve('unmounted');
          if (!handle(n)) return resolve('unmounted');
          options.onRequest?.();
          next();
        } catch (thrown) {
          reject(thrown as Error);
        }
      });
    };
    next();
  });
}
