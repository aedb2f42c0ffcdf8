// Counting a sandbox's tasks for /proc/loadavg and /proc/stat's procs_running / procs_blocked.
// Reads /proc/<tid>/status of each thread of the cgroup: state R counts as running and D as blocked,
// which is what the kernel folds into the load average (kernel/sched/loadavg.c
// calc_load_fold_active(): nr_running + nr_uninterruptible). Synchronous, like every kernel read of
// the view server (supervisor/kept-files.ts): procfs text is generated in memory. A sample costs
// O(threads): the views space them by 20 times their duration, whatever the reads
// (procfs/view-shared.ts taskSample).
//
// A TaskScanner keeps each thread's status file open between samples and reads it with pread at
// offset 0: /proc/<tid>/status is a single_open seq_file (fs/proc/base.c proc_single_open), which
// regenerates its text at offset 0 (fs/seq_file.c seq_read_iter), so every read is fresh, at ~1/6 of
// an open+read+close (docs/bench/2026-12-07-render-cost.md). The descriptor holds the thread's
// struct pid, not its number: once that thread has exited, a read fails with ESRCH
// (proc_single_show: get_pid_task() finds no task), even when the number is a new thread's by then;
// the scanner then opens the number again.
import { readFileSync } from 'node:fs';
import { KeptFiles } from '../supervisor/kept-files.js';
import { statusStateAndPid } from './parse/index.js';

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

/**
 * Status files a TaskScanner keeps open per sandbox (and per thread of the view server): a
 * descriptor each, so a sandbox of thousands of threads does not hold thousands of them; the rest
 * are read with an open each time (such a sandbox is scanned about once a second at most anyway).
 */
export const KEPT_TASK_FILES = 64;

/** Errors meaning the task exited between listing and reading it. */
function vanished(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException).code;
  return code === 'ENOENT' || code === 'ESRCH';
}

/** State and own-namespace id of one status text; throws when it has no State line. */
function fromStatus(text: string, path: string): { state: string; nsPid: number | null } {
  const task = statusStateAndPid(text);
  if (task.state === null) throw new Error(`${path}: no "State:" line`);
  return { state: task.state, nsPid: task.nsPid };
}

/** Count what `read` returns for each thread id (null: the thread vanished). */
function count(
  threadIds: readonly number[],
  read: (tid: number) => { state: string; nsPid: number | null } | null,
): TaskSample {
  let running = 0;
  let blocked = 0;
  let threads = 0;
  let lastPid = 0;
  for (const tid of threadIds) {
    const task = read(tid);
    if (!task) continue;
    threads++;
    if (task.state === 'R') running++;
    else if (task.state === 'D') blocked++;
    if (task.nsPid !== null && task.nsPid > lastPid) lastPid = task.nsPid;
  }
  return { running, blocked, threads, lastPid };
}

/** Read /proc/<tid>/status of each thread id (an open each); a tid that vanished is skipped. */
export function sampleTasks(threadIds: readonly number[], procRoot = '/proc'): TaskSample {
  return count(threadIds, (tid) => {
    const path = `${procRoot}/${tid}/status`;
    try {
      // One file gives both the state and the id inside the sandbox: one read per thread, not two.
      return fromStatus(readFileSync(path, 'utf8'), path);
    } catch (err) {
      if (vanished(err)) return null;
      throw err;
    }
  });
}

/** Samples one sandbox's tasks through status files kept open between samples; close() at the end. */
export class TaskScanner {
  private readonly files = new KeptFiles();

  constructor(private readonly procRoot = '/proc') {}

  /** Task counts of these threads now (what sampleTasks returns). */
  sample(threadIds: readonly number[]): TaskSample {
    const listed = new Set<string>();
    const sample = count(threadIds, (tid) => {
      const path = `${this.procRoot}/${tid}/status`;
      listed.add(path);
      return this.read(path, listed.size <= KEPT_TASK_FILES);
    });
    // Threads no longer listed have exited or moved: their descriptors go.
    if (this.files.size > 0) for (const path of [...this.files.paths()]) if (!listed.has(path)) this.files.close(path);
    return sample;
  }

  private read(path: string, keep: boolean): { state: string; nsPid: number | null } | null {
    const kept = this.files.has(path);
    if (!kept && !keep) return this.once(path);
    try {
      return fromStatus(this.files.read(path), path);
    } catch (err) {
      this.files.close(path);
      if (!vanished(err)) throw err;
      // ESRCH through a kept descriptor: its thread exited; the number may be a new thread's.
      return kept ? this.once(path) : null;
    }
  }

  private once(path: string): { state: string; nsPid: number | null } | null {
    try {
      return fromStatus(readFileSync(path, 'utf8'), path);
    } catch (err) {
      if (vanished(err)) return null;
      throw err;
    }
  }

  /** Close every kept status file (the sandbox is no longer served). */
  close(): void {
    this.files.closeAll();
  }
}
