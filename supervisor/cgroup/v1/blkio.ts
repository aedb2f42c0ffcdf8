// v1 blkio controller (Documentation/admin-guide/cgroup-v1/blkio-controller.rst). The per-cgroup
// byte and request counters that work with every I/O scheduler are blk-throttle's
// blkio.throttle.io_service_bytes and io_serviced; the *_recursive variants add descendants and
// dead children (blkg_rwstat_recursive_sum()), which is what a sandbox's own sub-cgroups need.
//
// Since Linux 6.9 (commit a3166c51702b, "blk-throttle: delay initialization until configuration")
// blk-throttle counts nothing on a disk until a throttle setting was written for that disk in some
// cgroup: block/blk-throttle.h blk_throtl_bio() returns before blk_should_throtl() does the v1
// accounting while !blk_throtl_activated(q). Measured on this machine's 6.18 kernel: a direct 8 MiB
// write and read in a fresh blkio cgroup left every row at "Total 0"; after writing "254:0 0" to
// the cgroup's blkio.throttle.read_bps_device the same I/O read "254:0 Write 8388608" and
// "254:0 Read 8388608". So the manager writes "MAJ:MIN 0" for every disk into the leaf's
// read_bps_device: tg_set_conf() activates throttling on that disk's queue (blk_throtl_init()),
// and 0 means "no limit" (stored as U64_MAX), so nothing is throttled and the file still reads
// empty. The activation is per disk and outlives the sandbox (it ends when the disk goes away):
// every bio on that disk then takes blk-throttle's no-rules fast path, as after `docker run
// --device-read-bps` on a v1 host.
import { errnoCode, type CgroupFs } from '../fs.js';
import { parseBlkioRwstat } from '../io-parse.js';
import type { IoStats } from '../types.js';

/** Read the cgroup's bytes and requests per device (recursive files where the kernel has them). */
export function readBlkio(fs: CgroupFs, dir: string): IoStats {
  const file = (name: string): string => fs.readIfExists(`${dir}/blkio.throttle.${name}_recursive`) ?? fs.read(`${dir}/blkio.throttle.${name}`);
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
 * (ENODEV, ENXIO) is skipped; any other refusal is an error naming file, value and errno.
 */
export async function enableIoAccounting(fs: CgroupFs, dir: string): Promise<void> {
  const file = `${dir}/blkio.throttle.read_bps_device`;
  if (fs.readIfExists(file) === null) return; // kernel without CONFIG_BLK_DEV_THROTTLING: nothing to count with
  for (const dev of await wholeDisks(fs)) {
    await fs.write(file, `${dev} 0`).catch((err: unknown) => {
      const code = errnoCode(err);
      if (code !== 'ENODEV' && code !== 'ENXIO') throw err;
    });
  }
}
