// v1 cpuacct controller (Documentation/admin-guide/cgroup-v1/cpuacct.rst): CPU time of a cgroup
// and its descendants. cpuacct.usage_percpu holds one exact nanosecond counter per possible CPU
// (charged at every scheduler update); cpuacct.usage_percpu_user / _sys (kernel >= 4.7) split it,
// but from the tick-sampled kcpustat (kernel/sched/cpuacct.c cpuacct_cpuusage_read(): user =
// cpustat[CPUTIME_USER] + [CPUTIME_NICE]), which a throttled task inflates: CFS bandwidth throttles
// it at a tick, so it is running at every tick that ends its quota (user + sys outgrow
// cpuacct.usage, as the captured busy-256M tree shows; docs/code-measurements.md). So each CPU's
// exact total is split in the ratio of its sampled user and
// system time, as the kernel does for a task's utime/stime (kernel/sched/cputime.c cputime_adjust()).
// Without the per-CPU files (kernel < 4.7) cpuacct.stat's USER_HZ ticks are all there is.
import type { CgroupFs } from '../fs.js';
import { parseFlatKeyed } from '../keyed.js';
import type { PerCpuUsage } from '../types.js';

/** Linux USER_HZ: the unit of cpuacct.stat (always 100 on every architecture's ABI). */
const USER_HZ = 100;

/** Nanosecond counters (space-separated, may exceed 2^53), exactly. */
function nsList(text: string): bigint[] {
  const fields = text.trim() === '' ? [] : text.trim().split(/\s+/);
  return fields.map((f) => {
    if (!/^\d+$/.test(f)) throw new Error(`expected nanosecond counters, got "${f}"`);
    return BigInt(f);
  });
}

/**
 * Split an exact total (ns) in the ratio user : sys of the sampled figures; all of it is user time
 * when nothing was sampled (a cgroup that ran less than a tick).
 */
function splitExact(totalNs: bigint, sampledUserNs: bigint, sampledSysNs: bigint): { userNs: bigint; sysNs: bigint } {
  const sampled = sampledUserNs + sampledSysNs;
  if (sampled === 0n) return { userNs: totalNs, sysNs: 0n };
  const userNs = (totalNs * sampledUserNs) / sampled;
  return { userNs, sysNs: totalNs - userNs };
}

/** Nanoseconds to whole µs such that user + system is the truncated total (no µs lost to rounding twice). */
function toUs(userNs: bigint, sysNs: bigint): { userUs: number; systemUs: number } {
  const userUs = Number(userNs / 1000n);
  return { userUs, systemUs: Number((userNs + sysNs) / 1000n) - userUs };
}

/** User and system time of the cgroup in µs, with the per-CPU split where the kernel has it. */
export function readCpuacct(
  fs: CgroupFs,
  dir: string,
): { userUs: number; systemUs: number; perCpu: PerCpuUsage[] | null } {
  const userText = fs.readIfExists(`${dir}/cpuacct.usage_percpu_user`);
  const sysText = fs.readIfExists(`${dir}/cpuacct.usage_percpu_sys`);
  if (userText !== null && sysText !== null) {
    const user = nsList(userText);
    const sys = nsList(sysText);
    const exact = nsList(fs.read(`${dir}/cpuacct.usage_percpu`));
    let userNs = 0n;
    let sysNs = 0n;
    const perCpu = exact.map((totalNs, cpu) => {
      const split = splitExact(totalNs, user[cpu] ?? 0n, sys[cpu] ?? 0n);
      userNs += split.userNs;
      sysNs += split.sysNs;
      return { cpu, ...toUs(split.userNs, split.sysNs) };
    });
    // Totals from the exact nanosecond sums, so they don't lose the per-CPU rounding.
    return { ...toUs(userNs, sysNs), perCpu };
  }
  const stat = parseFlatKeyed(fs.read(`${dir}/cpuacct.stat`));
  const tickUs = 1_000_000 / USER_HZ;
  return { userUs: (stat.get('user') ?? 0) * tickUs, systemUs: (stat.get('system') ?? 0) * tickUs, perCpu: null };
}
