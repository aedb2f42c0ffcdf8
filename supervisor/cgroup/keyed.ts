// Pure parsers of the flat cgroupfs file formats (Documentation/admin-guide/cgroup-v2.rst,
// "Conventions": "flat keyed" files such as memory.stat, cpu.stat, memory.events, and single
// values where "max" means no limit). Keys are matched exactly, never by prefix or substring:
// "file" must not match "file_mapped".

/** A line as the kernel prints a flat keyed one: one key, one space, one integer (parseFlatKeyed's fast path). */
const PLAIN_LINE = /^(\S+) (-?\d+)$/;

/** Parse "key value" lines (memory.stat, cpu.stat, memory.oom_control…) into exact-key integers; non-numeric values are skipped. */
export function parseFlatKeyed(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    // The views parse memory.stat on every render: a plain line needs one match, not trim + split + test.
    const plain = PLAIN_LINE.exec(line);
    if (plain) {
      out.set(plain[1]!, Number(plain[2]));
      continue;
    }
    const fields = line.trim().split(/\s+/);
    if (fields.length !== 2) continue;
    const [key, value] = fields as [string, string];
    if (!/^-?\d+$/.test(value)) continue;
    out.set(key, Number(value));
  }
  return out;
}

/** A single-value file that may read "max" (v2 memory.max, pids.max): the number, or null for "max". */
export function parseMaxOrInt(text: string): number | null {
  const value = text.trim();
  if (value === 'max') return null;
  if (!/^\d+$/.test(value)) throw new Error(`expected an integer or "max", got "${value}"`);
  return Number(value);
}

/** Space-separated integers (v1 cpuacct.usage_percpu_user: one nanosecond counter per possible CPU). */
export function parseIntList(text: string): number[] {
  const trimmed = text.trim();
  if (trimmed === '') return [];
  return trimmed.split(/\s+/).map((field) => {
    if (!/^\d+$/.test(field)) throw new Error(`expected integers, got "${field}"`);
    return Number(field);
  });
}

/** Pids or tids of cgroup.procs / tasks / cgroup.threads: one per line. */
export function parsePidList(text: string): number[] {
  const out: number[] = [];
  for (const line of text.split('\n')) {
    const value = line.trim();
    if (/^\d+$/.test(value)) out.push(Number(value));
  }
  return out;
}
