// v1 pids controller (Documentation/admin-guide/cgroup-v1/pids.rst): pids.max ("max" = none) and
// pids.current, which counts the tasks (threads) of the cgroup and its descendants.
import type { CgroupFs } from '../fs.js';
import { parseMaxOrInt } from '../keyed.js';
import type { PidsStats } from '../types.js';

/** Write pids.max ("max" when null). */
export async function applyPids(fs: CgroupFs, dir: string, max: number | null): Promise<void> {
  await fs.write(`${dir}/pids.max`, max === null ? 'max' : String(max));
}

/** pids.current and pids.max of the leaf. */
export function readPids(fs: CgroupFs, dir: string): PidsStats {
  return { current: fs.readInt(`${dir}/pids.current`), max: parseMaxOrInt(fs.read(`${dir}/pids.max`)) };
}
