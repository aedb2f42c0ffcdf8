// v1 blkio controller (Documentation/admin-guide/cgroup-v1/blkio-controller.rst). The per-cgroup
// byte and request counters that work with every I/O scheduler are blk-throttle's
// blkio.throttle.io_service_bytes and io_serviced; the *_recursive variants add descendants and
// dead children (blkg_rwstat_recursive_sum()), which is what a sandbox's own sub-cgroups need.
//
// Since Linux 6.9 (commit a3166c51702b, "blk-throttle: delay initialization until configuration")
// blk-throttle counts nothing on a disk until a throttle setting was written for that disk in some
// cgroup: block/blk-throttle.h blk_throtl_bio() returns before blk_should_throtl() does the v1
// accounting while !blk_throtl_activated(q) (seen on 6.18: docs/code-measurements.md). So the
// manager writes "MAJ:MIN 0" for every disk into the leaf's
// read_bps_device: tg_set_conf() activates throttling on that disk's queue (blk_throtl_init()),
// and 0 means "no limit" (stored as U64_MAX), so nothing is throttled and the file still reads
// empty. The activation is per disk and outlives the sandbox (it ends when the disk goes away):
// every bio on that disk then takes blk-throttle's no-rules fast path, as after `docker run
// --device-read-bps` on a v1 host.
import { UnsupportedFlagError } from '../../errors.js';
import { errnoCode, type CgroupFs } from '../fs.js';
import { parseBlkioRwstat } from '../io-parse.js';
import type { IoLimits, IoStats } from '../types.js';

/** Read the cgroup's bytes and requests per device (recursive files where the kernel has them). */
export function readBlkio(fs: CgroupFs, dir: string): IoStats {
  const file = (name: string): string =>
    fs.readIfExists(`${dir}/blkio.throttle.${name}_recursive`) ?? fs.read(`${dir}/blkio.throttle.${name}`);
  return parseBlkioRwstat(file('io_service_bytes'), file('io_serviced'));
}

/** "MAJ:MIN" of every whole disk in /sys/block (blk-throttle takes whole disks only; partitions are ENODEV). */
async function wholeDisks(fs: CgroupFs): Promise<string[]> {
  let names: string[];
  try {
    names = await fs.list('/sys/block');
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return []; // no sysfs block class: no disk to account
    throw err;
  }
  const devs: string[] = [];
  for (const name of names) {
    const dev = fs.readIfExists(`/sys/block/${name}/dev`)?.trim();
    if (dev && /^\d+:\d+$/.test(dev)) devs.push(dev);
  }
  return devs;
}

/**
 * Turn on blk-throttle's accounting for every disk (see the file comment): "MAJ:MIN 0" into the
 * leaf's blkio.throttle.read_bps_device, which sets no limit. A disk that went away in between
 * (ENODEV, ENXIO) is skipped; any other refusal is an error naming file, value and errno. The
 * writes are synchronous (CgroupFs.writeNow): a new leaf, no limit, one per disk (loop devices
 * included), where three thread-pool trips each would queue on the launch path.
 */
export async function enableIoAccounting(fs: CgroupFs, dir: string): Promise<void> {
  const file = `${dir}/blkio.throttle.read_bps_device`;
  if (fs.readIfExists(file) === null) return; // kernel without CONFIG_BLK_DEV_THROTTLING: nothing to count with
  for (const dev of await wholeDisks(fs)) {
    try {
      fs.writeNow(file, `${dev} 0`);
    } catch (err) {
      const code = errnoCode(err);
      if (code !== 'ENODEV' && code !== 'ENXIO') throw err;
    }
  }
}

/** v1 throttle files and the IoDeviceLimit field each holds (blk-throttle.c throtl_legacy_files). */
const THROTTLE_FILES = [
  ['read_bps_device', 'readBps'],
  ['write_bps_device', 'writeBps'],
  ['read_iops_device', 'readIops'],
  ['write_iops_device', 'writeIops'],
] as const;

/**
 * The weight files of the blkio leaf, for --io-weight N (error naming the flag and N when there is
 * none). bfq's blkio.bfq.weight (block/bfq-cgroup.c bfq_blkcg_legacy_files, CFTYPE_NOT_ON_ROOT)
 * is in every non-root blkio cgroup once bfq_init() registered its policy (blkcg_policy_register()),
 * i.e. when bfq is built in or its module is loaded; CFQ's blkio.weight where a pre-5.0 kernel
 * still has it (N written as given, as runc's fs/blkio.go does; CFQ's own default is 500). Both are
 * taken when both exist: each acts on the disks its scheduler runs.
 */
export function blkioWeightFiles(fs: CgroupFs, dir: string, weight: number): string[] {
  const files = [`${dir}/blkio.bfq.weight`, `${dir}/blkio.weight`].filter((f) => fs.readIfExists(f) !== null);
  if (files.length === 0) {
    throw new UnsupportedFlagError(
      '--io-weight',
      String(weight),
      `this kernel has no proportional I/O scheduler for cgroups: no blkio.bfq.weight or blkio.weight in ${fs.resolve(dir)} (bfq is neither built in nor loaded: modprobe bfq, or run without --io-weight)`,
    );
  }
  return files;
}

/**
 * Write the I/O limits into the blkio leaf. The weight goes to every file blkioWeightFiles() finds:
 * it takes effect on disks whose scheduler is bfq (/sys/block/<disk>/queue/scheduler) and is inert
 * under the others. Each throttle is "MAJ:MIN VALUE", 0 = no limit (tg_set_conf() stores 0 as
 * U64_MAX/UINT_MAX), so every field of every listed disk is written and "max" in an update really
 * removes a limit.
 */
export async function applyBlkio(fs: CgroupFs, dir: string, io: IoLimits): Promise<void> {
  if (io.weight !== null) {
    for (const file of blkioWeightFiles(fs, dir, io.weight)) await fs.write(file, String(io.weight));
  }
  for (const d of io.devices) {
    for (const [name, field] of THROTTLE_FILES) {
      await fs.write(`${dir}/blkio.throttle.${name}`, `${d.major}:${d.minor} ${d[field] ?? 0}`);
    }
  }
}
