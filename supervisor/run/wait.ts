// The last phase of a launch: the wait for the stage, the --timeout that may end it, and the lines
// that say why it ended (an OOM kill, the timeout).
import type { ChildProcess } from 'node:child_process';
import type { CgroupManager } from '../cgroup/index.js';
import { formatBytes } from '../bytes.js';
import type { Launch, RunRequest } from './launch.js';
import { mark } from './timings.js';

/** timeout(1)'s exit status when the command timed out. */
const EXIT_TIMEOUT = 124;
/** Time between the TERM of a timed-out workload and the KILL of everything left in its cgroup. */
const TIMEOUT_GRACE_MS = 2000;

/** A running --timeout. */
export interface Timeout {
  cancel(): void;
  fired(): boolean;
}

/**
 * --timeout: like timeout(1), SIGTERM the workload when the time is up (sent to the stage, which
 * forwards it through PID 1), then SIGKILL whatever is left in the cgroup after a grace period.
 */
export function startTimeout(ms: number, stage: ChildProcess, cgroup: CgroupManager): Timeout {
  let fired = false;
  let grace: NodeJS.Timeout | undefined;
  const timer = setTimeout(() => {
    fired = true;
    stage.kill('SIGTERM');
    grace = setTimeout(() => void cgroup.killAll('SIGKILL').catch(() => undefined), TIMEOUT_GRACE_MS);
  }, ms);
  return {
    cancel: () => {
      clearTimeout(timer);
      clearTimeout(grace);
    },
    fired: () => fired,
  };
}

/** Phase 6: wait for the stage, then say why the workload ended if it was killed; the exit code to end with. */
export async function waitAndReport(
  launch: Launch,
  cgroup: CgroupManager,
  exited: Promise<number>,
  timeout: Timeout | null,
): Promise<number> {
  const { req } = launch;
  const code = await exited;
  mark('exited');
  timeout?.cancel();
  reportOom(cgroup, req, code);
  const final = timeout?.fired() ? EXIT_TIMEOUT : code;
  if (final === EXIT_TIMEOUT)
    process.stderr.write(
      `sandbox: ${req.command[0]} timed out after ${formatDuration(req.timeoutMs!)} and was killed\n`,
    );
  return final;
}

/** "30s", "1.5s", "250ms" for messages. */
function formatDuration(ms: number): string {
  return ms % 1000 === 0 || ms >= 1000 ? `${ms / 1000}s` : `${ms}ms`;
}

/** Print the OOM line when the cgroup saw an OOM kill (read before the cgroup is removed). */
function reportOom(cgroup: CgroupManager, req: RunRequest, code: number): void {
  let oomKills: number;
  try {
    oomKills = cgroup.oomKills();
  } catch {
    return; // the cgroup is unreadable: nothing to report
  }
  if (oomKills === 0) return;
  const limit = req.limits.memoryBytes === null ? '' : ` (limit ${formatBytes(req.limits.memoryBytes)})`;
  const who = code === 137 ? req.command[0] : `a process of ${req.command[0]}`;
  process.stderr.write(`sandbox: ${who} was killed: out of memory${limit}\n`);
}
