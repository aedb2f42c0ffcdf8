// The kernel's FUSE wire protocol (include/uapi/linux/fuse.h; Documentation/filesystems/fuse.rst):
// every request starts with fuse_in_header, every reply with fuse_out_header, both little-endian on
// the machines we run on (the kernel writes host order; x86_64 and arm64 are little-endian). Only
// the structs this server reads or writes are here, at the sizes of protocol 7.31, the minor we
// answer INIT with (sizes have not changed for these structs since: fuse_attr's last padding became
// `flags` in 7.35, at the same offset).

/** The protocol version we speak (major is fixed at 7 since 2005). */
export const FUSE_KERNEL_VERSION = 7;
/** The minor we implement and answer INIT with when the kernel offers at least this much. */
export const FUSE_KERNEL_MINOR = 31;

/** Opcodes (enum fuse_opcode). */
export const Op = {
  LOOKUP: 1,
  FORGET: 2,
  GETATTR: 3,
  SETATTR: 4,
  OPEN: 14,
  READ: 15,
  WRITE: 16,
  STATFS: 17,
  RELEASE: 18,
  GETXATTR: 22,
  LISTXATTR: 23,
  FLUSH: 25,
  INIT: 26,
  OPENDIR: 27,
  READDIR: 28,
  RELEASEDIR: 29,
  ACCESS: 34,
  INTERRUPT: 36,
  DESTROY: 38,
  BATCH_FORGET: 42,
  READDIRPLUS: 44,
  LSEEK: 46,
  STATX: 52,
} as const;

/** Highest opcode counted per opcode in the shared statistics (larger ones share the last slot). */
export const MAX_COUNTED_OPCODE = 63;

/** INIT flags we may accept (fuse.h FUSE_*): only what this server handles. */
export const InitFlag = {
  ASYNC_READ: 1 << 0,
  PARALLEL_DIROPS: 1 << 18,
  MAX_PAGES: 1 << 22,
} as const;

/** fuse_open_out.open_flags (FOPEN_*). */
export const OpenFlag = {
  DIRECT_IO: 1 << 0,
  KEEP_CACHE: 1 << 1,
  NONSEEKABLE: 1 << 2,
  CACHE_DIR: 1 << 3,
  NOFLUSH: 1 << 5,
} as const;

/** errno values a reply carries (negated in fuse_out_header.error). */
export const Errno = {
  EPERM: 1,
  ENOENT: 2,
  EINTR: 4,
  EIO: 5,
  EBADF: 9,
  EAGAIN: 11,
  EACCES: 13,
  ENOTDIR: 20,
  EISDIR: 21,
  EINVAL: 22,
  EMFILE: 24,
  EROFS: 30,
  ENOSYS: 38,
  ENODATA: 61,
} as const;

/** Size of fuse_in_header. */
export const IN_HEADER_SIZE = 40;
/** Size of fuse_out_header. */
export const OUT_HEADER_SIZE = 16;
/** Size of fuse_attr. */
const ATTR_SIZE = 88;
/** Size of fuse_entry_out. */
export const ENTRY_OUT_SIZE = 40 + ATTR_SIZE;
/** Size of fuse_attr_out. */
export const ATTR_OUT_SIZE = 16 + ATTR_SIZE;
/** Size of fuse_open_out. */
export const OPEN_OUT_SIZE = 16;
/** Size of fuse_init_out (protocol 7.36+; the kernel takes a shorter one from an older minor). */
export const INIT_OUT_SIZE = 64;
/** Size of fuse_kstatfs (fuse_statfs_out). */
export const STATFS_OUT_SIZE = 80;
/** Size of fuse_dirent before its name. */
const DIRENT_HEADER_SIZE = 24;
/**
 * The kernel refuses a read(2) of /dev/fuse whose buffer is smaller than
 * max(FUSE_MIN_READ_BUFFER = 8192, sizeof(fuse_in_header) + sizeof(fuse_write_in) + max_write)
 * (fs/fuse/dev.c fuse_dev_do_read) with EINVAL, after INIT.
 */
