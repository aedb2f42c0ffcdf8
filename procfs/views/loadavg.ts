// /proc/loadavg of a sandbox, formatted as fs/proc/loadavg.c loadavg_proc_show():
// "%lu.%02lu %lu.%02lu %lu.%02lu %u/%d %d\n": the sandbox's own 1/5/15-minute averages
// (procfs/loadavg.ts, the kernel's calc_load), running / total threads of the sandbox, and the last
// pid of its pid namespace (the kernel prints idr_get_cursor() − 1 of the reader's namespace).
import { formatLoad, type LoadAverages } from '../loadavg.js';
import type { TaskSample } from '../tasks.js';

/** Render /proc/loadavg. */
export function renderLoadavg(load: LoadAverages, tasks: TaskSample): string {
  // The reader runs inside the sandbox, and the kernel's nr_running() would count it.
  const running = Math.max(1, tasks.running);
  const threads = Math.max(running, tasks.threads);
  return `${formatLoad(load.load1)} ${formatLoad(load.load5)} ${formatLoad(load.load15)} ${running}/${threads} ${tasks.lastPid}\n`;
}
