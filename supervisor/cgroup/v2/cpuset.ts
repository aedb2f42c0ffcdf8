// v2 cpuset controller (cgroup-v2.rst "Cpuset Interface Files"). Unlike v1, an empty cpuset.cpus
// means "use the nearest ancestor's", so a new leaf needs no seeding; cpuset.cpus.effective is what
// the scheduler actually grants (the requested CPUs intersected with the parent's effective set).
import { formatCpuList, parseCpuList } from '../cpulist.js';
import type { CgroupFs } from '../fs.js';
import { withContext } from '../../errors.js';

/** Pin the leaf to these host CPUs ("0-1"); an empty list leaves the inherited set. */
export async function applyCpuset(fs: CgroupFs, dir: string, cpus: readonly number[]): Promise<void> {
  if (cpus.length === 0) return;
  const file = `${dir}/cpuset.cpus`;
  if (!(await fs.exists(file))) {
    throw new Error(
      `${fs.resolve(file)} does not exist: the cpuset controller is not enabled for the sandbox's parent cgroup`,
    );
  }
  await fs.write(file, formatCpuList(cpus));
}

/**
 * The CPUs the leaf runs on: the first cpuset.cpus.effective found walking up the chain (a leaf
 * without the cpuset controller shows none), else the host's online CPUs.
 */
export function readEffectiveCpus(fs: CgroupFs, chain: readonly string[]): number[] {
  for (const dir of chain) {
    const file = `${dir}/cpuset.cpus.effective`;
    const text = fs.readIfExists(file);
    if (text === null) continue;
    try {
      return parseCpuList(text);
    } catch (err) {
      throw withContext(fs.resolve(file), err);
    }
  }
  return parseCpuList(fs.read('/sys/devices/system/cpu/online'));
}
