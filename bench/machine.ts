// The header of a run: the machine's facts and its load before and after (../shared/BENCH.md step 1).
import { existsSync, readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { gunzipSync } from 'node:zlib';

/** Load, CPU pressure and steal at one moment. */
export interface LoadSnapshot {
  loadavg: string;
  /** /proc/pressure/cpu "some avg10" (%), or null without PSI. */
  cpuPressureAvg10: number | null;
  /** Steal ticks of the "cpu" line of /proc/stat (field 8 of proc(5)). */
  stealTicks: number;
}

/** Facts that don't change during a run. */
export interface MachineFacts {
  kernel: string;
  hz: number | null;
  cgroupMode: 'v1 (hybrid)' | 'v1' | 'v2';
  cpus: number;
  cpuModel: string;
}

/** The kernel's CONFIG_HZ (the tick cpuacct moves in), from /proc/config.gz or the boot config. */
function kernelHz(kernel: string): number | null {
  let config = '';
  if (existsSync('/proc/config.gz')) config = gunzipSync(readFileSync('/proc/config.gz')).toString('utf8');
  else if (existsSync(`/boot/config-${kernel}`)) config = readFileSync(`/boot/config-${kernel}`, 'utf8');
  const m = /^CONFIG_HZ=(\d+)$/m.exec(config);
  return m ? Number(m[1]) : null;
}

/** Kernel, HZ, cgroup mode, CPUs. */
export function machineFacts(): MachineFacts {
  const kernel = readFileSync('/proc/sys/kernel/osrelease', 'utf8').trim();
  // cgroup v2 only: /sys/fs/cgroup is itself the cgroup2 mount and has cgroup.controllers.
  const mode = existsSync('/sys/fs/cgroup/cgroup.controllers')
    ? 'v2'
    : existsSync('/sys/fs/cgroup/unified')
      ? 'v1 (hybrid)'
      : 'v1';
  return { kernel, hz: kernelHz(kernel), cgroupMode: mode, cpus: cpus().length, cpuModel: cpus()[0]?.model ?? '' };
}

/** Load average, CPU pressure and steal now. */
export function loadSnapshot(): LoadSnapshot {
  const loadavg = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
  let cpuPressureAvg10: number | null = null;
  if (existsSync('/proc/pressure/cpu')) {
    // "some avg10=1.23 avg60=… total=…" (Documentation/accounting/psi.rst); exact key "avg10".
    const some = readFileSync('/proc/pressure/cpu', 'utf8')
      .split('\n')
      .find((l) => l.startsWith('some '));
    const field = some?.split(' ').find((f) => f.startsWith('avg10='));
    if (field) cpuPressureAvg10 = Number(field.slice('avg10='.length));
  }
  const cpuLine = readFileSync('/proc/stat', 'utf8')
    .split('\n')
    .find((l) => l.startsWith('cpu '));
  const stealTicks = Number(cpuLine?.trim().split(/\s+/)[8] ?? 0);
  return { loadavg, cpuPressureAvg10, stealTicks };
}

/** The header lines, with a warning when the machine is loaded (load > 0.3 or pressure > 5%). */
export function headerLines(facts: MachineFacts, before: LoadSnapshot, after?: LoadSnapshot): string[] {
  const snap = (s: LoadSnapshot) => `load ${s.loadavg}, CPU pressure avg10 ${s.cpuPressureAvg10 ?? 'n/a'}%`;
  const lines = [
    `kernel ${facts.kernel}, HZ ${facts.hz ?? 'unknown'}, cgroup ${facts.cgroupMode}, ${facts.cpus} CPUs (${facts.cpuModel})`,
    `before: ${snap(before)}`,
  ];
  if (after) lines.push(`after: ${snap(after)}, steal during the run ${after.stealTicks - before.stealTicks} ticks`);
  if (Number(before.loadavg.split(' ')[0]) > 0.3 || (before.cpuPressureAvg10 ?? 0) > 5) {
    lines.push(
      'warning: the machine is loaded (load > 0.3 or CPU pressure > 5%): absolute figures are noisy; compare ratios measured side by side',
    );
  }
  return lines;
}
