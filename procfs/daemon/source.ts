// Where a container's views count time from (their source itself: procfs/view-source.ts).
import { readFileSync } from 'node:fs';

/**
 * The host's boot time in epoch ms, from /proc/stat's "btime" line (proc(5): boot time, in seconds
 * since the Epoch). A container has no time namespace of ours, so its processes' start times
 * (/proc/<pid>/stat field 22) count from the host's boot: /proc/uptime and btime must too, or `ps`
 * prints absurd elapsed times. So uptime inside a container is the host's.
 */
export function hostBootMs(procStat = readFileSync('/proc/stat', 'utf8')): number {
  for (const line of procStat.split('\n')) {
    const [key, value] = line.split(' ');
    if (key === 'btime' && value !== undefined && /^\d+$/.test(value)) return Number(value) * 1000;
  }
  throw new Error('/proc/stat: no btime line');
}
