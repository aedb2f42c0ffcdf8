// /sys/devices/system/cpu/online of a sandbox: "0-(n−1)", or "0" when n = 1. The kernel prints
// the online mask with cpumap_print_to_pagebuf(true, …) ("%*pbl\n", drivers/base/cpu.c), which
// glibc's sysconf(_SC_NPROCESSORS_ONLN) parses.
import type { CpuAllotment } from '../../supervisor/cgroup/index.js';
import { visibleCpuCount } from './cpus.js';

/** Render /sys/devices/system/cpu/online. */
export function renderCpuOnline(cpu: CpuAllotment): string {
  const n = visibleCpuCount(cpu);
  return n === 1 ? '0\n' : `0-${n - 1}\n`;
}