export const FUSE_MIN_READ_BUFFER = 8192;
/** Size of fuse_write_in (the other part of that bound). */
export const WRITE_IN_SIZE = 40;

/** File types in a dirent (DT_* of dirent.h: the mode's type bits >> 12). */
export const DT_DIR = 4;
/** Regular file type in a dirent. */
export const DT_REG = 8;

/** A decoded fuse_in_header. */
export interface InHeader {
  len: number;
  opcode: number;
  unique: bigint;
  nodeid: bigint;
  uid: number;
  gid: number;
  pid: number;
}

/** Decode fuse_in_header at the start of `view`. */
export function readInHeader(view: DataView): InHeader {
  return {
    len: view.getUint32(0, true),
    opcode: view.getUint32(4, true),
    unique: view.getBigUint64(8, true),
    nodeid: view.getBigUint64(16, true),
    uid: view.getUint32(24, true),
    gid: view.getUint32(28, true),
    pid: view.getUint32(32, true),
  };
}

/** Write fuse_out_header at the start of `view`: total length, -errno (0 = success), unique. */
export function writeOutHeader(view: DataView, len: number, errno: number, unique: bigint): void {
  view.setUint32(0, len, true);
  view.setInt32(4, -errno, true);
  view.setBigUint64(8, unique, true);
}

/** What fuse_init_in says (the part we read). */
export interface InitIn {
  major: number;
  minor: number;
  maxReadahead: number;
  flags: number;
}

/** Decode fuse_init_in at `off`. */
export function readInitIn(view: DataView, off: number): InitIn {
  return {
    major: view.getUint32(off, true),
    minor: view.getUint32(off + 4, true),
    maxReadahead: view.getUint32(off + 8, true),
    flags: view.getUint32(off + 12, true),
  };
}

/** fuse_init_out's fields we set. */
export interface InitOut {
  minor: number;
  maxReadahead: number;
  flags: number;
  maxBackground: number;
  congestionThreshold: number;
  maxWrite: number;
  timeGran: number;
  maxPages: number;
}

/** Encode fuse_init_out at `off`; returns its size. */
export function writeInitOut(view: DataView, off: number, out: InitOut): number {
  new Uint8Array(view.buffer, view.byteOffset + off, INIT_OUT_SIZE).fill(0);
  view.setUint32(off, FUSE_KERNEL_VERSION, true);
  view.setUint32(off + 4, out.minor, true);
  view.setUint32(off + 8, out.maxReadahead, true);
  view.setUint32(off + 12, out.flags, true);
  view.setUint16(off + 16, out.maxBackground, true);
  view.setUint16(off + 18, out.congestionThreshold, true);
  view.setUint32(off + 20, out.maxWrite, true);
  view.setUint32(off + 24, out.timeGran, true);
  view.setUint16(off + 28, out.maxPages, true);
  return INIT_OUT_SIZE;
}

/** Attributes of a node, as fuse_attr carries them. */
export interface Attr {
  ino: number;
  mode: number;
  size: number;
  nlink: number;
  uid: number;
  gid: number;
  /** atime, mtime and ctime alike (epoch ms). */
  timeMs: number;
}

/** Encode fuse_attr at `off`. */
function writeAttr(view: DataView, off: number, a: Attr): void {
  const sec = BigInt(Math.floor(a.timeMs / 1000));
  const nsec = Math.floor(a.timeMs % 1000) * 1_000_000;
  view.setBigUint64(off, BigInt(a.ino), true);
  view.setBigUint64(off + 8, BigInt(a.size), true);
  view.setBigUint64(off + 16, BigInt(Math.ceil(a.size / 512)), true); // blocks of 512 bytes
  view.setBigUint64(off + 24, sec, true);
  view.setBigUint64(off + 32, sec, true);
  view.setBigUint64(off + 40, sec, true);
  view.setUint32(off + 48, nsec, true);
  view.setUint32(off + 52, nsec, true);
  view.setUint32(off + 56, nsec, true);
  view.setUint32(off + 60, a.mode, true);
  view.setUint32(off + 64, a.nlink, true);
  view.setUint32(off + 68, a.uid, true);
  view.setUint32(off + 72, a.gid, true);
  view.setUint32(off + 76, 0, true); // rdev
  view.setUint32(off + 80, 4096, true); // blksize
  view.setUint32(off + 84, 0, true); // flags
}

