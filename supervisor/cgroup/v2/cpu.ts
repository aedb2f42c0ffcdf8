// v2 cpu controller (Documentation/admin-guide/cgroup-v2.rst "CPU Interface Files"):
// cpu.max "$MAX $PERIOD" ("max 100000" = no quota), cpu.max.burst (kernel >= 5.14, must not exceed
// the quota), cpu.weight 1..10000 (default 100), and cpu.stat. Unlike v1, a child's cpu.max may
// exceed its parent's; the parent's still binds (the effective quota is the tightest one).
import type { Bandwidth } from '../ancestry.js';
import { writeWithBurst } from '../cpu-burst.js';
import type { CgroupFs } from '../fs.js';
import { parseFlatKeyed } from '../keyed.js';
import type { CgroupLimits, CpuThrottling } from '../types.js';

/** Parse cpu.max ("max 100000", "20000 100000"). */
function parseCpuMax(text: string): Bandwidth {
  const m = /^(max|\d+)\s+(\d+)$/.exec(text.trim());
  if (!m) throw new Error(`expected "$MAX $PERIOD" in cpu.max, got "${text.trim()}"`);
  return { quotaUs: m[1] === 'max' ? null : Number(m[1]), periodUs: Number(m[2]) };
}

/** Format cpu.max: "20000 100000", or "max 100000" with no quota. */
function formatCpuMax(quotaUs: number | null, periodUs: number): string {
  return `${quotaUs === null ? 'max' : quotaUs} ${periodUs}`;
}

/** Write cpu.max (quota and period in one write), cpu.max.burst (a smaller one before cpu.max, a larger one after: burst <= quota) and cpu.weight. */
export async function applyCpu(fs: CgroupFs, dir: string, limits: CgroupLimits): Promise<void> {
  await writeWithBurst(fs, `${dir}/cpu.max.burst`, limits.cpuBurstUs, () =>
    fs.write(`${dir}/cpu.max`, formatCpuMax(limits.cpuQuotaUs, limits.cpuPeriodUs)),
  );
  if (limits.cpuWeight !== null) await fs.write(`${dir}/cpu.weight`, String(limits.cpuWeight));
}

/** A cgroup's own cpu.max, or null where it doesn't exist (the root cgroup, or cpu not enabled). */
export function readBandwidth(fs: CgroupFs, dir: string): Bandwidth | null {
  const text = fs.readIfExists(`${dir}/cpu.max`);
  return text === null ? null : parseCpuMax(text);
}

/** cpu.stat's keys, parsed (usage always; throttling only with the cpu controller enabled). */
export function readCpuStat(fs: CgroupFs, dir: string): Map<string, number> {
  return parseFlatKeyed(fs.read(`${dir}/cpu.stat`));
}

/** The usage split (µs) of a parsed cpu.stat. */
export function cpuUsage(stat: Map<string, number>): { userUs: number; systemUs: number } {
  return { userUs: stat.get('user_usec') ?? 0, systemUs: stat.get('system_usec') ?? 0 };
}

/** The throttling counters of a parsed cpu.stat (0 without the cpu controller). */
export function cpuThrottling(stat: Map<string, number>): CpuThrottling {
  return {
    nrPeriods: stat.get('nr_periods') ?? 0,
    nrThrottled: stat.get('nr_throttled') ?? 0,
    throttledUs: stat.get('throttled_usec') ?? 0,
  };
}
