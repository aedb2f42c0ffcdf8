// v1 cpuset controller (Documentation/admin-guide/cgroup-v1/cpusets.rst). A new cpuset cgroup
// starts with EMPTY cpuset.cpus and cpuset.mems (unless the parent sets cgroup.clone_children),
// and attaching a task to a cpuset with no CPUs or no memory nodes fails with ENOSPC; so both are
// written before any pid joins. A child's cpus must be a subset of its parent's (EINVAL otherwise).
import { formatCpuList, parseCpuList } from '../cpulist.js';
import type { CgroupFs } from '../fs.js';
import { withContext } from '../../errors.js';

/** Copy cpuset.cpus and cpuset.mems from the parent (the supervisor's own cpuset) into a new leaf. */
export async function seedCpuset(fs: CgroupFs, dir: string, parentDir: string): Promise<void> {
  for (const file of ['cpuset.cpus', 'cpuset.mems']) {
    const value = fs.read(`${parentDir}/${file}`).trim();
    if (value === '')
      throw new Error(`${fs.resolve(`${parentDir}/${file}`)} is empty: the parent cpuset has nothing to give`);
    fs.writeNow(`${dir}/${file}`, value); // a new, empty leaf: no task to move (CgroupFs.writeNow)
  }
}

/** Pin the leaf to these host CPUs (kernel list syntax, "0-1"); an empty list keeps the seeded set. */
export async function applyCpuset(fs: CgroupFs, dir: string, cpus: readonly number[]): Promise<void> {
  if (cpus.length === 0) return;
  await fs.write(`${dir}/cpuset.cpus`, formatCpuList(cpus));
}

/**
 * The CPUs the leaf may run on. cpuset.effective_cpus (kernel >= 3.17) is what the scheduler uses,
 * cpuset.cpus minus offline CPUs; on a legacy mount they are equal while every CPU is online.
 * Falls back to cpuset.cpus on kernels without it.
 */
export function readCpusetCpus(fs: CgroupFs, dir: string): number[] {
  const text = fs.readIfExists(`${dir}/cpuset.effective_cpus`) ?? fs.read(`${dir}/cpuset.cpus`);
  try {
    return parseCpuList(text);
  } catch (err) {
    throw withContext(fs.resolve(`${dir}/cpuset.effective_cpus`), err);
  }
}
