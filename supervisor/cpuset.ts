// Which host CPUs a sandbox gets. nproc and Go read sched_getaffinity, which on cgroup v1 follows
// cpuset.cpus, so the cpuset must hold as many CPUs as the views show (n = ceil(quota/period)).
// Choose the least-loaded CPUs, never always CPU 0: first those pinned by the fewest live
// sandboxes, then those that were busy least over a short sample of /proc/stat.
import { readFile } from 'node:fs/promises';
import { listStates, supervisorAlive } from './state.js';

/** Busy clock ticks per host CPU over a window: user+nice+system+irq+softirq+steal of each cpuN line. */
export function busyTicksPerCpu(statText: string): Map<number, number> {
  const busy = new Map<number, number>();
  for (const line of statText.split('\n')) {
    const [key, ...fields] = line.trim().split(/\s+/);
    if (!key || !/^cpu\d+$/.test(key)) continue;
    // fs/proc/stat.c: user nice system idle iowait irq softirq steal guest guest_nice
    const [user, nice, system, , , irq, softirq, steal] = fields.map(Number);
    busy.set(Number(key.slice(3)), (user ?? 0) + (nice ?? 0) + (system ?? 0) + (irq ?? 0) + (softirq ?? 0) + (steal ?? 0));
  }
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

/** A running measurement of per-CPU busy ticks: start() early, finish() when the choice is due. */
export class CpuLoadSample {
  private readonly first = readFile('/proc/stat', 'utf8').catch(() => '');

  /** Busy ticks per CPU since construction (empty when /proc/stat can't be read). */
  async finish(): Promise<Map<number, number>> {
    const before = busyTicksPerCpu(await this.first);
    const after = busyTicksPerCpu(await readFile('/proc/stat', 'utf8').catch(() => ''));
    const delta = new Map<number, number>();
    for (const [cpu, ticks] of after) delta.set(cpu, ticks - (before.get(cpu) ?? ticks));
    return delta;
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
