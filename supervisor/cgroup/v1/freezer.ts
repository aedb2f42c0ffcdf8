// v1 freezer (Documentation/admin-guide/cgroup-v1/freezer-subsystem.rst). Writing FROZEN to
// freezer.state stops every task; reading it shows FREEZING until all have stopped, then FROZEN.
// Killing a frozen cgroup is race-free: no task can fork between reading cgroup.procs and the
// SIGKILLs, and the queued SIGKILLs take effect when the cgroup is THAWED.
import type { CgroupFs } from '../fs.js';
import { sleep } from '../../sleep.js';

/** Freeze the cgroup and wait (bounded) until the kernel reports FROZEN; false if it didn't get there in time. */
export async function freeze(fs: CgroupFs, dir: string, timeoutMs = 1000): Promise<boolean> {
  await fs.write(`${dir}/freezer.state`, 'FROZEN');
  const deadline = Date.now() + timeoutMs;
  for (let delay = 1; ; delay = Math.min(delay * 2, 50)) {
    if (fs.read(`${dir}/freezer.state`).trim() === 'FROZEN') return true;
    if (Date.now() >= deadline) return false;
    await sleep(delay);
  }
}

/** Thaw the cgroup. */
export async function thaw(fs: CgroupFs, dir: string): Promise<void> {
  await fs.write(`${dir}/freezer.state`, 'THAWED');
}
