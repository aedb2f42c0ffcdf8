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
  /** Which figures of the cgroup it is rendered from: only those are read on each open. */
  cgroup: 'memory' | 'cpu' | null;
  /** Whether it shows instantaneous task counts (running, blocked, threads, last pid), sampled per open. */
  liveTasks: boolean;
}

/** The cgroup figures a render gets: at least the part its ViewSpec names (a full CgroupStats will do). */
export type ViewStats = Partial<Pick<CgroupStats, 'memory' | 'cpu'>>;

/** Every served file. */
export const VIEWS: readonly ViewSpec[] = Object.freeze([
  { name: 'meminfo', hostPath: '/proc/meminfo', target: '/proc/meminfo', cgroup: 'memory', liveTasks: false },
  { name: 'cpuinfo', hostPath: '/proc/cpuinfo', target: '/proc/cpuinfo', cgroup: 'cpu', liveTasks: false },
  { name: 'stat', hostPath: '/proc/stat', target: '/proc/stat', cgroup: 'cpu', liveTasks: true },
  { name: 'uptime', hostPath: null, target: '/proc/uptime', cgroup: 'cpu', liveTasks: false },
  { name: 'loadavg', hostPath: null, target: '/proc/loadavg', cgroup: null, liveTasks: true },
  { name: 'swaps', hostPath: '/proc/swaps', target: '/proc/swaps', cgroup: 'memory', liveTasks: false },
  { name: 'cpu-online', hostPath: null, target: '/sys/devices/system/cpu/online', cgroup: 'cpu', liveTasks: false },
] satisfies ViewSpec[]);

/** Render one view: `hostText` is the content of spec.hostPath ('' when null); may advance `memory`. */
export function renderView(
  name: ViewName,
  hostText: string,
  stats: ViewStats,
  load: LoadAverages,
  tasks: TaskSample,
  memory: ViewMemory,
  nowMs: number,
): string {
  const mem = () => need(stats.memory, 'memory', name);
  const cpu = () => need(stats.cpu, 'cpu', name);
  switch (name) {
    case 'meminfo':
      return renderMeminfo(hostText, mem());
    case 'cpuinfo':
      return renderCpuinfo(hostText, cpu());
    case 'stat':
      return renderStat(hostText, cpu(), tasks, memory, nowMs);
    case 'uptime':
      return renderUptime(cpu(), memory, nowMs);
    case 'loadavg':
      return renderLoadavg(load, tasks);
    case 'swaps':
      return renderSwaps(hostText, mem());
    case 'cpu-online':
      return renderCpuOnline(cpu());
  }
}

/** A part of the cgroup figures a view needs, or an error naming it (the server then serves the host file). */
function need<T>(value: T | undefined, part: string, name: ViewName): T {
  if (value === undefined) throw new Error(`view ${name} was rendered without the cgroup's ${part} figures`);
  return value;
}
