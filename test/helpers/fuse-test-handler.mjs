// A filesystem for the transport's tests (test/integration/fuse-transport.test.ts), run by
// procfs/fuse's generic worker entry from dist/ (a worker loads JavaScript): a constant file, a file
// whose every open has its own text (served from the shared open table, whichever worker reads), a
// read that blocks until interrupted, a handler that throws, a file opened without FOPEN_NOFLUSH, a
// name looked up to a new node each time (so the kernel forgets the previous one), a file larger
// than one READ, and STATFS figures. Counters live in a SharedArrayBuffer the test reads.
import { OpenTable } from '../../dist/procfs/fuse/open-table.js';

const EPOCH = Date.UTC(2026, 0, 1);
const DIR = 0o40555;
const FILE = 0o100444;
const DIRECT_IO = 1;
const NOFLUSH = 1 << 5;
const ENOENT = 2;
const EINTR = 4;
const EBADF = 9;
const EACCES = 13;

/** Counter slots in data.counters. */
export const C = {
  opens: 0,
  slowWaiting: 1,
  slowRelease: 2,
  flushes: 3,
  forgotten: 4,
  releases: 5,
  interruptedReads: 6,
  freshLookups: 7,
};

const attr = (ino, mode, size) => ({ ino, mode, size, nlink: mode === DIR ? 2 : 1, uid: 0, gid: 0, timeMs: EPOCH });
const FILES = { hello: 2, counter: 3, slow: 4, throws: 5, flushy: 6, big: 8 };
const HELLO = Buffer.from('hello world\n');
const BIG = Buffer.from(
  Array.from({ length: 12000 }, (_, i) => `line ${String(i).padStart(6, '0')} of the big file\n`).join(''),
);

export function createHandler(data) {
  const counters = new Int32Array(data.counters);
  const opens = new OpenTable(data.opens);
  const sizeOf = (ino) => (ino === FILES.big ? BIG.length : 4096);
  const fileAttr = (ino) => attr(ino, FILE, sizeOf(ino));
  return {
    lookup(parent, name) {
      if (parent !== 1) return -ENOENT;
      if (name === 'fresh') {
        const n = Atomics.add(counters, C.freshLookups, 1);
        return { nodeid: 1000 + n, attr: fileAttr(1000 + n), entryTtlMs: 0, attrTtlMs: 0 };
      }
      const ino = FILES[name];
      if (ino === undefined) return -ENOENT;
      return { nodeid: ino, attr: fileAttr(ino), entryTtlMs: 3600_000, attrTtlMs: 1000 };
    },
    getattr(nodeid) {
      if (nodeid === 1) return { attr: attr(1, DIR, 0), ttlMs: 1000 };
      if (nodeid >= 1000 || Object.values(FILES).includes(nodeid)) return { attr: fileAttr(nodeid), ttlMs: 1000 };
      return -ENOENT;
    },
    open(nodeid, flags) {
      if ((flags & 3) !== 0) return -EACCES;
      Atomics.add(counters, C.opens, 1);
      if (nodeid === FILES.counter) {
        const slot = opens.alloc([nodeid]);
        if (slot < 0) return -24;
        const n = Atomics.add(counters, C.opens + 8, 1);
        const line = `open ${String(n).padStart(5, '0')} `;
        opens.setBytes(slot, Buffer.from(line.repeat(40) + '\n'));
        return { fh: slot, flags: DIRECT_IO | NOFLUSH };
      }
      return { fh: 0, flags: DIRECT_IO | (nodeid === FILES.flushy ? 0 : NOFLUSH) };
    },
    read(nodeid, fh, offset, size, out, ctx) {
      let text;
      switch (nodeid) {
        case FILES.hello:
        case FILES.flushy:
          text = HELLO;
          break;
        case FILES.big:
          text = BIG;
          break;
        case FILES.counter:
          if (!opens.inUse(fh)) return -EBADF;
          text = opens.getBytes(fh);
          break;
        case FILES.slow: {
          Atomics.add(counters, C.slowWaiting, 1);
          try {
            // Until the kernel interrupts this read, the server stops, or the test releases it.
            while (Atomics.load(counters, C.slowRelease) === 0) {
              if (ctx.interrupted()) {
                Atomics.add(counters, C.interruptedReads, 1);
                return -EINTR;
              }
              if (ctx.stopping()) return -EINTR;
              Atomics.wait(counters, C.slowRelease, 0, 5);
            }
          } finally {
            Atomics.sub(counters, C.slowWaiting, 1);
          }
          text = HELLO;
          break;
        }
        case FILES.throws:
          throw new Error('the test handler throws on purpose');
        default:
          return -EBADF;
      }
      if (offset >= text.length) return 0;
      return text.copy(out, 0, offset, Math.min(text.length, offset + size));
    },
    release(nodeid, fh) {
      Atomics.add(counters, C.releases, 1);
      if (nodeid === FILES.counter) opens.free(fh);
    },
    readdir(nodeid) {
      if (nodeid !== 1) return -20;
      return Object.entries(FILES).map(([name, ino]) => ({ name, ino, type: 8 }));
    },
    flush() {
      Atomics.add(counters, C.flushes, 1);
      return 0;
    },
    forget(nodeid, nlookup) {
      if (nodeid >= 1000) Atomics.add(counters, C.forgotten, nlookup);
    },
    statfs() {
      return { blocks: 42, bfree: 0, bavail: 0, files: 7, ffree: 0, bsize: 4096, namelen: 255, frsize: 4096 };
    },
  };
}
