// What a set of processes costs the host, read from /proc: memory as RSS and PSS
// (/proc/PID/smaps_rollup: PSS divides each shared page by the processes mapping it, so a sum of
// PSS over processes counts every page once) and CPU time in ns with the number of times their
// threads were scheduled (/proc/PID/task/TID/schedstat: ns on CPU, ns waiting, timeslices; proc(5)),
// which counts wake-ups without the 4 ms ticks of utime/stime.
import { readdirSync, readFileSync } from 'node:fs';

/** Memory of one or more processes in KiB. */
export interface MemoryKiB {
  rss: number;
  pss: number;
}

/** RSS and PSS of `pid` in KiB; zero for a process gone. */
export function memoryOf(pid: number): MemoryKiB {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
  } catch {
    return { rss: 0, pss: 0 };
  }
  const field = (name: string): number => Number(new RegExp(`^${name}:\\s+(\\d+) kB$`, 'm').exec(text)?.[1] ?? 0);
  return { rss: field('Rss'), pss: field('Pss') };
}

/** Summed RSS and PSS of `pids` in KiB. */
export function memoryOfAll(pids: readonly number[]): MemoryKiB {
  const sum = { rss: 0, pss: 0 };
  for (const pid of pids) {
    const m = memoryOf(pid);
    sum.rss += m.rss;
    sum.pss += m.pss;
  }
  return sum;
}

/** CPU time (ns) and timeslices of every thread of some processes at one moment, per thread id. */
export type CpuSnapshot = Map<number, { ns: number; slices: number }>;

/** Snapshot the threads of `pids`. */
export function cpuSnapshot(pids: readonly number[]): CpuSnapshot {
  const out: CpuSnapshot = new Map();
  for (const pid of pids) {
    let tids: string[];
    try {
      tids = readdirSync(`/proc/${pid}/task`);
    } catch {
      continue;
    }
    for (const tid of tids) {
      try {
        const [ns, , slices] = readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').trim().split(' ').map(Number);
        out.set(Number(tid), { ns: ns!, slices: slices! });
      } catch {
        // the thread ended
      }
    }
  }
  return out;
}

/** CPU ms and wake-ups between two snapshots, over the threads present in both. */
export function cpuBetween(a: CpuSnapshot, b: CpuSnapshot): { ms: number; wakeups: number } {
  let ns = 0;
  let wakeups = 0;
  for (const [tid, end] of b) {
    const start = a.get(tid);
    if (!start) continue;
    ns += end.ns - start.ns;
    wakeups += end.slices - start.slices;
  }
  return { ms: ns / 1e6, wakeups };
}

/** Child pids of `pid` (its main thread's children file, proc(5)). */
export function childrenOf(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

/** The command name of `pid`, or null once gone. */
export function commOf(pid: number): string | null {
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  } catch {
    return null;
  }
}
