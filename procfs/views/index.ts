// The registry of served files: which views exist, where each is bound inside a sandbox, which host
// file it starts from, and one entry point that renders any of them. Every renderer is pure (no I/O,
// no clock, no globals); the only state is the per-sandbox ViewMemory passed in.
import type {
  CgroupMode,
  CgroupReader,
  CpuAllotment,
  CpuStats,
  IoStats,
  MemoryStats,
  PressureResource,
  PressureStats,
} from '../../supervisor/cgroup/index.js';
import type { LoadAverages } from '../loadavg.js';
import type { TaskSample } from '../tasks.js';
import { renderCpuOnline } from './cpu-online.js';
import { renderCpuinfo } from './cpuinfo.js';
import { renderDiskstats } from './diskstats.js';
import { renderLoadavg } from './loadavg.js';
import { renderMeminfo } from './meminfo.js';
import { renderPressure } from './pressure.js';
import { renderStat } from './stat.js';
import { renderSwaps } from './swaps.js';
import { renderUptime } from './uptime.js';
import type { ViewMemory } from './state.js';

/** Per-sandbox state between renders, and its constructor (views/state.ts). */
export { createViewMemory, type ViewMemory } from './state.js';
/** Task counts of a sandbox (procfs/tasks.ts). */
export type { TaskSample } from '../tasks.js';

/** Names of the served files. */
export type ViewName =
  | 'meminfo'
  | 'cpuinfo'
  | 'stat'
  | 'uptime'
  | 'loadavg'
  | 'swaps'
  | 'cpu-online'
  | 'diskstats'
  | 'pressure-cpu'
  | 'pressure-memory'
  | 'pressure-io';

/** The part of a cgroup's figures a view is rendered from (one CgroupManager read each). */
type CgroupPart = 'memory' | 'cpu' | 'io' | 'pressure';

/** One served file. */
export interface ViewSpec {
  name: ViewName;
  /** Host file the view is rendered from (and served instead if rendering fails); null = none needed. */
  hostPath: string | null;
  /** Where it is bound inside the sandbox. */
  target: string;
  /** Which figures of the cgroup it is rendered from: only those are read on each open. */
  cgroup: CgroupPart | null;
  /** Whether it shows instantaneous task counts (running, blocked, threads, last pid), sampled per open. */
  liveTasks: boolean;
  /**
   * Bound only on cgroup v2 hosts whose kernel has PSI: the pressure views. A v1 cgroup has no
   * pressure files (kernel/cgroup/cgroup.c adds cgroup.pressure and <resource>.pressure to cgroup2
   * only), and serving the host's /proc/pressure as the sandbox's would be host figures under a
   * sandbox name; so on v1 they are not bound at all and /proc/pressure inside the sandbox stays
   * the kernel's own (host-wide) file, as it is outside the sandbox. Without PSI (psi=0, or
   * CONFIG_PSI off) there is no /proc/pressure to bind over, nor any cgroup file to read.
   */
  v2Only: boolean;
}

/**
 * The cgroup figures a render gets: at least the part its ViewSpec names (a full CgroupStats will do
 * for memory and cpu). cpuinfo and cpu/online print the CPU allotment only: they get no usage.
 */
export interface ViewStats {
  memory?: MemoryStats;
  cpu?: CpuStats | CpuAllotment;
  io?: IoStats;
  /** The PSI file of each resource read (a pressure view needs only its own). */
  pressure?: Partial<Record<PressureResource, PressureStats>>;
}

/** The PSI resource each pressure view shows. */
const PRESSURE_OF: Partial<Record<ViewName, PressureResource>> = {
  'pressure-cpu': 'cpu',
  'pressure-memory': 'memory',
  'pressure-io': 'io',
};

