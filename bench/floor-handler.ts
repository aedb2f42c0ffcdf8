// The floor's filesystem (bench/fuse-floor.ts): constant texts, one file each at the root, opened
// with direct I/O and no FLUSH as the views are; what it costs is the transport's own cost.
import type { FuseHandler } from '../procfs/fuse/handler.js';
import { DT_REG, Errno, OpenFlag, type Attr } from '../procfs/fuse/protocol.js';

/** What the floor's workers get: file names and their texts. */
export interface FloorData {
  files: Array<{ name: string; text: Uint8Array }>;
}

const ROOT = 1;
const PAGE = 4096;
/** Seconds the kernel may cache names and attributes: as the views (procfs/fs.ts). */
const ENTRY_MS = 3600_000;
const ATTR_MS = 1000;

/** A handler serving the texts of `data` at the root of the mount. */
export function createHandler(data: FloorData): FuseHandler {
  const at = Date.now();
  const texts = data.files.map((f) => Buffer.from(f.text));
  const attr = (nodeid: number): Attr =>
    nodeid === ROOT
      ? { ino: ROOT, mode: 0o40555, size: 0, nlink: 2, uid: 0, gid: 0, timeMs: at }
      : {
          ino: nodeid,
          mode: 0o100444,
          size: Math.max(PAGE, Math.ceil(texts[nodeid - 2]!.length / PAGE) * PAGE),
          nlink: 1,
          uid: 0,
          gid: 0,
          timeMs: at,
        };
  const known = (nodeid: number) => nodeid === ROOT || (nodeid >= 2 && nodeid < texts.length + 2);
  return {
    lookup(parent, name) {
      const i = parent === ROOT ? data.files.findIndex((f) => f.name === name) : -1;
      return i < 0 ? -Errno.ENOENT : { nodeid: i + 2, attr: attr(i + 2), entryTtlMs: ENTRY_MS, attrTtlMs: ATTR_MS };
    },
    getattr: (nodeid) => (known(nodeid) ? { attr: attr(nodeid), ttlMs: ATTR_MS } : -Errno.ENOENT),
    open: (nodeid, flags) =>
      (flags & 3) !== 0
        ? -Errno.EACCES
        : known(nodeid) && nodeid !== ROOT
          ? { fh: 0, flags: OpenFlag.DIRECT_IO | OpenFlag.NOFLUSH }
          : -Errno.ENOENT,
    read(nodeid, _fh, offset, size, out) {
      const text = texts[nodeid - 2];
      if (!text) return -Errno.EBADF;
      if (offset >= text.length) return 0;
      return text.copy(out, 0, offset, Math.min(text.length, offset + size));
    },
    release: () => undefined,
    readdir: (nodeid) =>
      nodeid === ROOT ? data.files.map((f, i) => ({ name: f.name, ino: i + 2, type: DT_REG })) : -Errno.ENOTDIR,
  };
}
