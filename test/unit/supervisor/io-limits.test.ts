import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { UsageError } from '../../../supervisor/errors.js';
import { mergeIoLimits, parseIoWeight, parseRate, resolveDisk, splitDev } from '../../../supervisor/io-limits.js';
import { machineLacks, requireOrSkip } from '../../helpers/skip.js';

// A real whole disk of this host to resolve (the first in /sys/block with a node in /dev); the tests
// needing one skip, naming why, on a machine without.
const BLOCK = (existsSync('/sys/block') ? readdirSync('/sys/block').sort() : [])
  .map((d) => `/dev/${d}`)
  .find((p) => {
    try {
      return statSync(p).isBlockDevice();
    } catch {
      return false;
    }
  });
const noBlock = BLOCK ? null : machineLacks('no whole disk in /sys/block has a node in /dev');

describe('splitDev', () => {
  it('decodes glibc dev_t: 254:0, 8:17, and majors/minors above 8 bits', () => {
    expect(splitDev(254 * 256)).toEqual({ major: 254, minor: 0 });
    expect(splitDev(8 * 256 + 17)).toEqual({ major: 8, minor: 17 });
    // minor 300 = 0x12c: low 8 bits in 0-7, (minor & ~0xff) << 12 above (glibc makedev)
    expect(splitDev((259 << 8) | 0x2c | (0x100 << 12))).toEqual({ major: 259, minor: 300 });
  });
});

describe('parseRate', () => {
  it.each([
    ['2M', true, 2 * 1024 ** 2],
    ['512k', true, 512 * 1024],
    ['1mb', true, 1024 ** 2],
    ['1048576', true, 1048576],
    ['100', false, 100],
    ['max', true, null],
    ['max', false, null],
  ])('%s -> %s', (text, bytes, value) => expect(parseRate('--x', text, bytes)).toBe(value));

  it.each([['0'], ['-1M'], ['2X'], [''], ['1e3']])('rejects %j', (text) => {
    expect(() => parseRate('--device-write-bps', text, true)).toThrow(UsageError);
    expect(() => parseRate('--device-write-bps', text, true)).toThrow(`"${text}"`);
  });
  it('rejects a size unit on a request rate', () =>
    expect(() => parseRate('--device-read-iops', '10M', false)).toThrow(/--device-read-iops.*"10M"/));
});

describe('parseIoWeight', () => {
  it('accepts 1..1000', () => {
    expect(parseIoWeight('1')).toBe(1);
    expect(parseIoWeight(' 1000 ')).toBe(1000);
  });
  it.each(['0', '1001', '5.5', 'abc', ''])('rejects %j', (t) => expect(() => parseIoWeight(t)).toThrow(/--io-weight/));
});

describe('resolveDisk', () => {
  const sys = mkdtempSync(join(tmpdir(), 'sandbox-sysdev-'));
  afterAll(() => rmSync(sys, { recursive: true, force: true }));

  it('refuses a character device and a missing path', () => {
    expect(() => resolveDisk('--device-read-bps', '/dev/null')).toThrow(
      /--device-read-bps: "\/dev\/null" is not a block device/,
    );
    expect(() => resolveDisk('--device-read-bps', '/nonexistent/vdz')).toThrow(
      /no such device "\/nonexistent\/vdz" \(stat: ENOENT\)/,
    );
  });

  it.skipIf(requireOrSkip(noBlock))('a whole disk resolves to its MAJ:MIN', () => {
    const id = resolveDisk('--device-read-bps', BLOCK!);
    expect(id).toEqual(splitDev(statSync(BLOCK!).rdev));
  });

  it.skipIf(requireOrSkip(noBlock))(
    'a partition is refused, naming its disk (sysfs has a "partition" file under the disk)',
    () => {
      // Fake /sys/dev/block: MAJ:MIN of the real device links to devices/vdq/vdq1, a partition of "vdq".
      const { major, minor } = splitDev(statSync(BLOCK!).rdev);
      mkdirSync(join(sys, 'devices/vdq/vdq1'), { recursive: true });
      writeFileSync(join(sys, 'devices/vdq/vdq1/partition'), '1\n');
      symlinkSync('devices/vdq/vdq1', join(sys, `${major}:${minor}`));
      expect(() => resolveDisk('--device-write-bps', BLOCK!, sys)).toThrow(
        `--device-write-bps: "${BLOCK}" (${major}:${minor}) is a partition; the kernel limits whole disks only, give /dev/vdq`,
      );
    },
  );
});

describe('mergeIoLimits', () => {
  it('returns the current limits untouched when no I/O flag is given', () => {
    expect(mergeIoLimits(undefined, {})).toBeUndefined();
    const cur = { weight: 200, devices: [] };
    expect(mergeIoLimits(cur, {})).toBe(cur);
  });

  it.skipIf(requireOrSkip(noBlock))(
    'sets one field per flag on one entry per disk; "max" clears; a disk twice in one flag is refused',
    () => {
      const id = splitDev(statSync(BLOCK!).rdev);
      const a = mergeIoLimits(undefined, {
        ioWeight: '300',
        deviceWriteBps: [`${BLOCK}:2M`],
        deviceReadIops: [`${BLOCK}:50`],
      });
      expect(a).toEqual({
        weight: 300,
        devices: [{ ...id, readBps: null, writeBps: 2 * 1024 ** 2, readIops: 50, writeIops: null }],
      });
      const b = mergeIoLimits(a, { deviceWriteBps: [`${BLOCK}:max`], deviceReadBps: [`${BLOCK}:1M`] });
      expect(b).toEqual({
        weight: 300,
        devices: [{ ...id, readBps: 1024 ** 2, writeBps: null, readIops: 50, writeIops: null }],
      });
      expect(a!.devices[0]!.writeBps).toBe(2 * 1024 ** 2); // the current limits are not mutated
      expect(() => mergeIoLimits(undefined, { deviceWriteBps: [`${BLOCK}:2M`, `${BLOCK}:3M`] })).toThrow(
        /--device-write-bps: disk \d+:\d+ given twice/,
      );
    },
  );
});
