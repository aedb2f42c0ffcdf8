// Parser of /proc/<pid>/stat. Kernel: fs/proc/array.c do_task_stat() prints "%d (%s) %c ..." where
// %s is the task's comm, which may itself contain spaces and ')' (a program named "a) b"), so the
// comm ends at the LAST ')' of the line, never the first.

/** The leading fields of /proc/<pid>/stat plus the rest as text. */
export interface PidStat {
  pid: number;
  comm: string;
  /** One letter: R running, S sleeping, D uninterruptible, Z zombie, T stopped, t traced, X dead, I idle. */
  state: string;
  ppid: number;
  /** Fields after the state, starting with ppid (field 4 of proc(5)). */
  rest: string[];
}

/** Parse one /proc/<pid>/stat line; throws on malformed text. */
export function parsePidStat(text: string): PidStat {
  const open = text.indexOf(' (');
  const close = text.lastIndexOf(')');
  if (open < 0 || close < open) throw new Error(`/proc/<pid>/stat: malformed "${text.trim()}"`);
  const pidText = text.slice(0, open);
  const rest = text
    .slice(close + 1)
    .trim()
    .split(/\s+/);
  const state = rest[0];
  const ppid = rest[1];
  if (
    !/^\d+$/.test(pidText) ||
    state === undefined ||
    !/^[A-Za-z]$/.test(state) ||
    ppid === undefined ||
    !/^-?\d+$/.test(ppid)
  ) {
    throw new Error(`/proc/<pid>/stat: malformed "${text.trim()}"`);
  }
  return { pid: Number(pidText), comm: text.slice(open + 2, close), state, ppid: Number(ppid), rest: rest.slice(1) };
}
