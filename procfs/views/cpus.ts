// How many CPUs a sandbox shows, and how much of each it owns. "Visible CPUs" n = min(ceil(quota /
// period), CPUs in the cpuset); with no quota, the cpuset's CPUs (see /work/shared/VIEWS.md). The
// quota is CFS bandwidth (kernel/sched/fair.c: quota µs of runtime per period µs, over all CPUs).
import type { CpuAllotment } from '../../supervisor/cgroup/index.js';

/** Visible CPUs n (at least 1; an empty cpuset counts as "unknown" and only the quota bounds n). */
export function visibleCpuCount(cpu: CpuAllotment): number {
  const cpusetCount = cpu.cpus.length;
  const byQuota = cpu.quotaUs !== null && cpu.periodUs > 0 ? Math.ceil(cpu.quotaUs / cpu.periodUs) : Infinity;
  const n = Math.min(byQuota, cpusetCount > 0 ? cpusetCount : Infinity);
  return Number.isFinite(n) ? Math.max(1, n) : 1;
}

/** Share of one visible CPU the sandbox may use: (quota/period)/n capped at 1; 1 without a quota. */
export function sharePerCpu(cpu: CpuAllotment): number {
  const n = visibleCpuCount(cpu);
  if (cpu.quotaUs === null || cpu.periodUs <= 0) return 1;
  return Math.min(1, cpu.quotaUs / cpu.periodUs / n);
}

/** The host CPU ids shown, in order: the first n of the cpuset. */
export function visibleHostCpus(cpu: CpuAllotment): number[] {
  return cpu.cpus.slice(0, visibleCpuCount(cpu));
}
