// v2 freezer (Documentation/admin-guide/cgroup-v2.rst, "Core Interface Files"): writing 1 to
// cgroup.freeze stops every task of the cgroup and its descendants; the kernel sets "frozen 1" in
// cgroup.events once all of them are stopped (kernel/cgroup/freezer.c cgroup_update_frozen).
import type { CgroupFs } from '../fs.js';
import { parseFlatKeyed } from '../keyed.js';
import { sleep } from '../../sleep.js';

/** Freeze the cgroup and wait (bounded) until cgroup.events says "frozen 1"; false if it didn't get there in time. */
export async function freeze(fs: CgroupFs, dir: string, timeoutMs: number): Promise<boolean> {
  await fs.write(`${dir}/cgroup.freeze`, '1');
  const deadline = Date.now() + timeoutMs;
  for (let delay = 1; ; delay = Math.min(delay * 2, 50)) {
    if (parseFlatKeyed(fs.read(`${dir}/cgroup.events`)).get('frozen') === 1) return true;
    if (Date.now() >= deadline) return false;
    await sleep(delay);
  }
}

/** Thaw the cgroup (cgroup.freeze 0). */
export async function thaw(fs: CgroupFs, dir: string): Promise<void> {
  await fs.write(`${dir}/cgroup.freeze`, '0');
}
