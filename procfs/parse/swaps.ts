// Parser of /proc/swaps. Kernel: mm/swapfile.c swap_show() prints the header
// "Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n", then per active swap area the path (escaped by
// seq_file_path: space, tab, newline and backslash as octal "\040"…), padding to column 40, the
// type ("partition" or "file\t"), size and used in kB and the priority, tab-separated.

/** One active swap area. */
export interface SwapEntry {
  /** Path as printed (still octal-escaped). */
  filename: string;
  type: string;
  sizeKb: number;
  usedKb: number;
  priority: number;
}

/** /proc/swaps: the header line as printed and the areas. */
export interface Swaps {
  header: string;
  entries: SwapEntry[];
}

/** Parse /proc/swaps text; throws on a malformed area line. */
export function parseSwaps(text: string): Swaps {
  const lines = text.split('\n').filter((l) => l !== '');
  const header = lines[0] ?? '';
  const entries: SwapEntry[] = [];
  for (const raw of lines.slice(1)) {
    const f = raw.trim().split(/\s+/);
    if (
      f.length < 5 ||
      !/^\d+$/.test(f[2] as string) ||
      !/^\d+$/.test(f[3] as string) ||
      !/^-?\d+$/.test(f[4] as string)
    ) {
      throw new Error(`/proc/swaps: malformed line "${raw}"`);
    }
    entries.push({
      filename: f[0] as string,
      type: f[1] as string,
      sizeKb: Number(f[2]),
      usedKb: Number(f[3]),
      priority: Number(f[4]),
    });
  }
  return { header, entries };
}
