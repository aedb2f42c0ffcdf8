// Kernel CPU lists, the format of cpuset.cpus, cpuset.effective_cpus and
// /sys/devices/system/cpu/online: comma-separated ids and inclusive ranges ("0-3,5"); an empty
// string is an empty set (a fresh v1 cpuset). Kernel: lib/bitmap-str.c bitmap_parselist(), and
// Documentation/admin-guide/cgroup-v1/cpusets.rst ("cpus: list of CPUs in that cpuset").

const MAX_CPU_ID = 1 << 20; // far above any NR_CPUS: a guard against "0-999999999" blowing up memory

/** Parse a kernel CPU list ("0-3,5", "1", "", "0-7:2/4" is refused) into ascending unique ids; throws on malformed text. */
export function parseCpuList(text: string): number[] {
  const trimmed = text.trim();
  if (trimmed === '') return [];
  const cpus = new Set<number>();
  for (const part of trimmed.split(',')) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part.trim());
    if (!m) throw new Error(`invalid CPU list "${text}": bad element "${part}"`);
    const first = Number(m[1]);
    const last = m[2] === undefined ? first : Number(m[2]);
    if (last < first) throw new Error(`invalid CPU list "${text}": range ${part} is descending`);
    if (last > MAX_CPU_ID) throw new Error(`invalid CPU list "${text}": CPU ${last} is out of range`);
    for (let cpu = first; cpu <= last; cpu++) cpus.add(cpu);
  }
  return [...cpus].sort((a, b) => a - b);
}

/** Format CPU ids as the kernel prints them: ascending, runs of 2+ as "a-b" ("0-1,3"); [] gives "". */
export function formatCpuList(cpus: readonly number[]): string {
  const sorted = [...new Set(cpus)].sort((a, b) => a - b);
  for (const cpu of sorted) {
    if (!Number.isInteger(cpu) || cpu < 0) throw new Error(`invalid CPU id ${cpu}`);
  }
  const parts: string[] = [];
  for (let i = 0; i < sorted.length; ) {
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1] === sorted[j]! + 1) j++;
    parts.push(i === j ? `${sorted[i]}` : `${sorted[i]}-${sorted[j]}`);
    i = j + 1;
  }
  return parts.join(',');
}
