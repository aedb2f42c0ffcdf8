// The figures ps and stats show for one sandbox, from its cgroup's counters (CgroupReader.stats):
// CPU time (cpuacct / cpu.stat usage), the quota, memory use and limit, tasks, throttling, OOM kills.
import type { CgroupReader, CgroupStats } from '../cgroup/index.js';
import { formatBytes } from '../bytes.js';
import type { SandboxState } from '../state.js';

/** One sandbox's figures at one moment; every number is plain (bytes, µs, seconds, percent). */
export interface SandboxFigures {
  id: string;
  name: string | null;
  command: string[];
  /** Seconds since the supervisor started the sandbox. */
  uptimeSeconds: number;
  /** CPU time used by the sandbox, in µs, since it started. */
  cpuUsageUs: number;
  /** CPU use over the measured window, as a percent of one CPU (200 = two CPUs busy). */
  cpuPercentOfOneCpu: number;
  /** The same, as a percent of the quota (100 = using all of it); null without a quota. */
  cpuPercentOfQuota: number | null;
  /** The quota in CPUs (0.2 for 20%); null without one. */
  quotaCpus: number | null;
  /** Seconds over which the CPU percentages were measured. */
  cpuWindowSeconds: number;
  memoryBytes: number;
  /** Effective memory limit; null = none. */
  memoryLimitBytes: number | null;
  pids: number;
  pidsMax: number | null;
  /** Periods in which the quota ran out (cpu.stat nr_throttled), and the time spent throttled. */
  throttledPeriods: number;
  throttledUs: number;
  oomKills: number;
  /** --net: host, none, private, or sandbox:<id it joined>. */
  net: string;
  /** -p specs (--net private). */
  ports: string[];
  /** The user namespace: host ids of root inside and how many ("100000:100000:65536"), or "host" (--userns=host). */
  userns: string;
}

/** A reading of the counters that CPU percentages are computed between. */
export interface CpuReading {
  usageUs: number;
  atMs: number;
}

/** Total CPU time of a stats reading, µs. */
function cpuUsageUs(stats: CgroupStats): number {
  return stats.cpu.userUs + stats.cpu.systemUs;
}

/**
 * Figures from one stats reading. CPU percentages are over [since, now]: a previous reading (stats),
 * or, without one, the sandbox's whole life (as ps(1)'s %CPU is cputime / elapsed time).
 */
export function figuresOf(state: SandboxState, stats: CgroupStats, nowMs: number, since?: CpuReading): SandboxFigures {
  const usage = cpuUsageUs(stats);
  const from = since ?? { usageUs: 0, atMs: state.startedAtMs };
  const windowUs = Math.max(1, (nowMs - from.atMs) * 1000);
  const ofOne = (Math.max(0, usage - from.usageUs) / windowUs) * 100;
  const quotaCpus = stats.cpu.quotaUs === null ? null : stats.cpu.quotaUs / stats.cpu.periodUs;
  return {
    id: state.id,
    name: state.name ?? null,
    command: state.command,
    uptimeSeconds: Math.max(0, (nowMs - state.startedAtMs) / 1000),
    cpuUsageUs: usage,
    cpuPercentOfOneCpu: round1(ofOne),
    cpuPercentOfQuota: quotaCpus === null ? null : round1(ofOne / quotaCpus),
    quotaCpus,
    cpuWindowSeconds: windowUs / 1e6,
    memoryBytes: stats.memory.usageBytes,
    memoryLimitBytes: stats.memory.limitBytes,
    pids: stats.pids.current,
    pidsMax: stats.pids.max,
    throttledPeriods: stats.cpu.nrThrottled,
    throttledUs: stats.cpu.throttledUs,
    oomKills: stats.memory.oomKills,
    net: state.net ?? 'host',
    ports: state.publish ?? [],
    userns: state.userns ? `${state.userns.uid}:${state.userns.gid}:${state.userns.count}` : 'host',
  };
}

/** Read a sandbox's figures now (CPU since start, or since `since`). */
export async function readFigures(
  state: SandboxState,
  cgroup: CgroupReader,
  since?: CpuReading,
): Promise<{ figures: SandboxFigures; reading: CpuReading }> {
  const stats = cgroup.stats();
  const atMs = Date.now();
  return { figures: figuresOf(state, stats, atMs, since), reading: { usageUs: cpuUsageUs(stats), atMs } };
}

function round1(n: number): number {
  return Math.round(n * 10) / 10;
}

/** "3s", "4m12s", "2h05m", "3d04h". */
export function formatUptime(seconds: number): string {
  const s = Math.floor(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  if (s < 86400) return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
  return `${Math.floor(s / 86400)}d${String(Math.floor((s % 86400) / 3600)).padStart(2, '0')}h`;
}

/** "12.5 MiB / 256 MiB" ("/ -" without a limit). */
export function formatMemory(f: SandboxFigures): string {
  return `${formatBytes(f.memoryBytes)} / ${f.memoryLimitBytes === null ? '-' : formatBytes(f.memoryLimitBytes)}`;
}

/** A command line shortened to `width` characters. */
export function formatCommand(command: readonly string[], width = 24): string {
  const text = command.join(' ');
  return text.length <= width ? text : `${text.slice(0, width - 1)}…`;
}

/** Left-aligned columns separated by two spaces (the last column is not padded). */
export function formatTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]): string =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)].join('\n') + '\n';
}

/** "12.3%" or "-" when there is no figure. */
export function formatPercent(p: number | null): string {
  return p === null ? '-' : `${p.toFixed(1)}%`;
}
