// v2 io controller (Documentation/admin-guide/cgroup-v2.rst "IO Interface Files"): io.stat holds
// the bytes and requests of the cgroup and its descendants per device. It exists only where the
// parent enables "io" in cgroup.subtree_control; without it the sandbox shows no devices.
import type { CgroupFs } from '../fs.js';
import { parseIoStat } from '../io-parse.js';
import type { IoLimits, IoStats } from '../types.js';

/** The cgroup's io.stat, or no devices when the io controller is not enabled for it. */
export function readIoStat(fs: CgroupFs, dir: string): IoStats {
  const text = fs.readIfExists(`${dir}/io.stat`);
  return text === null ? { devices: [] } : parseIoStat(text);
}

/**
 * Write the I/O limits into the leaf (cgroup-v2.rst "IO Interface Files"). The weight goes to
 * io.weight as "default N" (blk-iocost; the same 100 default) where the kernel has it, else to
 * bfq's io.bfq.weight; each disk's throttles are one io.max line "MAJ:MIN rbps=… wbps=… riops=…
 * wiops=…", "max" = none (blk-throttle.c tg_set_limit()). The files exist only where the parent
 * enabled "io" in cgroup.subtree_control (delegate.ts), else this is an error naming the file.
 */
export async function applyIo(fs: CgroupFs, dir: string, io: IoLimits): Promise<void> {
  if (io.weight !== null) {
    const weight = fs.readIfExists(`${dir}/io.weight`) !== null ? 'io.weight' : fs.readIfExists(`${dir}/io.bfq.weight`) !== null ? 'io.bfq.weight' : null;
    if (!weight) throw new Error(`no io.weight or io.bfq.weight in ${fs.resolve(dir)}: the io controller is not enabled for the sandbox or no weight-based policy is built in`);
    await fs.write(`${dir}/${weight}`, `default ${io.weight}`);
  }
  if (io.devices.length === 0) return;
  if (fs.readIfExists(`${dir}/io.max`) === null) throw new Error(`no io.max in ${fs.resolve(dir)}: the io controller is not enabled for the sandbox (parent's cgroup.subtree_control)`);
  const v = (n: number | null): string => (n === null ? 'max' : String(n));
  for (const d of io.devices) {
    await fs.write(`${dir}/io.max`, `${d.major}:${d.minor} rbps=${v(d.readBps)} wbps=${v(d.writeBps)} riops=${v(d.readIops)} wiops=${v(d.writeIops)}`);
  }
}
