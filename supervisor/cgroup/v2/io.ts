// v2 io controller (Documentation/admin-guide/cgroup-v2.rst "IO Interface Files"): io.stat holds
// the bytes and requests of the cgroup and its descendants per device. It exists only where the
// parent enables "io" in cgroup.subtree_control; without it the sandbox shows no devices.
import { UnsupportedFlagError } from '../../errors.js';
import type { CgroupFs } from '../fs.js';
import { parseIoStat } from '../io-parse.js';
import type { IoLimits, IoStats } from '../types.js';

/** The cgroup's io.stat, or no devices when the io controller is not enabled for it. */
export function readIoStat(fs: CgroupFs, dir: string): IoStats {
  const text = fs.readIfExists(`${dir}/io.stat`);
  return text === null ? { devices: [] } : parseIoStat(text);
}

/**
 * The weight files of the leaf, for --io-weight N (error naming the flag and N when there is none).
 * bfq's io.bfq.weight (block/bfq-cgroup.c bfq_blkg_files) acts on disks whose scheduler is bfq;
 * it exists once bfq_init() registered its policy (bfq built in, or its module loaded). iocost's
 * io.weight (block/blk-iocost.c ioc_files, CONFIG_BLK_CGROUP_IOCOST) acts only on disks whose
 * io.cost.qos the root enabled. Both are taken when both exist, as systemd's IOWeight= writes both
 * (src/core/cgroup.c): runc's fs2/io.go writes only io.bfq.weight when it exists, which leaves the
 * weight inert on an iocost disk. Both take "default N" and share the default 100, and 1..1000
 * lies inside both ranges, so N is written as given. Neither file: bfq is not loaded and iocost
 * is not built in, or the io controller is not enabled for the leaf (no io.stat either).
 */
export function ioWeightFiles(fs: CgroupFs, dir: string, weight: number): string[] {
  const files = [`${dir}/io.bfq.weight`, `${dir}/io.weight`].filter((f) => fs.readIfExists(f) !== null);
  if (files.length > 0) return files;
  if (fs.readIfExists(`${dir}/io.stat`) === null) {
    throw new UnsupportedFlagError(
      '--io-weight',
      String(weight),
      `the io controller is not enabled for ${fs.resolve(dir)} (its parent's cgroup.subtree_control lacks "io")`,
    );
  }
  throw new UnsupportedFlagError(
    '--io-weight',
    String(weight),
    `this kernel has no proportional I/O scheduler for cgroups: no io.bfq.weight or io.weight in ${fs.resolve(dir)} (bfq is neither built in nor loaded, iocost is not built in: modprobe bfq, or run without --io-weight)`,
  );
}

/**
 * Write the I/O limits into the leaf (cgroup-v2.rst "IO Interface Files"). The weight goes as
 * "default N" to every file ioWeightFiles() finds; each disk's throttles are one io.max line
 * "MAJ:MIN rbps=… wbps=… riops=… wiops=…", "max" = none (blk-throttle.c tg_set_limit()). The files
 * exist only where the parent enabled "io" in cgroup.subtree_control (delegate.ts), else this is an
 * error naming the file.
 */
export async function applyIo(fs: CgroupFs, dir: string, io: IoLimits): Promise<void> {
  if (io.weight !== null) {
    for (const file of ioWeightFiles(fs, dir, io.weight)) await fs.write(file, `default ${io.weight}`);
  }
  if (io.devices.length === 0) return;
  if (fs.readIfExists(`${dir}/io.max`) === null)
    throw new Error(
      `no io.max in ${fs.resolve(dir)}: the io controller is not enabled for the sandbox (parent's cgroup.subtree_control)`,
    );
  const v = (n: number | null): string => (n === null ? 'max' : String(n));
  for (const d of io.devices) {
    await fs.write(
      `${dir}/io.max`,
      `${d.major}:${d.minor} rbps=${v(d.readBps)} wbps=${v(d.writeBps)} riops=${v(d.readIops)} wiops=${v(d.writeIops)}`,
    );
  }
}
