// Parser of /proc/stat. Kernel: fs/proc/stat.c show_stat() prints "cpu  " (two spaces) then ten
// counters in USER_HZ ticks (user nice system idle iowait irq softirq steal guest guest_nice), one
// "cpuN" line per online CPU (N = the CPU's id), then "intr", "ctxt", "btime", "processes",
// "procs_running", "procs_blocked" and "softirq". Keys are matched exactly.

/** Field names of a cpu line, in the kernel's order. */
export const CPU_FIELDS = [
  'user',
  'nice',
  'system',
  'idle',
  'iowait',
  'irq',
  'softirq',
  'steal',
  'guest',
  'guest_nice',
] as const;

/** One field name of a cpu line. */
type CpuField = (typeof CPU_FIELDS)[number];

/** Counters of one cpu line in USER_HZ ticks; fields an older kernel doesn't print are 0. */
export type CpuTimes = Record<CpuField, number>;

/** One line of /proc/stat: its first word, the numbers after it, and the original text. */
interface StatLine {
  key: string;
  values: number[];
  raw: string;
}

/** /proc/stat as ordered lines plus the parsed cpu lines. */
export interface ProcStat {
  lines: StatLine[];
  /** The "cpu" summary line; null if absent. */
  cpu: CpuTimes | null;
  /** The "cpuN" lines, in file order. */
  perCpu: { cpu: number; times: CpuTimes }[];
}

/** Turn the numbers of a cpu line into named counters. */
function cpuTimes(values: readonly number[]): CpuTimes {
  const out = {} as CpuTimes;
  CPU_FIELDS.forEach((field, i) => {
    out[field] = values[i] ?? 0;
  });
  return out;
}

/** Parse /proc/stat text; throws on a line whose fields after the key are not integers. */
export function parseStat(text: string): ProcStat {
  const body = text.endsWith('\n') ? text.slice(0, -1) : text;
  const lines: StatLine[] = [];
  let cpu: CpuTimes | null = null;
  const perCpu: { cpu: number; times: CpuTimes }[] = [];
  if (body === '') return { lines, cpu, perCpu };
  for (const raw of body.split('\n')) {
    const fields = raw.trim().split(/\s+/);
    const key = fields[0] ?? '';
    const rest = fields.slice(1);
    if (!rest.every((f) => /^\d+$/.test(f))) throw new Error(`/proc/stat: malformed line "${raw}"`);
    const values = rest.map(Number);
    lines.push({ key, values, raw });
    if (key === 'cpu') cpu = cpuTimes(values);
    else {
      const m = /^cpu(\d+)$/.exec(key);
      if (m) perCpu.push({ cpu: Number(m[1]), times: cpuTimes(values) });
    }
  }
  return { lines, cpu, perCpu };
}

/** The single value of a line such as "ctxt", "btime" or "processes" (exact key), or undefined. */
export function statValue(stat: ProcStat, key: string): number | undefined {
  const line = stat.lines.find((l) => l.key === key);
  return line?.values[0];
}