/** Split a TTL in ms into fuse's (seconds, nanoseconds). */
function ttl(ms: number): [bigint, number] {
  return [BigInt(Math.floor(ms / 1000)), Math.floor(ms % 1000) * 1_000_000];
}

/** Encode fuse_entry_out at `off`; returns its size. */
export function writeEntryOut(
  view: DataView,
  off: number,
  nodeid: number,
  generation: number,
  entryTtlMs: number,
  attrTtlMs: number,
  attr: Attr,
): number {
  const [es, ens] = ttl(entryTtlMs);
  const [as, ans] = ttl(attrTtlMs);
  view.setBigUint64(off, BigInt(nodeid), true);
  view.setBigUint64(off + 8, BigInt(generation), true);
  view.setBigUint64(off + 16, es, true);
  view.setBigUint64(off + 24, as, true);
  view.setUint32(off + 32, ens, true);
  view.setUint32(off + 36, ans, true);
  writeAttr(view, off + 40, attr);
  return ENTRY_OUT_SIZE;
}

/** Encode fuse_attr_out at `off`; returns its size. */
export function writeAttrOut(view: DataView, off: number, attrTtlMs: number, attr: Attr): number {
  const [as, ans] = ttl(attrTtlMs);
  view.setBigUint64(off, as, true);
  view.setUint32(off + 8, ans, true);
  view.setUint32(off + 12, 0, true);
  writeAttr(view, off + 16, attr);
  return ATTR_OUT_SIZE;
}

/** Encode fuse_open_out at `off`; returns its size. */
export function writeOpenOut(view: DataView, off: number, fh: bigint, openFlags: number): number {
  view.setBigUint64(off, fh, true);
  view.setUint32(off + 8, openFlags, true);
  view.setInt32(off + 12, 0, true); // backing_id (passthrough) unused
  return OPEN_OUT_SIZE;
}

/** What fuse_kstatfs reports. */
export interface StatfsOut {
  blocks: number;
  bfree: number;
  bavail: number;
  files: number;
  ffree: number;
  bsize: number;
  namelen: number;
  frsize: number;
}

/** Encode fuse_kstatfs at `off`; returns its size. */
export function writeStatfsOut(view: DataView, off: number, s: StatfsOut): number {
  new Uint8Array(view.buffer, view.byteOffset + off, STATFS_OUT_SIZE).fill(0);
  view.setBigUint64(off, BigInt(s.blocks), true);
  view.setBigUint64(off + 8, BigInt(s.bfree), true);
  view.setBigUint64(off + 16, BigInt(s.bavail), true);
  view.setBigUint64(off + 24, BigInt(s.files), true);
  view.setBigUint64(off + 32, BigInt(s.ffree), true);
  view.setUint32(off + 40, s.bsize, true);
  view.setUint32(off + 44, s.namelen, true);
  view.setUint32(off + 48, s.frsize, true);
  return STATFS_OUT_SIZE;
}

/** Size of one fuse_dirent with a name of `nameLen` bytes, padded to 8 (FUSE_DIRENT_ALIGN). */
export function direntSize(nameLen: number): number {
  return (DIRENT_HEADER_SIZE + nameLen + 7) & ~7;
}

/** Encode one fuse_dirent at `off` (`next` = the offset a READDIR continues from after it); returns its padded size. */
export function writeDirent(
  buf: Buffer,
  view: DataView,
  off: number,
  ino: number,
  next: number,
  type: number,
  name: Buffer,
): number {
  const size = direntSize(name.length);
  view.setBigUint64(off, BigInt(ino), true);
  view.setBigUint64(off + 8, BigInt(next), true);
  view.setUint32(off + 16, name.length, true);
  view.setUint32(off + 20, type, true);
  name.copy(buf, off + DIRENT_HEADER_SIZE);
  buf.fill(0, off + DIRENT_HEADER_SIZE + name.length, off + size);
  return size;
}
