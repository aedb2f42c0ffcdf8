// The view source of a foreign cgroup (a container's): what the ViewServer renders from, plus the
// load sampler that must be stopped when the container is unregistered.
import { readFileSync } from 'node:fs';
import { LoadSampler } from '../load-sampler.js';
import { sampleTasks } from '../tasks.js';
import { createViewMemory } from '../views/index.js';
import type { SandboxViewSource } from '../fs.js';
import type { ReadOnlyCgroup } from './foreign-cgroup.js';

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

/** A started view source for a cgroup, and how to stop its sampler. */
export function foreignViewSource(cgroup: ReadOnlyCgroup, startedAtMs: number): { source: SandboxViewSource; stop(): void } {
  const tasks = () => sampleTasks(cgroup.threads());
  const sampler = new LoadSampler(tasks);
  sampler.start();
  return {
    source: {
      memoryStats: () => cgroup.memoryStats(),
      cpuStats: () => cgroup.cpuStats(),
      ioStats: () => cgroup.ioStats(),
      pressureStats: (resource) => cgroup.pressureStats(resource),
      load: () => sampler.averages(),
      tasks,
      limitsKey: (part) => cgroup.limitsKey(part),
      memory: createViewMemory(startedAtMs),
    },
    stop: () => sampler.stop(),
  };
}
