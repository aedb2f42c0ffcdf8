// /proc/pressure/{cpu,memory,io} of a sandbox on cgroup v2: the sandbox cgroup's own
// <resource>.pressure, printed as kernel/sched/psi.c psi_show() prints both files:
//   "some avg10=%lu.%02lu avg60=%lu.%02lu avg300=%lu.%02lu total=%llu\n", then the same for "full".
// The cgroup's figures cover only its own tasks' stalls, where the host file counts every task.
import type { PressureLine, PressureStats } from '../../supervisor/cgroup/index.js';

/** One average in psi_show()'s "%lu.%02lu" (hundredths of a percent in). */
function percent(hundredths: number): string {
  return `${Math.floor(hundredths / 100)}.${String(hundredths % 100).padStart(2, '0')}`;
}

/** One "some"/"full" line. */
function line(kind: 'some' | 'full', p: PressureLine): string {
  return `${kind} avg10=${percent(p.avg10)} avg60=${percent(p.avg60)} avg300=${percent(p.avg300)} total=${p.totalUs}\n`;
}

/** Render a /proc/pressure file from the cgroup's figures. */
export function renderPressure(p: PressureStats): string {
  return line('some', p.some) + (p.full === null ? '' : line('full', p.full));
}
