// Parser of /proc/cpuinfo. Kernel (x86): arch/x86/kernel/cpu/proc.c show_cpuinfo() prints one block
// per online CPU as "key\t: value" lines (the tabs align the colons: "model\t\t: ", "core id\t\t: ")
// and ends each block with "power management:" then "\n\n", so blocks are separated by one empty
// line. Other architectures print the same "key\t: value" blocks, some with a header or trailer
// block that has no "processor" key; those are kept as they are.

/** One "key : value" line; `prefix` is the original text up to and including ": " (or ":"). */
export interface CpuinfoLine {
  /** Key without its padding ("model name", "power management"); null for a line without ':'. */
  key: string | null;
  value: string;
  prefix: string;
  raw: string;
}

/** One block of lines; `processor` is the value of its "processor" line, null for a non-CPU block. */
export interface CpuinfoBlock {
  processor: number | null;
  lines: CpuinfoLine[];
}

/** /proc/cpuinfo as blocks in file order. */
export interface Cpuinfo {
  blocks: CpuinfoBlock[];
}

const LINE = /^([^:]*?)[ \t]*:( ?)(.*)$/;

/** Parse one cpuinfo line into key, value and the prefix that keeps its alignment. */
export function parseCpuinfoLine(raw: string): CpuinfoLine {
  const m = LINE.exec(raw);
  if (!m) return { key: null, value: raw, prefix: '', raw };
  const value = m[3] as string;
  return { key: m[1] as string, value, prefix: raw.slice(0, raw.length - value.length), raw };
}

/** Parse /proc/cpuinfo text into blocks separated by empty lines. */
export function parseCpuinfo(text: string): Cpuinfo {
  const blocks: CpuinfoBlock[] = [];
  let current: CpuinfoLine[] = [];
  const flush = (): void => {
    if (current.length === 0) return;
    const proc = current.find((l) => l.key === 'processor');
    const processor = proc && /^\d+$/.test(proc.value) ? Number(proc.value) : null;
    blocks.push({ processor, lines: current });
    current = [];
  };
  for (const raw of text.split('\n')) {
    if (raw === '') flush();
    else current.push(parseCpuinfoLine(raw));
  }
  flush();
  return { blocks };
}

/** Print blocks the way the kernel does: lines, each block followed by an empty line. */
export function formatCpuinfo(info: Cpuinfo): string {
  return info.blocks.map((b) => b.lines.map((l) => l.raw).join('\n') + '\n\n').join('');
}
