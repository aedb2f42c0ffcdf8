// /proc/diskstats view: the host's layout kept byte for byte, only the disks the cgroup did I/O on,
// counters from the cgroup (sectors = bytes / 512), the rest 0. Checked against the captures'
// own /proc/diskstats taken before and after the I/O (the only I/O on the guest's disk was the
// sandbox's, so there the host's counters moved by exactly what io.stat shows).
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parseDiskstats } from '../../../../procfs/parse/diskstats.js';
import { renderDiskstats } from '../../../../procfs/views/diskstats.js';
import type { IoDeviceStats } from '../../../../supervisor/cgroup/types.js';

const FIXTURES = fileURLToPath(new URL('../../../fixtures/', import.meta.url));
const text = (path: string): string => readFileSync(`${FIXTURES}${path}`, 'utf8');

const V2_BEFORE = text('cgroup-v2/meta/io-8M/diskstats-before.txt');
const V2_AFTER = text('cgroup-v2/io-8M/proc/diskstats');
const V1_HOST = text('cgroup-v1/io-8M/proc/diskstats');

/** The guest sandbox's io.stat: "254:0 rbytes=5263360 wbytes=8388608 rios=52 wios=8 dbytes=4194304 dios=1". */
const V2_VDA: IoDeviceStats = {
  major: 254,
  minor: 0,
  rbytes: 5263360,
  wbytes: 8388608,
  rios: 52,
  wios: 8,
  dbytes: 4194304,
  dios: 1,
};

describe('parseDiskstats', () => {
  it("reads every line of this machine's file: prefix as printed, 17 counters", () => {
    const lines = parseDiskstats(V1_HOST);
    expect(lines.map((l) => l.name)).toEqual([
      'loop0',
      'loop1',
      'loop2',
      'loop3',
      'loop4',
      'loop5',
      'loop6',
      'loop7',
      'vda',
      'zram0',
    ]);
    const vda = lines.find((l) => l.name === 'vda');
    expect(vda?.prefix).toBe(' 254       0 vda');
    expect(vda?.fields).toHaveLength(17);
    for (const l of lines) expect(V1_HOST).toContain(`${l.prefix} ${l.fields.join(' ')}\n`);
  });

  it('refuses a malformed line', () => {
    expect(() => parseDiskstats(' 254 0 vda x\n')).toThrow('/proc/diskstats: malformed line " 254 0 vda x"');
  });
});

describe('renderDiskstats', () => {
  it("v2 guest: equals the host file's own movement during the sandbox's I/O, for every counter the cgroup has", () => {
    const out = renderDiskstats(V2_AFTER, { devices: [V2_VDA] });
    expect(out).toBe(' 254       0 vda 52 0 10280 0 8 0 16384 0 0 0 0 1 0 8192 0 0 0\n');
    const [before] = parseDiskstats(V2_BEFORE);
    const [after] = parseDiskstats(V2_AFTER);
    const [ours] = parseDiskstats(out);
    for (const i of [0, 2, 4, 6, 11, 13])
      expect((after?.fields[i] ?? 0) - (before?.fields[i] ?? 0), `counter ${i + 1}`).toBe(ours?.fields[i]);
    expect(ours?.prefix).toBe(after?.prefix);
  });

  it('v1 this machine: 8 MiB written = 16384 sectors, only vda listed, untracked counters 0', () => {
    const io = {
      devices: [{ major: 254, minor: 0, rbytes: 8392704, wbytes: 8388608, dbytes: 0, rios: 17, wios: 16, dios: 0 }],
    };
    expect(renderDiskstats(V1_HOST, io)).toBe(' 254       0 vda 17 0 16392 0 16 0 16384 0 0 0 0 0 0 0 0 0 0\n');
  });

  it("keeps the host's order, skips devices the host does not list, and prints nothing without I/O", () => {
    const io = {
      devices: [
        { major: 254, minor: 0, rbytes: 512, wbytes: 0, dbytes: 0, rios: 1, wios: 0, dios: 0 },
        { major: 7, minor: 3, rbytes: 0, wbytes: 1024, dbytes: 0, rios: 0, wios: 1, dios: 0 },
        { major: 8, minor: 0, rbytes: 4096, wbytes: 0, dbytes: 0, rios: 1, wios: 0, dios: 0 },
      ],
    };
    expect(renderDiskstats(V1_HOST, io)).toBe(
      '   7       3 loop3 0 0 0 0 1 0 2 0 0 0 0 0 0 0 0 0 0\n 254       0 vda 1 0 1 0 0 0 0 0 0 0 0 0 0 0 0 0 0\n',
    );
    expect(renderDiskstats(V1_HOST, { devices: [] })).toBe('');
  });

  it("follows the host kernel's field count (11 before 4.18, 15 before 5.5): discards only where printed", () => {
    const k414 = '   8       0 sda 1 2 3 4 5 6 7 8 9 10 11\n';
    const k419 = '   8       0 sda 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15\n';
    const dev = { major: 8, minor: 0, rbytes: 1024, wbytes: 2048, dbytes: 4096, rios: 1, wios: 2, dios: 3 };
    expect(renderDiskstats(k414, { devices: [dev] })).toBe('   8       0 sda 1 0 2 0 2 0 4 0 0 0 0\n');
    expect(renderDiskstats(k419, { devices: [dev] })).toBe('   8       0 sda 1 0 2 0 2 0 4 0 0 0 0 3 0 8 0\n');
  });
});
