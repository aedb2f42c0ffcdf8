// CPU counters of a cgroup, read from the host side: usage, periods, throttling. v1 splits them over
// two hierarchies (cpuacct.usage in cpuacct, cpu.stat in cpu: Documentation/scheduler/sched-bwc.rst);
// v2 has them all in cpu.stat (usage_usec, nr_periods, nr_throttled, throttled_usec:
// Documentation/admin-guide/cgroup-v2.rst).
import { existsSync, readFileSync } from 'node:fs';

/** Cumulative counters of one cgroup at one moment (host CLOCK_MONOTONIC in ns). */
export interface CpuCounters {
  atNs: number;
  usageNs: number;
  nrPeriods: number;
  nrThrottled: number;
  throttledNs: number;
}

/** Where a cgroup's CPU counters live. */
export interface CounterFiles {
  /** v1 cpuacct.usage (ns), or null on v2. */
  usage: string | null;
  /** cpu.stat */
  stat: string;
}

/** Find the counter files among a cgroup's directories (one per hierarchy on v1, one on v2). */
export function counterFiles(dirs: readonly string[]): CounterFiles {
  const usageDir = dirs.find((d) => existsSync(`${d}/cpuacct.usage`));
  const statDir = dirs.find(
    (d) =>
      existsSync(`${d}/cpu.stat`) &&
      (usageDir !== undefined || readFileSync(`${d}/cpu.stat`, 'utf8').includes('usage_usec')),
  );
  if (!statDir) throw new Error(`no cpu.stat with usage among ${dirs.join(', ')}`);
  return { usage: usageDir ? `${usageDir}/cpuacct.usage` : null, stat: `${statDir}/cpu.stat` };
}

/** "key value" lines into a map (exact keys). */
function keyed(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    const [k, v] = line.split(' ');
    if (k && v !== undefined) out.set(k, Number(v));
  }
  return out;
}

/** Read the counters now. */
export function readCounters(files: CounterFiles): CpuCounters {
  const atNs = Number(process.hrtime.bigint());
  const stat = keyed(readFileSync(files.stat, 'utf8'));
  const v2 = files.usage === null;
  const usageNs = v2 ? (stat.get('usage_usec') ?? NaN) * 1000 : Number(readFileSync(files.usage!, 'utf8'));
  return {
    atNs,
    usageNs,
    nrPeriods: stat.get('nr_periods') ?? NaN,
    nrThrottled: stat.get('nr_throttled') ?? NaN,
    throttledNs: v2 ? (stat.get('throttled_usec') ?? NaN) * 1000 : (stat.get('throttled_time') ?? NaN),
  };
}
