// A `sandbox run` whose workload has read no view yet already keeps its threads' status files open
// in the supervisor (procfs/view-handler.ts WARM_TASKS_AFTER_MS): the main thread scans the cgroup's
// tasks a few ms after PID 1 looked up stat and loadavg, so the workload's first read of either
// preads them instead of opening each. Counted in the supervisor's /proc/<pid>/fd, not timed.
import { readFileSync, readdirSync, readlinkSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { finish, leftovers, sandboxUnavailable, startCli } from '../helpers/sandbox.js';
import { requireOrSkip } from '../helpers/skip.js';
import { waitFor } from '../helpers/wait.js';

const skip = requireOrSkip(sandboxUnavailable());

/** Pids of every descendant of `pid` (from /proc/<n>/stat's ppid). */
function descendantsOf(pid: number): number[] {
  const parentOf = new Map<number, number>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      parentOf.set(Number(name), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    } catch {
      // exited meanwhile
    }
  }
  const out: number[] = [];
  for (let frontier = [pid]; frontier.length > 0; ) {
    const next = [...parentOf].filter(([, ppid]) => frontier.includes(ppid)).map(([child]) => child);
    out.push(...next);
    frontier = next;
  }
  return out;
}

/** The pids whose /proc/<pid>/status process `holder` keeps open. */
function statusFilesHeld(holder: number): number[] {
  const pids: number[] = [];
  for (const fd of readdirSync(`/proc/${holder}/fd`)) {
    let target = '';
    try {
      target = readlinkSync(`/proc/${holder}/fd/${fd}`);
    } catch {
      continue;
    }
    const m = /^\/proc\/(\d+)\/status$/.exec(target);
    if (m) pids.push(Number(m[1]));
  }
  return pids;
}

describe.skipIf(skip)('the supervisor warms its task scanner before the first read', () => {
  afterAll(() => expect(leftovers()).toEqual([]));

  it("holds the workload's status file open before the workload read any view", async () => {
    const child = startCli(['run', '--cpu', '50%', '--mem', '128M', '--', 'sleep', '30']);
    try {
      const supervisor = child.pid!;
      let workload = 0;
      await waitFor(
        () => {
          workload =
            descendantsOf(supervisor).find((p) => {
              try {
                return readFileSync(`/proc/${p}/comm`, 'utf8').trim() === 'sleep';
              } catch {
                return false;
              }
            }) ?? 0;
          return workload > 0;
        },
        'the workload to exec sleep',
        20_000,
      );
      // Within the test's time, so that the sandbox is always stopped below.
      await waitFor(
        () => statusFilesHeld(supervisor).includes(workload),
        "the workload's status file held open",
        20_000,
      );
    } finally {
      child.kill('SIGTERM');
      await finish(child);
    }
  });
});
