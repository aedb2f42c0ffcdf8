// Parser of /proc/meminfo. Kernel: fs/proc/meminfo.c meminfo_proc_show() prints each line with
// show_val_kb(): the label literal ("MemTotal:       ", padded to 16 columns), the value through
// seq_put_decimal_ull_width(..., 8) (right-aligned in 8 columns, wider when it needs more digits),
// then " kB". mm/hugetlb.c hugetlb_report_meminfo() adds "HugePages_Total:   %5lu" lines without a
// unit. Keys are matched exactly: "Active" is not "Active(anon)".

/** One line of /proc/meminfo; `raw` keeps the original text (no newline) so a renderer can keep its layout. */
interface MeminfoLine {
  /** "MemTotal", "Active(anon)", "HugePages_Total"; null when the line is not "Key: number". */
  key: string | null;
  /** The number as printed (in kB when unit is "kB"); null when the line did not parse. */
  value: number | null;
  unit: 'kB' | null;
  raw: string;
}

/** /proc/meminfo as ordered lines. */
export interface Meminfo {
  lines: MeminfoLine[];
}

const LINE = /^([^\s:]+):(\s*)(\d+)(?: (kB))?$/;

/** Parse /proc/meminfo text into ordered lines (unknown or odd lines are kept with key null). */
export function parseMeminfo(text: string): Meminfo {
  const body = text.endsWith('\n') ? text.slice(0, -1) : text;
  const lines: MeminfoLine[] = [];
  if (body === '') return { lines };
  for (const raw of body.split('\n')) {
    const m = LINE.exec(raw);
    if (!m) {
      lines.push({ key: null, value: null, unit: null, raw });
      continue;
    }
    lines.push({ key: m[1] as string, value: Number(m[3]), unit: m[4] === 'kB' ? 'kB' : null, raw });
  }
  return { lines };
}

/** The value of one key (exact match), or undefined when the file has no such line. */
export function meminfoValue(info: Meminfo, key: string): number | undefined {
  for (const line of info.lines) {
    if (line.key === key && line.value !== null) return line.value;
  }
  return undefined;
}
