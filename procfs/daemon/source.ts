// Where a registered container's views count time from (their source itself: procfs/view-source.ts).
import { readFileSync } from 'node:fs';
import { USER_HZ } from '../views/stat.js';

/** The host's boot time in epoch ms, from /proc/stat's "btime" line (proc(5): boot time, in seconds since the Epoch). */
export function hostBootMs(procStat = readFileSync('/proc/stat', 'utf8')): number {
  for (const line of procStat.split('\n')) {
    const [key, value] = line.split(' ');
    if (key === 'btime' && value !== undefined && /^\d+$/.test(value)) return Number(value) * 1000;
  }
  throw new Error('/proc/stat: no btime line');
}

/**
 * When a container's init started, in epoch ms: its start time (/proc/<pid>/stat field 22, clock
 * ticks since the host's boot) after the host's boot. A registered container's uptime counts from
 * there, as lxcfs counts it from the reaper of the reader's pid namespace (procfs/reaper.ts). With
 * no time namespace, `ps` inside then prints wrong elapsed times, with lxcfs alike (deploy/README.md).
 */
export function containerStartMs(bootMs: number, initStartTicks: number): number {
  return bootMs + (initStartTicks * 1000) / USER_HZ;
}
