// Parser of /proc/<pid>/status. Kernel: fs/proc/array.c proc_pid_status() prints "Key:\tvalue" lines;
// task_state() prints "NSpid:" with the task's id in every pid namespace from the reader's down to
// the task's own, tab-separated, so its last field is the id inside the task's own namespace.

/** Parse "Key:\tvalue" lines into an exact-key map of trimmed values. */
export function parsePidStatus(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of text.split('\n')) {
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    out.set(line.slice(0, colon), line.slice(colon + 1).trim());
  }
  return out;
}

/** The id in the task's own pid namespace: last field of "NSpid:" (falls back to "Pid:"); null if neither. */
export function ownNamespacePid(status: Map<string, string>): number | null {
  const ns = status.get('NSpid') ?? status.get('Pid');
  if (ns === undefined) return null;
  const last = ns.split(/\s+/).pop();
  return last !== undefined && /^\d+$/.test(last) ? Number(last) : null;
}

/** The one-letter task state of "State:\tS (sleeping)" (fs/proc/array.c task_state_array); null if absent. */
export function taskState(status: Map<string, string>): string | null {
  const state = status.get('State');
  return state !== undefined && /^[A-Za-z] /.test(state) ? state.charAt(0) : null;
}

/** The value of the last "Key:" line of a status text, trimmed (what parsePidStatus(text).get(key) gives). */
function statusValue(text: string, key: string): string | undefined {
  const label = `${key}:`;
  const at = text.lastIndexOf(`\n${label}`);
  const start = at >= 0 ? at + 1 + label.length : text.startsWith(label) ? label.length : -1;
  if (start < 0) return undefined;
  const end = text.indexOf('\n', start);
  return text.slice(start, end < 0 ? text.length : end).trim();
}

/**
 * taskState and ownNamespacePid of one status text without building the map of every line: a
 * task scan reads one status file per thread.
 */
export function statusStateAndPid(text: string): { state: string | null; nsPid: number | null } {
  const state = statusValue(text, 'State');
  const ns = statusValue(text, 'NSpid') ?? statusValue(text, 'Pid');
  const last = ns?.split(/\s+/).pop();
  return {
    state: state !== undefined && /^[A-Za-z] /.test(state) ? state.charAt(0) : null,
    nsPid: last !== undefined && /^\d+$/.test(last) ? Number(last) : null,
  };
}
