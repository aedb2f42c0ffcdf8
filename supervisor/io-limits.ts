// Block I/O flags of `sandbox run` and `sandbox update`: --io-weight N and
// --device-{read,write}-{bps,iops} DEV:RATE, turned into IoLimits (cgroup/types.ts). DEV is a block
// device path, resolved with stat(2) to its MAJ:MIN, because that is what the kernel's files take
// (v1 blkio.throttle.*_device "MAJ:MIN VALUE", v2 io.max "MAJ:MIN rbps=…").
//
// Whole disks only: block/blk-cgroup.c blkg_conf_open_bdev() refuses a partition with ENODEV
// (bdev_is_partition()), because blk-throttle and the weights live on the disk's request queue. A
// partition is therefore a usage error naming the disk it belongs to, found through sysfs
// (/sys/dev/block/MAJ:MIN is a link to .../block/<disk>/<partition>, which has a "partition" file).
import { existsSync, realpathSync, statSync } from 'node:fs';
import { posix } from 'node:path';
import { UsageError } from './errors.js';
import type { IoDeviceLimit, IoLimits } from './cgroup/index.js';

/** The I/O flags as commander hands them over (the device flags are repeatable, one per disk). */
export interface IoFlags {
  ioWeight?: string;
  deviceReadBps?: string[];
  deviceWriteBps?: string[];
  deviceReadIops?: string[];
  deviceWriteIops?: string[];
}

/** Which field of IoDeviceLimit each device flag sets, and whether its rate is bytes or requests. */
const DEVICE_FLAGS = [
  { key: 'deviceReadBps', flag: '--device-read-bps', field: 'readBps', bytes: true },
  { key: 'deviceWriteBps', flag: '--device-write-bps', field: 'writeBps', bytes: true },
  { key: 'deviceReadIops', flag: '--device-read-iops', field: 'readIops', bytes: false },
  { key: 'deviceWriteIops', flag: '--device-write-iops', field: 'writeIops', bytes: false },
] as const;

/** bfq's range (block/bfq-iosched.h BFQ_MIN_WEIGHT 1, BFQ_MAX_WEIGHT 1000), also inside io.weight's 1..10000. */
const IO_WEIGHT_MIN = 1;
const IO_WEIGHT_MAX = 1000;

const SIZE_UNITS: Record<string, number> = { '': 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3, T: 1024 ** 4 };

/** A disk as MAJ:MIN. */
export interface DiskId {
  major: number;
  minor: number;
}

/** Split a dev_t as glibc's gnu_dev_major/gnu_dev_minor do (sysmacros.h): 12+ bits of major, 20 of minor. */
export function splitDev(rdev: number): DiskId {
  const big = BigInt(rdev);
  const major = Number(((big >> 8n) & 0xfffn) | ((big >> 32n) & ~0xfffn));
  const minor = Number((big & 0xffn) | ((big >> 12n) & ~0xffn));
  return { major, minor };
}

/**
 * A block device path -> its whole disk's MAJ:MIN; UsageError for a missing path, a non-block file,
 * or a partition (naming its disk). sysDevBlock is /sys/dev/block (a parameter for tests).
 */
export function resolveDisk(flag: string, path: string, sysDevBlock = '/sys/dev/block'): DiskId {
  let st;
  try {
    st = statSync(path);
  } catch (err) {
    throw new UsageError(flag, `no such device "${path}" (stat: ${(err as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  if (!st.isBlockDevice()) throw new UsageError(flag, `"${path}" is not a block device`);
  const id = splitDev(st.rdev);
  const node = `${sysDevBlock}/${id.major}:${id.minor}`;
  if (existsSync(`${node}/partition`)) {
    let disk = 'its whole disk';
    try {
      disk = `/dev/${posix.basename(posix.dirname(realpathSync(node)))}`;
    } catch {
      // keep the generic wording
    }
    throw new UsageError(
      flag,
      `"${path}" (${id.major}:${id.minor}) is a partition; the kernel limits whole disks only, give ${disk}`,
    );
  }
  return id;
}

/** A byte rate "2M", "512k", "1mb", "1048576" (per second), or an integer request rate; null for "max". */
export function parseRate(flag: string, text: string, bytes: boolean): number | null {
  const t = text.trim();
  if (t === 'max') return null;
  const m = bytes ? /^(\d+(?:\.\d+)?)([kmgt]?)(?:i?b)?$/i.exec(t) : /^(\d+)()$/.exec(t);
  const example = bytes ? 'DEV:2M (bytes per second, base 1024)' : 'DEV:100 (requests per second)';
  if (!m) throw new UsageError(flag, `expected a rate like ${example} or DEV:max, got "${text}"`);
  const value = Math.floor(Number(m[1]) * (SIZE_UNITS[(m[2] ?? '').toUpperCase()] ?? 1));
  if (!Number.isSafeInteger(value)) throw new UsageError(flag, `rate "${text}" is too large`);
  // v1 tg_set_conf() reads 0 as "remove the limit": a zero rate would silently mean none.
  if (value <= 0) throw new UsageError(flag, `a rate must be more than 0 (use "max" for no limit), got "${text}"`);
  return value;
}

/** --io-weight N: a whole number from 1 to 1000. */
export function parseIoWeight(text: string): number {
  const t = text.trim();
  const n = /^\d+$/.test(t) ? Number(t) : NaN;
  if (!(n >= IO_WEIGHT_MIN && n <= IO_WEIGHT_MAX)) {
    throw new UsageError(
      '--io-weight',
      `expected a whole number from ${IO_WEIGHT_MIN} to ${IO_WEIGHT_MAX} (default 100), got "${text}"`,
    );
  }
  return n;
}

/**
 * Merge I/O flags into limits (undefined = none yet): a device flag sets one field of that disk's
 * entry, "max" clears it. Throws UsageError on the first bad value or a disk given twice to one flag.
 */
export function mergeIoLimits(
  current: IoLimits | undefined,
  flags: IoFlags,
  sysDevBlock?: string,
): IoLimits | undefined {
  const given = flags.ioWeight !== undefined || DEVICE_FLAGS.some((d) => (flags[d.key]?.length ?? 0) > 0);
  if (!given) return current;
  const next: IoLimits = { weight: current?.weight ?? null, devices: (current?.devices ?? []).map((d) => ({ ...d })) };
  if (flags.ioWeight !== undefined) next.weight = parseIoWeight(flags.ioWeight);
  for (const d of DEVICE_FLAGS) {
    const seen = new Set<string>();
    for (const arg of flags[d.key] ?? []) {
      const colon = arg.lastIndexOf(':');
      if (colon <= 0)
        throw new UsageError(d.flag, `expected DEV:RATE like /dev/vda:${d.bytes ? '2M' : '100'}, got "${arg}"`);
      const rate = parseRate(d.flag, arg.slice(colon + 1), d.bytes);
      const id = resolveDisk(d.flag, arg.slice(0, colon), sysDevBlock);
      const key = `${id.major}:${id.minor}`;
      if (seen.has(key)) throw new UsageError(d.flag, `disk ${key} given twice ("${arg}")`);
      seen.add(key);
      let entry = next.devices.find((e) => e.major === id.major && e.minor === id.minor);
      if (!entry) {
        entry = { ...id, readBps: null, writeBps: null, readIops: null, writeIops: null } satisfies IoDeviceLimit;
        next.devices.push(entry);
      }
      entry[d.field] = rate;
    }
  }
  return next;
}
