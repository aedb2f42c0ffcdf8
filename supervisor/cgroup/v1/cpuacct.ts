// v1 cpuacct controller (Documentation/admin-guide/cgroup-v1/cpuacct.rst): CPU time of a cgroup
// and its descendants. cpuacct.usage_percpu_user / _sys (kernel >= 4.7) hold one nanosecond
// counter per possible CPU, in CPU-id order; cpuacct.stat holds user/system in USER_HZ ticks.
import type { CgroupFs } from '../fs.js';
import { parseFlatKeyed } from '../keyed.js';
import type { PerCpuUsage } from '../types.js';

/** Linux USER_HZ: the unit of cpuacct.stat (always 100 on every architecture's ABI). */
const USER_HZ = 100;

/** Nanosecond counters (space-separated, may exceed 2^53) to whole microseconds, exactly. */
function nsListToUs(text: string): number[] {
  const fields = text.trim() === '' ? [] : text.trim().split(/\s+/);
  return fields.map((f) => {
    if (!/^\d+$/.test(f)) throw new Error(`expected nanosecond counters, got "${f}"`);
    return Number(BigInt(f) / 1000n);
  });
}

/** User and system time of the cgroup in µs, with the per-CPU split where the kernel has it. */
export function readCpuacct(fs: CgroupFs, dir: string): { userUs: number; systemUs: number; perCpu: PerCpuUsage[] | null } {
  const userText = fs.readIfExists(`${dir}/cpuacct.usage_percpu_user`);
  const sysText = fs.readIfExists(`${dir}/cpuacct.usage_percpu_sys`);
  if (userText !== null && sysText !== null) {
    const user = nsListToUs(userText);
    const sys = nsListToUs(sysText);
    const perCpu = user.map((userUs, cpu) => ({ cpu, userUs, systemUs: sys[cpu] ?? 0 }));
    // Totals from the exact nanosecond sums, so they don't lose the per-CPU rounding.
    const sum = (t: string): number => Number(t.trim().split(/\s+/).filter(Boolean).reduce((a, f) => a + BigInt(f), 0n) / 1000n);
    return { userUs: sum(userText), systemUs: sum(sysText), perCpu };
  }
  const stat = parseFlatKeyed(fs.read(`${dir}/cpuacct.stat`));
  const tickUs = 1_000_000 / USER_HZ;
  return { userUs: (stat.get('user') ?? 0) * tickUs, systemUs: (stat.get('system') ?? 0) * tickUs, perCpu: null };
}
