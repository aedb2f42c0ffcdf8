// v1 cpu controller: CFS bandwidth and shares (Documentation/scheduler/sched-bwc.rst,
// Documentation/admin-guide/cgroup-v1/cgroups.rst). cpu.cfs_quota_us = -1 means no quota;
// cpu.cfs_period_us is 1000..1000000 µs; cpu.cfs_burst_us (kernel >= 5.14) must not exceed the
// quota. On v1 every write is checked against the current other value and the parent: a child's
// quota/period ratio may not exceed its parent's (EINVAL), so the write order below keeps every
// intermediate state valid.
import type { Bandwidth } from '../ancestry.js';
import { writeWithBurst } from '../cpu-burst.js';
import type { CgroupFs } from '../fs.js';
import { parseFlatKeyed } from '../keyed.js';
import type { CgroupLimits, CpuThrottling } from '../types.js';

/** systemd's cpu.weight -> cpu.shares mapping: shares = weight * 1024 / 100 (integer), clamped to the kernel's 2..262144. */
function weightToShares(weight: number): number {
  return Math.min(262_144, Math.max(2, Math.floor((weight * 1024) / 100)));
}

/**
 * Write quota, period, burst and shares. Order: with a shorter new period write the quota first,
 * else the period first — either way the intermediate ratio is no larger than the old or the new
 * one. A smaller burst is written before the quota (burst <= quota), a larger one after.
 */
export async function applyCpu(fs: CgroupFs, dir: string, limits: CgroupLimits): Promise<void> {
  const quota = limits.cpuQuotaUs ?? -1;
  const period = limits.cpuPeriodUs;
  const currentPeriod = fs.readInt(`${dir}/cpu.cfs_period_us`);
  await writeWithBurst(fs, `${dir}/cpu.cfs_burst_us`, limits.cpuBurstUs, async () => {
    if (period < currentPeriod) {
      await fs.write(`${dir}/cpu.cfs_quota_us`, String(quota));
      await fs.write(`${dir}/cpu.cfs_period_us`, String(period));
    } else {
      await fs.write(`${dir}/cpu.cfs_period_us`, String(period));
      await fs.write(`${dir}/cpu.cfs_quota_us`, String(quota));
    }
  });
  if (limits.cpuWeight !== null) await fs.write(`${dir}/cpu.shares`, String(weightToShares(limits.cpuWeight)));
}

/** A cgroup's own quota and period, or null where the files don't exist. */
export function readBandwidth(fs: CgroupFs, dir: string): Bandwidth | null {
  const quota = fs.readIfExists(`${dir}/cpu.cfs_quota_us`);
  const period = fs.readIfExists(`${dir}/cpu.cfs_period_us`);
  if (quota === null || period === null) return null;
  const q = Number(quota.trim());
  return { quotaUs: q < 0 ? null : q, periodUs: Number(period.trim()) };
}

/** cpu.stat throttling counters: nr_periods, nr_throttled, throttled_time (ns, reported in µs). */
export function readThrottling(fs: CgroupFs, dir: string): CpuThrottling {
  const stat = parseFlatKeyed(fs.read(`${dir}/cpu.stat`));
  return {
    nrPeriods: stat.get('nr_periods') ?? 0,
    nrThrottled: stat.get('nr_throttled') ?? 0,
    throttledUs: Math.floor((stat.get('throttled_time') ?? 0) / 1000),
  };
}
