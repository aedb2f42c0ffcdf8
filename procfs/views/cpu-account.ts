// The cpu counters /proc/stat shows for a sandbox, per visible CPU, in microseconds. The kernel's
// counters (fs/proc/stat.c, from kcpustat) only ever grow; `top` and `vmstat` compute busy % as
// Δ(user+system) / Δ(all fields) between two reads. So:
// - user/system come from the cgroup (its totals), split over the n visible CPUs by where the cgroup
//   actually ran (v1 cpuacct.usage_percpu_*, host CPUs folded onto visible ones), else evenly;
// - idle grows so that each visible CPU's total advances with wall time × share, where share =
//   (quota/period)/n: a workload using its whole quota then reads ~100% busy;
// - every counter is carried from render to render and only ever increases, and it starts from the
//   cgroup's real usage on the first render (lxcfs --enable-cfs starts at 0).
import type { CpuStats } from '../../supervisor/cgroup/index.js';
import { sharePerCpu, visibleCpuCount } from './cpus.js';

/** Counters of one visible CPU in microseconds (fractions kept so nothing is lost to rounding). */
export interface CpuCounters {
  userUs: number;
  systemUs: number;
  idleUs: number;
}

/** What /proc/stat served last, plus the cgroup figures it was computed from. */
export interface CpuAccount {
  /** One entry per visible CPU. */
  cpus: CpuCounters[];
  /** Highest cgroup totals seen (user, system, µs): a lower reading later is ignored. */
  seenUserUs: number;
  seenSystemUs: number;
  /** The per-host-CPU figures of the last render (v1), keyed by host CPU id. */
  seenPerCpu: Map<number, { userUs: number; systemUs: number }>;
}

/** Sum a field over all visible CPUs. */
export function totalOf(account: CpuAccount, field: keyof CpuCounters): number {
  let sum = 0;
  for (const c of account.cpus) sum += c[field];
  return sum;
}

/** Resize to n visible CPUs (the quota changed): keep the aggregate, spread it evenly. */
function resize(cpus: CpuCounters[], n: number): CpuCounters[] {
  if (cpus.length === n) return cpus.map((c) => ({ ...c }));
  const sum = { userUs: 0, systemUs: 0, idleUs: 0 };
  for (const c of cpus) {
    sum.userUs += c.userUs;
    sum.systemUs += c.systemUs;
    sum.idleUs += c.idleUs;
  }
  return Array.from({ length: n }, () => ({
    userUs: sum.userUs / n,
    systemUs: sum.systemUs / n,
    idleUs: sum.idleUs / n,
  }));
}

/** Where host CPU `hostCpu` folds: its position in the cpuset (else its id) modulo n. */
function foldIndex(hostCpu: number, cpuset: readonly number[], n: number): number {
  const pos = cpuset.indexOf(hostCpu);
  return (pos >= 0 ? pos : hostCpu) % n;
}

/** Add `delta` to one field across CPUs in proportion to `weights` (evenly when they are all 0). */
function spread(cpus: CpuCounters[], field: keyof CpuCounters, delta: number, weights: number[]): void {
  if (delta <= 0) return;
  const sum = weights.reduce((a, b) => a + b, 0);
  cpus.forEach((c, i) => {
    c[field] += sum > 0 ? (delta * (weights[i] ?? 0)) / sum : delta / cpus.length;
  });
}

/**
 * The counters to serve now, from the previous account (null on the first render), the cgroup's CPU
 * figures and the time since the sandbox started. Pure: returns a new account.
 */
export function advanceCpuAccount(prev: CpuAccount | null, cpu: CpuStats, elapsedUs: number): CpuAccount {
  const n = visibleCpuCount(cpu);
  const cpus = resize(prev?.cpus ?? [], n);
  const prevPer = prev?.seenPerCpu ?? new Map<number, { userUs: number; systemUs: number }>();

  // Busy time: only the growth of the cgroup's totals since last time, split by where it ran.
  const seenUserUs = Math.max(prev?.seenUserUs ?? 0, cpu.userUs);
  const seenSystemUs = Math.max(prev?.seenSystemUs ?? 0, cpu.systemUs);
  const userWeights = new Array<number>(n).fill(0);
  const systemWeights = new Array<number>(n).fill(0);
  const seenPerCpu = new Map<number, { userUs: number; systemUs: number }>();
  for (const p of cpu.perCpu ?? []) {
    const before = prevPer.get(p.cpu);
    const i = foldIndex(p.cpu, cpu.cpus, n);
    userWeights[i] = (userWeights[i] ?? 0) + Math.max(0, p.userUs - (before?.userUs ?? 0));
    systemWeights[i] = (systemWeights[i] ?? 0) + Math.max(0, p.systemUs - (before?.systemUs ?? 0));
    seenPerCpu.set(p.cpu, { userUs: p.userUs, systemUs: p.systemUs });
  }
  spread(cpus, 'userUs', seenUserUs - (prev?.seenUserUs ?? 0), userWeights);
  spread(cpus, 'systemUs', seenSystemUs - (prev?.seenSystemUs ?? 0), systemWeights);

  // Idle: the aggregate grows to capacity − busy (never shrinks); each CPU gets the part of the
  // growth its own room (capacity − busy − idle so far) calls for, so no CPU's total passes its
  // capacity unless its busy time alone does.
  const capacityUs = Math.max(0, elapsedUs) * sharePerCpu(cpu);
  let busy = 0;
  let idle = 0;
  for (const c of cpus) {
    busy += c.userUs + c.systemUs;
    idle += c.idleUs;
  }
  const growth = n * capacityUs - busy - idle;
  if (growth > 0) {
    const room = cpus.map((c) => Math.max(0, capacityUs - c.userUs - c.systemUs - c.idleUs));
    spread(cpus, 'idleUs', growth, room);
  }
  return { cpus, seenUserUs, seenSystemUs, seenPerCpu };
}
