// The FUSE structs as procfs/fuse/protocol.ts lays them out, checked field by field against the
// offsets of include/uapi/linux/fuse.h (fuse_in_header, fuse_init_out, fuse_entry_out, fuse_attr,
// fuse_attr_out, fuse_open_out, fuse_kstatfs, fuse_dirent). A field at a wrong offset would make the
// kernel read garbage; these are the values it would read.
import { describe, expect, it } from 'vitest';
import {
  ATTR_OUT_SIZE,
  ENTRY_OUT_SIZE,
  INIT_OUT_SIZE,
  OPEN_OUT_SIZE,
  STATFS_OUT_SIZE,
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
  type Attr,
} from '../../../../procfs/fuse/protocol.js';

const view = (b: Buffer) => new DataView(b.buffer, b.byteOffset, b.byteLength);
const ATTR: Attr = { ino: 77, mode: 0o100444, size: 5000, nlink: 1, uid: 3, gid: 4, timeMs: 1_700_000_000_123 };

describe('FUSE struct layouts', () => {
  it('sizes match the kernel structs', () => {
    expect([ENTRY_OUT_SIZE, ATTR_OUT_SIZE, OPEN_OUT_SIZE, INIT_OUT_SIZE, STATFS_OUT_SIZE]).toEqual([
      128, 104, 16, 64, 80,
    ]);
  });

  it('reads fuse_in_header and fuse_init_in', () => {
    const b = Buffer.alloc(104);
    const v = view(b);
    v.setUint32(0, 104, true);
    v.setUint32(4, 26, true);
    v.setBigUint64(8, 0x1234n, true);
    v.setBigUint64(16, 1n, true);
    v.setUint32(24, 1000, true);
    v.setUint32(28, 1001, true);
    v.setUint32(32, 4242, true);
    v.setUint32(40, 7, true);
    v.setUint32(44, 45, true);
    v.setUint32(48, 131072, true);
    v.setUint32(52, 0x73fffffb, true);
    expect(readInHeader(v)).toEqual({
      len: 104,
      opcode: 26,
      unique: 0x1234n,
      nodeid: 1n,
      uid: 1000,
      gid: 1001,
      pid: 4242,
    });
    expect(readInitIn(v, 40)).toEqual({ major: 7, minor: 45, maxReadahead: 131072, flags: 0x73fffffb });
  });

  it('writes fuse_out_header with a negated errno', () => {
    const b = Buffer.alloc(16);
    writeOutHeader(view(b), 16, 2, 99n);
    expect([b.readUInt32LE(0), b.readInt32LE(4), b.readBigUInt64LE(8)]).toEqual([16, -2, 99n]);
  });

  it('writes fuse_init_out', () => {
    const b = Buffer.alloc(INIT_OUT_SIZE, 0xff);
    writeInitOut(view(b), 0, {
      minor: 31,
      maxReadahead: 4096,
      flags: 0x40001,
      maxBackground: 12,
      congestionThreshold: 9,
      maxWrite: 4096,
      timeGran: 1,
      maxPages: 32,
    });
    expect([
      b.readUInt32LE(0),
      b.readUInt32LE(4),
      b.readUInt32LE(8),
      b.readUInt32LE(12),
      b.readUInt16LE(16),
      b.readUInt16LE(18),
      b.readUInt32LE(20),
      b.readUInt32LE(24),
      b.readUInt16LE(28),
    ]).toEqual([7, 31, 4096, 0x40001, 12, 9, 4096, 1, 32]);
    expect(b.subarray(30).every((x) => x === 0)).toBe(true); // map_alignment, flags2, max_stack_depth, unused: zero
  });

  it('writes fuse_entry_out with fuse_attr at offset 40', () => {
    const b = Buffer.alloc(ENTRY_OUT_SIZE);
    writeEntryOut(view(b), 0, 65, 2, 3600_000, 1500, ATTR);
    expect([
      b.readBigUInt64LE(0),
      b.readBigUInt64LE(8),
      b.readBigUInt64LE(16),
      b.readBigUInt64LE(24),
      b.readUInt32LE(32),
      b.readUInt32LE(36),
    ]).toEqual([65n, 2n, 3600n, 1n, 0, 500_000_000]);
    const a = 40;
    expect([
      b.readBigUInt64LE(a),
      b.readBigUInt64LE(a + 8),
      b.readBigUInt64LE(a + 16),
      b.readBigUInt64LE(a + 24),
      b.readUInt32LE(a + 48),
    ]).toEqual([77n, 5000n, 10n, 1_700_000_000n, 123_000_000]);
    expect([
      b.readUInt32LE(a + 60),
      b.readUInt32LE(a + 64),
      b.readUInt32LE(a + 68),
      b.readUInt32LE(a + 72),
      b.readUInt32LE(a + 80),
    ]).toEqual([0o100444, 1, 3, 4, 4096]);
  });

  it('writes fuse_attr_out, fuse_open_out and fuse_kstatfs', () => {
    const b = Buffer.alloc(ATTR_OUT_SIZE);
    writeAttrOut(view(b), 0, 1000, ATTR);
    expect([b.readBigUInt64LE(0), b.readUInt32LE(8), b.readBigUInt64LE(16), b.readUInt32LE(16 + 60)]).toEqual([
      1n,
      0,
      77n,
      0o100444,
    ]);
    const o = Buffer.alloc(OPEN_OUT_SIZE);
    writeOpenOut(view(o), 0, 9n, 0x21);
    expect([o.readBigUInt64LE(0), o.readUInt32LE(8)]).toEqual([9n, 0x21]);
    const s = Buffer.alloc(STATFS_OUT_SIZE);
    writeStatfsOut(view(s), 0, {
      blocks: 42,
      bfree: 1,
      bavail: 2,
      files: 7,
      ffree: 3,
      bsize: 4096,
      namelen: 255,
      frsize: 512,
    });
    expect([
      s.readBigUInt64LE(0),
      s.readBigUInt64LE(24),
      s.readUInt32LE(40),
      s.readUInt32LE(44),
      s.readUInt32LE(48),
    ]).toEqual([42n, 7n, 4096, 255, 512]);
  });

  it('writes fuse_dirent padded to 8 bytes', () => {
    expect([direntSize(1), direntSize(8), direntSize(9)]).toEqual([32, 32, 40]);
    const b = Buffer.alloc(40, 0xff);
    expect(writeDirent(b, view(b), 0, 5, 3, 8, Buffer.from('meminfo'))).toBe(32);
    expect([
      b.readBigUInt64LE(0),
      b.readBigUInt64LE(8),
      b.readUInt32LE(16),
      b.readUInt32LE(20),
      b.toString('utf8', 24, 31),
      b[31],
    ]).toEqual([5n, 3n, 7, 8, 'meminfo', 0]);
  });
});
