// The registry of served files: which views exist, where each is bound inside a sandbox, which host
// file it starts from, and one entry point that renders any of them. Every renderer is pure (no I/O,
// no clock, no globals); the only state is the per-sandbox ViewMemory passed in.
import type { CgroupStats } from '../../supervisor/cgroup/types.js';
import type { LoadAverages } from '../loadavg.js';
import type { TaskSample } from '../tasks.js';
import { renderCpuOnline } from './cpu-online.js';
import { renderCpuinfo } from './cpuinfo.js';
import { renderLoadavg } from './loadavg.js';
import { renderMeminfo } from './meminfo.js';
import { renderStat } from './stat.js';
import { renderSwaps } from './swaps.js';
import { renderUptime } from './uptime.js';
import type { ViewMemory } from './state.js';

/** Per-sandbox state between renders, and its constructor (views/state.ts). */
export { createViewMemory, type ViewMemory } from './state.js';
/** Task counts of a sandbox (procfs/tasks.ts). */
export type { TaskSample } from '../tasks.js';

/** Names of the served files. */
export type ViewName = 'meminfo' | 'cpuinfo' | 'stat' | 'uptime' | 'loadavg' | 'swaps' | 'cpu-online';

/** One served file. */
export interface ViewSpec {
  name: ViewName;
  /** Host file the view is rendered from (and served instead if rendering fails); null = none needed. */
  hostPath: string | null;
  /** Where it is bound inside the sandbox. */
  target: string;
  /** Whether it shows instantaneous task counts (running, blocked, threads, last pid), sampled per open. */
  liveTasks: boolean;
}

/** Every served file. */
export const VIEWS: readonly ViewSpec[] = Object.freeze([
  { name: 'meminfo', hostPath: '/proc/meminfo', target: '/proc/meminfo', liveTasks: false },
  { name: 'cpuinfo', hostPath: '/proc/cpuinfo', target: '/proc/cpuinfo', liveTasks: false },
  { name: 'stat', hostPath: '/proc/stat', target: '/proc/stat', liveTasks: true },
  { name: 'uptime', hostPath: null, target: '/proc/uptime', liveTasks: false },
  { name: 'loadavg', hostPath: null, target: '/proc/loadavg', liveTasks: true },
  { name: 'swaps', hostPath: '/proc/swaps', target: '/proc/swaps', liveTasks: false },
  { name: 'cpu-online', hostPath: null, target: '/sys/devices/system/cpu/online', liveTasks: false },
] satisfies ViewSpec[]);

/** Render one view: `hostText` is the content of spec.hostPath ('' when null); may advance `memory`. */
export function renderView(
  name: ViewName,
  hostText: string,
  stats: CgroupStats,
  load: LoadAverages,
  tasks: TaskSample,
  memory: ViewMemory,
  nowMs: number,
): string {
  switch (name) {
    case 'meminfo':
      return renderMeminfo(hostText, stats.memory);
    case 'cpuinfo':
      return renderCpuinfo(hostText, stats.cpu);
    case 'stat':
      return renderStat(hostText, stats.cpu, tasks, memory, nowMs);
    case 'uptime':
      return renderUptime(stats.cpu, memory, nowMs);
    case 'loadavg':
      return renderLoadavg(load, tasks);
    case 'swaps':
      return renderSwaps(hostText, stats.memory);
    case 'cpu-online':
      return renderCpuOnline(stats.cpu);
  }
}
