// Parser of /proc/loadavg. Kernel: fs/proc/loadavg.c loadavg_proc_show() prints
// "%lu.%02lu %lu.%02lu %lu.%02lu %u/%d %d\n": the 1, 5 and 15 minute averages, running tasks /
// total threads, and the last pid allocated in the reader's pid namespace.

/** The fields of /proc/loadavg. */
export interface LoadavgFile {
  load1: number;
  load5: number;
  load15: number;
  running: number;
  threads: number;
  lastPid: number;
}

/** Parse /proc/loadavg text; throws on a malformed line. */
export function parseLoadavg(text: string): LoadavgFile {
  const m = /^(\d+\.\d\d) (\d+\.\d\d) (\d+\.\d\d) (\d+)\/(\d+) (-?\d+)\n?$/.exec(text);
  if (!m) throw new Error(`/proc/loadavg: malformed "${text.trim()}"`);
  return {
    load1: Number(m[1]),
    load5: Number(m[2]),
    load15: Number(m[3]),
    running: Number(m[4]),
    threads: Number(m[5]),
    lastPid: Number(m[6]),
  };
}
