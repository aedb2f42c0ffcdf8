// Counting a sandbox's tasks for /proc/loadavg and /proc/stat's procs_running / procs_blocked.
// Reads /proc/<tid>/stat of each thread of the cgroup: state R counts as running and D as blocked,
// which is what the kernel folds into the load average (kernel/sched/loadavg.c
// calc_load_fold_active(): nr_running + nr_uninterruptible). Synchronous, like every kernel read of
// the view server (supervisor/kept-files.ts): procfs text is generated in memory, about 15 µs per
// thread here (open + read + close of status), so a sample costs O(threads): the views space them
// by 20 times their duration, whatever the reads (procfs/view-shared.ts taskSample).
import { readFileSync } from 'node:fs';
import { ownNamespacePid, parsePidStatus, taskState } from './parse/pid-status.js';

/** Task counts of one sandbox at one moment. */
export interface TaskSample {
  /** Threads in state R. */
  running: number;
  /** Threads in state D (uninterruptible sleep). */
  blocked: number;
  /** Threads read (vanished ones are not counted). */
  threads: number;
  /** Largest id among them as seen inside the sandbox's own pid namespace; 0 when none. */
  lastPid: number;
}

/** A sandbox with no tasks. */
export const EMPTY_TASKS: TaskSample = Object.freeze({ running: 0, blocked: 0, threads: 0, lastPid: 0 });

/** Errors meaning the task exited between listing and reading it. */
function vanished(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException).code;
  return code === 'ENOENT' || code === 'ESRCH';
}

function readOne(tid: number, procRoot: string): { state: string; nsPid: number | null } | null {
  try {
    // One file gives both the state and the id inside the sandbox: one read per thread, not two.
    const status = parsePidStatus(readFileSync(`${procRoot}/${tid}/status`, 'utf8'));
    const state = taskState(status);
    if (state === null) throw new Error(`${procRoot}/${tid}/status: no "State:" line`);
    return { state, nsPid: ownNamespacePid(status) };
  } catch (err) {
    if (vanished(err)) return null;
    throw err;
  }
}

/** Read /proc/<tid>/status of each thread id; a tid that vanished is skipped. */
export function sampleTasks(threadIds: readonly number[], procRoot = '/proc'): TaskSample {
  let running = 0;
  let blocked = 0;
  let threads = 0;
  let lastPid = 0;
  for (const tid of threadIds) {
    const task = readOne(tid, procRoot);
    if (!task) continue;
    threads++;
    if (task.state === 'R') running++;
    else if (task.state === 'D') blocked++;
    if (task.nsPid !== null && task.nsPid > lastPid) lastPid = task.nsPid;
  }
  return { running, blocked, threads, lastPid };
}
