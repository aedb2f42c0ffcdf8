// /proc/uptime of a sandbox, formatted as fs/proc/uptime.c uptime_proc_show() does:
// "%lu.%02lu %lu.%02lu\n", hundredths truncated. The first field is the time since the sandbox
// started (what its time namespace's boottime offset gives the kernel's own file); the second is
// idle time summed over the n visible CPUs, uptime × n − the cgroup's busy time, which the time
// namespace does not virtualize. Neither field ever runs backwards or goes below 0.
import type { CpuStats } from '../../supervisor/cgroup/index.js';
import { visibleCpuCount } from './cpus.js';
import { elapsedMs, type ViewMemory } from './state.js';

/** Seconds as "%lu.%02lu" with the hundredths truncated, like the kernel (tv_nsec / (NSEC_PER_SEC / 100)). */
export function formatSeconds(sec: number): string {
  const hundredths = Math.floor(Math.max(0, sec) * 100 + 1e-6);
  return `${Math.floor(hundredths / 100)}.${String(hundredths % 100).padStart(2, '0')}`;
}

/** Render /proc/uptime; advances memory.uptimeIdleSec. */
export function renderUptime(cpu: CpuStats, memory: ViewMemory, nowMs: number): string {
  const uptimeSec = elapsedMs(memory, nowMs) / 1000;
  const busySec = (cpu.userUs + cpu.systemUs) / 1e6;
  const idleSec = Math.max(memory.uptimeIdleSec, uptimeSec * visibleCpuCount(cpu) - busySec, 0);
  memory.uptimeIdleSec = idleSec;
  return `${formatSeconds(uptimeSec)} ${formatSeconds(idleSec)}\n`;
}
