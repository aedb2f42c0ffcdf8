// Block I/O and pressure figures of both cgroup versions, on the real io-8M captures
// (test/fixtures/cgroup-v1/io-8M: this machine, 8 MiB O_DIRECT write + read on ext4 on vda 254:0;
// test/fixtures/cgroup-v2/io-8M: the 6.1 guest, 8 MiB direct write, 4 MiB direct read and a 4 MiB
// discard on its virtio disk 254:0). Expectations are read from the captured text by trivial code.
import { describe, expect, it } from 'vitest';
import { openCgroup } from '../../../../supervisor/cgroup/index.js';
import { parseBlkioRwstat, parseIoStat } from '../../../../supervisor/cgroup/io-parse.js';
import { parsePressure } from '../../../../supervisor/cgroup/v2/pressure.js';
import { renderPressure } from '../../../../procfs/views/pressure.js';
import { fixtureText, v1Leaf, v1Scenario, V2_MOUNTINFO, V2_OWN_CGROUP, v2Scenario } from './fixture-files.js';

const V1 = v1Scenario('io-8M');
const V2 = v2Scenario('io-8M');
const V2_LEAF = '/sys/fs/cgroup/parent/sandbox-io';

/** The number on a v1 rwstat row "254:0 Read N". */
function row(text: string, dev: string, key: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${dev} ${key} `));
  if (line === undefined) throw new Error(`no ${dev} ${key}`);
  return Number(line.split(' ')[2]);
}

describe('v1 blkio (io-8M capture)', () => {
  const leaf = v1Leaf(V1, 'blkio');
  const bytes = fixtureText(V1, `${leaf}/blkio.throttle.io_service_bytes_recursive`);
  const ios = fixtureText(V1, `${leaf}/blkio.throttle.io_serviced_recursive`);

  it('ioStats() lists only the disk the cgroup did I/O on, from the recursive files', async () => {
    const cg = await openCgroup({ id: 'fixture', root: V1 });
    expect(cg.ioStats()).toEqual({
      devices: [
        {
          major: 254,
          minor: 0,
          rbytes: row(bytes, '254:0', 'Read'), // 8392704: 8 MiB + one 4 KiB ext4 read
          wbytes: row(bytes, '254:0', 'Write'), // 8388608
          dbytes: row(bytes, '254:0', 'Discard'), // 0
          rios: row(ios, '254:0', 'Read'), // 17
          wios: row(ios, '254:0', 'Write'), // 16 (512 KiB bios)
          dios: row(ios, '254:0', 'Discard'),
        },
      ],
    });
    expect(cg.ioStats().devices[0]?.wbytes).toBe(8 * 1024 * 1024);
    // The file lists 10 devices (vda, zram0, loop0-7), all others at 0.
    expect(bytes.split('\n').filter((l) => l.endsWith(' Total 0')).length).toBe(9);
  });

  it('has no pressure files: pressureStats() says so', async () => {
    const cg = await openCgroup({ id: 'fixture', root: V1 });
    expect(() => cg.pressureStats('cpu')).toThrow(
      'cgroup v1 stats: no cpu.pressure (pressure stall information per cgroup exists on cgroup v2 only)',
    );
  });

  it('an idle leaf (busy-256M blkio-idle) has no devices', async () => {
    const cg = await openCgroup({ id: 'fixture', root: v1Scenario('busy-256M') });
    expect(cg.ioStats()).toEqual({ devices: [] });
  });

  it('parses pre-4.19 rows without Discard, and refuses a malformed row', () => {
    const old = '8:0 Read 4096\n8:0 Write 0\n8:0 Sync 4096\n8:0 Async 0\n8:0 Total 4096\nTotal 4096\n';
    const oldIos = '8:0 Read 1\n8:0 Write 0\n8:0 Sync 1\n8:0 Async 0\n8:0 Total 1\nTotal 1\n';
    expect(parseBlkioRwstat(old, oldIos).devices).toEqual([
      { major: 8, minor: 0, rbytes: 4096, wbytes: 0, dbytes: 0, rios: 1, wios: 0, dios: 0 },
    ]);
    expect(() => parseBlkioRwstat('8:0 Read x\n', '')).toThrow(
      'blkio io_service_bytes: expected "MAJ:MIN Row N", got "8:0 Read x"',
    );
    expect(parseBlkioRwstat('Total 0\n', 'Total 0\n').devices).toEqual([]);
  });
});

describe('v2 io.stat (io-8M capture)', () => {
  const text = fixtureText(V2, `${V2_LEAF}/io.stat`);

  it('ioStats() reads rbytes, wbytes, rios, wios, dbytes, dios by exact key', async () => {
    expect(text).toBe('254:0 rbytes=5263360 wbytes=8388608 rios=52 wios=8 dbytes=4194304 dios=1\n');
    const cg = await openCgroup({ id: 'io', root: V2, procSelfCgroup: V2_OWN_CGROUP, mountinfo: V2_MOUNTINFO });
    expect(cg.ioStats()).toEqual({
      devices: [
        { major: 254, minor: 0, rbytes: 5263360, wbytes: 8388608, rios: 52, wios: 8, dbytes: 4194304, dios: 1 },
      ],
    });
  });

  it('an empty io.stat (busy-256M: no disk attached) has no devices', async () => {
    const cg = await openCgroup({
      id: 'test',
      root: v2Scenario('busy-256M'),
      procSelfCgroup: V2_OWN_CGROUP,
      mountinfo: V2_MOUNTINFO,
    });
    expect(cg.ioStats()).toEqual({ devices: [] });
  });

  it('ignores policy keys, drops all-zero devices, refuses a line without a key', () => {
    const withCost =
      '8:16 rbytes=1 wbytes=2 rios=3 wios=4 dbytes=0 dios=0 cost.vrate=100.00 cost.usage=7\n8:0 rbytes=0 wbytes=0 rios=0 wios=0 dbytes=0 dios=0\n';
    expect(parseIoStat(withCost).devices).toEqual([
      { major: 8, minor: 16, rbytes: 1, wbytes: 2, rios: 3, wios: 4, dbytes: 0, dios: 0 },
    ]);
    expect(() => parseIoStat('8:0 rbytes=1 wbytes=2\n')).toThrow('io.stat: no rios= on "8:0 rbytes=1 wbytes=2"');
    // A device with no I/O yet: the kernel prints its name and no counters (a real 6.1 line).
    expect(parseIoStat('254:0 \n8:16 rbytes=1 wbytes=2 rios=3 wios=4 dbytes=0 dios=0\n').devices).toEqual([
      { major: 8, minor: 16, rbytes: 1, wbytes: 2, rios: 3, wios: 4, dbytes: 0, dios: 0 },
    ]);
    expect(() => parseIoStat('sda rbytes=1\n')).toThrow('io.stat: expected "MAJ:MIN key=value…", got "sda rbytes=1"');
  });
});

describe('v2 pressure (io-8M capture)', () => {
  it('pressureStats() parses the leaf file; rendering it gives the same bytes back', async () => {
    const cg = await openCgroup({ id: 'io', root: V2, procSelfCgroup: V2_OWN_CGROUP, mountinfo: V2_MOUNTINFO });
    for (const r of ['cpu', 'memory', 'io'] as const) {
      const text = fixtureText(V2, `${V2_LEAF}/${r}.pressure`);
      expect(renderPressure(cg.pressureStats(r))).toBe(text);
    }
    // cpu.pressure: "some avg10=65.72 avg60=21.62 avg300=5.15 total=15153254" (busy loop under 20%).
    expect(cg.pressureStats('cpu').some).toEqual({ avg10: 6572, avg60: 2162, avg300: 515, totalUs: 15153254 });
    expect(cg.pressureStats('cpu').full?.totalUs).toBe(14687552);
  });

  it("round-trips every captured PSI file byte for byte (cgroup files and the guests' /proc/pressure)", () => {
    const files = [
      ...['cpu', 'memory', 'io'].map((r) => [V2, `/proc/pressure/${r}`]),
      ...['cpu', 'memory', 'io'].map((r) => [v2Scenario('busy-256M'), `/proc/pressure/${r}`]),
      ...['cpu', 'memory', 'io'].map((r) => [V2, `/sys/fs/cgroup/parent/${r}.pressure`]),
      ...['cpu', 'memory', 'io'].map((r) => [
        v2Scenario('busy-256M'),
        `/sys/fs/cgroup/parent/sandbox-test/${r}.pressure`,
      ]),
    ] as const;
    for (const [root = '', path = ''] of files) {
      const text = fixtureText(root, path);
      expect(renderPressure(parsePressure(text)), path).toBe(text);
    }
  });

  it('keeps a missing "full" line missing, and refuses other text', () => {
    const old = 'some avg10=1.05 avg60=0.00 avg300=0.00 total=12\n';
    expect(parsePressure(old).full).toBeNull();
    expect(renderPressure(parsePressure(old))).toBe(old);
    expect(() => parsePressure('full avg10=0.00 avg60=0.00 avg300=0.00 total=0\n')).toThrow('pressure: no "some" line');
    expect(() => parsePressure('some avg10=1.5 avg60=0.00 avg300=0.00 total=0\n')).toThrow('pressure: expected');
  });
});
