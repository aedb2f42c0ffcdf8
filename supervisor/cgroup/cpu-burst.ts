// CFS burst (kernel >= 5.14) on v1 (cpu.cfs_burst_us) and v2 (cpu.max.burst): the kernel refuses a
// burst above the quota (kernel/sched/core.c tg_set_cfs_bandwidth), so a smaller burst is written
// before the quota and a larger one after it, and every intermediate state is valid.
import type { CgroupFs } from './fs.js';

/** Write the quota (`writeQuota`) and the burst `burstUs` (null: leave it) into `burstFile` in a valid order. */
export async function writeWithBurst(
  fs: CgroupFs,
  burstFile: string,
  burstUs: number | null,
  writeQuota: () => Promise<void>,
): Promise<void> {
  let burstAfter = false;
  if (burstUs !== null) {
    const current = fs.readIfExists(burstFile);
    if (current === null) {
      throw new Error(
        `${fs.resolve(burstFile)} does not exist: this kernel has no CFS burst (needs Linux 5.14+); drop --cpu-burst`,
      );
    }
    if (burstUs <= Number(current.trim())) await fs.write(burstFile, String(burstUs));
    else burstAfter = true;
  }
  await writeQuota();
  if (burstAfter) await fs.write(burstFile, String(burstUs));
}
