// Parser of /proc/diskstats. Kernel: block/genhd.c diskstats_show() prints one line per disk and
// partition, "%4d %7d %pg " (major, minor, name) and then the counters separated by single spaces:
// 11 of them before Linux 4.18, 15 with the discard fields (4.18), 17 with the flush fields (5.5).
// Documentation/admin-guide/iostats.rst numbers the counters 1..17 (fields 4..20 of the line):
//   1 reads completed   2 reads merged   3 sectors read   4 ms reading
//   5 writes completed  6 writes merged  7 sectors written  8 ms writing
//   9 I/Os in progress  10 ms doing I/O  11 weighted ms doing I/O
//   12 discards completed  13 discards merged  14 sectors discarded  15 ms discarding
//   16 flush requests completed  17 ms flushing

/** One device line: its untouched "major minor name" prefix (padding included) and counters. */
export interface DiskstatsLine {
  /** The line up to and including the name, exactly as printed ("  254       0 vda"). */
  prefix: string;
  major: number;
  minor: number;
  name: string;
  /** The counters in the kernel's order (11, 15 or 17 of them). */
  fields: number[];
}

const LINE = /^(\s*(\d+)\s+(\d+)\s+(\S+)) (\d+(?: \d+)*)$/;

/** Parse /proc/diskstats text; throws on a line that isn't "major minor name counters…". */
export function parseDiskstats(text: string): DiskstatsLine[] {
  const out: DiskstatsLine[] = [];
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const m = LINE.exec(line);
    if (!m) throw new Error(`/proc/diskstats: malformed line "${line}"`);
    out.push({
      prefix: m[1] as string,
      major: Number(m[2]),
      minor: Number(m[3]),
      name: m[4] as string,
      fields: (m[5] as string).split(' ').map(Number),
    });
  }
  return out;
}
