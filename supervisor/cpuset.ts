// Which host CPUs a sandbox gets. nproc and Go read sched_getaffinity, which on cgroup v1 follows
// cpuset.cpus, so the cpuset must hold as many CPUs as the views show (n = ceil(quota/period)).
// Choose the least-loaded CPUs, never always CPU 0: first those pinned by the fewest live
// sandboxes, then those that were busy least over a short sample of /proc/stat.
import { readFileSync } from 'node:fs';
import { parseStat } from '../procfs/parse/index.js';
import { listStates, supervisorAlive } from './state.js';

/** Busy clock ticks per host CPU: user+nice+system+irq+softirq+steal of each cpuN line (not idle, iowait). */
export function busyTicksPerCpu(statText: string): Map<number, number> {
  const busy = new Map<number, number>();
  for (const { cpu, times: t } of parseStat(statText).perCpu)
    busy.set(cpu, t.user + t.nice + t.system + t.irq + t.softirq + t.steal);
  return busy;
}

/** Pure choice: `count` CPUs of `available`, fewest sandbox pins first, then least busy, then lowest id. */
export function chooseCpus(
  available: readonly number[],
  count: number,
  pins: ReadonlyMap<number, number>,
  busy: ReadonlyMap<number, number>,
): number[] {
  const ranked = [...available].sort(
    (a, b) => (pins.get(a) ?? 0) - (pins.get(b) ?? 0) || (busy.get(a) ?? 0) - (busy.get(b) ?? 0) || a - b,
  );
  return ranked.slice(0, Math.max(1, Math.min(count, ranked.length))).sort((a, b) => a - b);
}

/**
 * A running measurement of per-CPU busy ticks: constructed early, finish() when the choice is due.
 * /proc/stat is read synchronously: procfs formats it in memory, while a thread-pool read would
 * queue behind the launch's cgroup and FUSE work, all of it on the launch path
 * (docs/code-measurements.md).
 */
export class CpuLoadSample {
  private readonly first = readProcStat();

  /** Busy ticks per CPU since construction (empty when /proc/stat can't be read). */
  async finish(): Promise<Map<number, number>> {
    const [first, second] = [this.first, readProcStat()];
    if (!first || !second) return new Map();
    const before = busyTicksPerCpu(first);
    const after = busyTicksPerCpu(second);
    const delta = new Map<number, number>();
    for (const [cpu, ticks] of after) delta.set(cpu, ticks - (before.get(cpu) ?? ticks));
    return delta;
  }
}

/** /proc/stat's text, or '' when it can't be read. */
function readProcStat(): string {
  try {
    return readFileSync('/proc/stat', 'utf8');
  } catch {
    return '';
  }
}

/** How many live sandboxes are pinned to each CPU (from their state dirs). */
export async function pinsOfLiveSandboxes(): Promise<Map<number, number>> {
  const pins = new Map<number, number>();
  for (const state of await listStates()) {
    if (!(await supervisorAlive(state))) continue;
    for (const cpu of state.cpus) pins.set(cpu, (pins.get(cpu) ?? 0) + 1);
  }
  return pins;
}