/** Every served file. */
export const VIEWS: readonly ViewSpec[] = Object.freeze([
  {
    name: 'meminfo',
    hostPath: '/proc/meminfo',
    target: '/proc/meminfo',
    cgroup: 'memory',
    liveTasks: false,
    v2Only: false,
  },
  {
    name: 'cpuinfo',
    hostPath: '/proc/cpuinfo',
    target: '/proc/cpuinfo',
    cgroup: 'cpu',
    liveTasks: false,
    v2Only: false,
  },
  { name: 'stat', hostPath: '/proc/stat', target: '/proc/stat', cgroup: 'cpu', liveTasks: true, v2Only: false },
  { name: 'uptime', hostPath: null, target: '/proc/uptime', cgroup: 'cpu', liveTasks: false, v2Only: false },
  { name: 'loadavg', hostPath: null, target: '/proc/loadavg', cgroup: null, liveTasks: true, v2Only: false },
  { name: 'swaps', hostPath: '/proc/swaps', target: '/proc/swaps', cgroup: 'memory', liveTasks: false, v2Only: false },
  {
    name: 'cpu-online',
    hostPath: null,
    target: '/sys/devices/system/cpu/online',
    cgroup: 'cpu',
    liveTasks: false,
    v2Only: false,
  },
  {
    name: 'diskstats',
    hostPath: '/proc/diskstats',
    target: '/proc/diskstats',
    cgroup: 'io',
    liveTasks: false,
    v2Only: false,
  },
  {
    name: 'pressure-cpu',
    hostPath: null,
    target: '/proc/pressure/cpu',
    cgroup: 'pressure',
    liveTasks: false,
    v2Only: true,
  },
  {
    name: 'pressure-memory',
    hostPath: null,
    target: '/proc/pressure/memory',
    cgroup: 'pressure',
    liveTasks: false,
    v2Only: true,
  },
  {
    name: 'pressure-io',
    hostPath: null,
    target: '/proc/pressure/io',
    cgroup: 'pressure',
    liveTasks: false,
    v2Only: true,
  },
] satisfies ViewSpec[]);

/**
 * The views to bind in a sandbox: all of them on cgroup v2 with PSI, else all but the v2Only ones
 * (see ViewSpec.v2Only). `psi`: /proc/pressure exists (the bind target) and the sandbox's cgroup has
 * cpu.pressure (cgroup_disable=pressure hides the cgroup files while /proc/pressure stays).
 */
export function viewsFor(mode: CgroupMode, psi: boolean): readonly ViewSpec[] {
  return mode === 'v2' && psi ? VIEWS : VIEWS.filter((v) => !v.v2Only);
}

/** Views that print the CPU allotment and no usage: their renders read no usage file. */
const ALLOTMENT_ONLY: readonly ViewName[] = ['cpuinfo', 'cpu-online'];

/**
 * Read the part of the cgroup's figures a view is rendered from, and nothing else (the reader's
 * figure methods only): never the OOM count or the throttling, which no view prints.
 */
export function readViewStats(
  source: Pick<CgroupReader, 'memoryStats' | 'cpuStats' | 'ioStats' | 'pressureStats'>,
  spec: ViewSpec,
): ViewStats {
  switch (spec.cgroup) {
    case 'memory':
      return { memory: source.memoryStats() };
    case 'cpu':
      return { cpu: ALLOTMENT_ONLY.includes(spec.name) ? source.cpuStats('allotment') : source.cpuStats() };
    case 'io':
      return { io: source.ioStats() };
    case 'pressure': {
      const resource = pressureResource(spec.name);
      return { pressure: { [resource]: source.pressureStats(resource) } };
    }
    case null:
      return {};
  }
}

/** The PSI resource a pressure view shows. */
function pressureResource(name: ViewName): PressureResource {
  const resource = PRESSURE_OF[name];
  if (resource === undefined) throw new Error(`view ${name} is not a pressure view`);
  return resource;
}

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
  const usage = (): CpuStats => {
    const figures = cpu();
    if (!('userUs' in figures)) throw new Error(`view ${name} was rendered without the cgroup's cpu usage`);
    return figures;
  };
  switch (name) {
    case 'meminfo':
      return renderMeminfo(hostText, mem());
    case 'cpuinfo':
      return renderCpuinfo(hostText, cpu());
    case 'stat':
      return renderStat(hostText, usage(), tasks, memory, nowMs);
    case 'uptime':
      return renderUptime(usage(), memory, nowMs);
    case 'loadavg':
      return renderLoadavg(load, tasks);
    case 'swaps':
      return renderSwaps(hostText, mem());
    case 'cpu-online':
      return renderCpuOnline(cpu());
    case 'diskstats':
      return renderDiskstats(hostText, need(stats.io, 'io', name));
    case 'pressure-cpu':
    case 'pressure-memory':
    case 'pressure-io':
      return renderPressure(need(stats.pressure?.[pressureResource(name)], 'pressure', name));
  }
}

/** A part of the cgroup figures a view needs, or an error naming it (the server then serves the host file). */
function need<T>(value: T | undefined, part: string, name: ViewName): T {
  if (value === undefined) throw new Error(`view ${name} was rendered without the cgroup's ${part} figures`);
  return value;
}
