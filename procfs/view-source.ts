// What a cgroup's views are rendered from: its read-only figures, a load sampler over its tasks,
// and its view memory. `sandbox run` builds one for its own sandbox, `sandbox procfs serve` one per
// registered container.
import type { CgroupManager } from '../supervisor/cgroup/types.js';
import type { SandboxViewSource } from './fs.js';
import { LoadSampler } from './load-sampler.js';
import { sampleTasks } from './tasks.js';
import { createViewMemory } from './views/index.js';

/** The read-only part of a CgroupManager that views need. */
export type ViewCgroup = Pick<CgroupManager, 'memoryStats' | 'cpuStats' | 'ioStats' | 'pressureStats' | 'limitsKey' | 'threads'>;

/** A view source for a cgroup with its load sampler started (uptime counts from startedAtMs), and how to stop the sampler. */
export function cgroupViewSource(cgroup: ViewCgroup, startedAtMs: number): { source: SandboxViewSource; stop(): void } {
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
