// v2 io controller (Documentation/admin-guide/cgroup-v2.rst "IO Interface Files"): io.stat holds
// the bytes and requests of the cgroup and its descendants per device. It exists only where the
// parent enables "io" in cgroup.subtree_control; without it the sandbox shows no devices.
import type { CgroupFs } from '../fs.js';
import { parseIoStat } from '../io-parse.js';
import type { IoStats } from '../types.js';

/** The cgroup's io.stat, or no devices when the io controller is not enabled for it. */
export function readIoStat(fs: CgroupFs, dir: string): IoStats {
  const text = fs.readIfExists(`${dir}/io.stat`);
  return text === null ? { devices: [] } : parseIoStat(text);
}
