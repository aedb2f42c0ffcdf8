// The supervisor's place in the OOM killer's order. The sandbox's memory cgroup is nested under the
// supervisor's own (cgroup/ancestry.ts), so when the sandbox has no --mem of its own, or the parent's
// limit is the tighter one, the kernel's OOM killer chooses among the supervisor AND the workload
// (mm/oom_kill.c, select_bad_process walks the whole OOMing memcg subtree; the host-wide OOM killer
// walks every process). oom_badness() adds oom_score_adj * totalpages / 1000 to a task's RSS
// score, so -999 makes the supervisor the last choice short of the immune -1000.
//
// Why -999 and not -1000: -1000 (OOM_SCORE_ADJ_MIN) exempts a process entirely; a supervisor that
// leaked would then make the kernel kill everything else first, or panic. containerd's systemd unit
// runs it at -999 for the same reason (containerd.service, OOMScoreAdjust=-999); docker.service's
// -500 only halves the supervisor's score, so a big enough supervisor could still be chosen.
// The sandbox itself gets the supervisor's original value back, but never below 0 (the kernel's
// default): a workload is never harder to kill than an ordinary process.
//
// Lowering needs CAP_SYS_RESOURCE (fs/proc/base.c, __set_oom_adj: below oom_score_adj_min is EACCES
// without it); some hosts run even root without it (this machine's container does). Then the order
// is kept from the other side: the sandbox is raised by SANDBOX_RAISE instead, which needs no
// privilege. 500 adds half of the OOMing domain's pages to the workload's score (for a memcg OOM
// the domain is the memcg limit), so the supervisor is chosen first only if its RSS exceeds the
// workload's by half the limit.
import { readFileSync, writeFileSync } from 'node:fs';
import { SandboxError, describeSystemError } from './errors.js';

/** oom_score_adj the supervisor runs at during a run. */
const SUPERVISOR_OOM_SCORE_ADJ = -999;
/** How far the sandbox is raised when the supervisor may not lower itself. */
export const SANDBOX_RAISE = 500;
const FILE = '/proc/self/oom_score_adj';

/** Lower this process's oom_score_adj if allowed; returns the value for the sandbox. */
export async function protectSupervisor(): Promise<number> {
  let original: number;
  try {
    // Synchronous: a procfs file of our own, first on the launch path, where a thread-pool trip costs more.
    original = Number(readFileSync(FILE, 'utf8').trim());
  } catch (err) {
    throw new SandboxError(`oom_score_adj: ${describeSystemError(err)}`, undefined, { cause: err });
  }
  // Never raise it: a caller that runs us at -1000 on purpose keeps that.
  if (original <= SUPERVISOR_OOM_SCORE_ADJ) return sandboxOomScoreAdj(original, true);
  try {
    writeFileSync(FILE, String(SUPERVISOR_OOM_SCORE_ADJ));
    return sandboxOomScoreAdj(original, true);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'EACCES' && code !== 'EPERM') {
      throw new SandboxError(
        `oom_score_adj: ${describeSystemError(err)} (value ${SUPERVISOR_OOM_SCORE_ADJ})`,
        undefined,
        { cause: err },
      );
    }
    return sandboxOomScoreAdj(original, false);
  }
}

/** The sandbox's oom_score_adj: the supervisor's original value, at least 0, raised by
 * SANDBOX_RAISE when the supervisor could not lower itself; at most 1000 (OOM_SCORE_ADJ_MAX). */
export function sandboxOomScoreAdj(original: number, supervisorLowered: boolean): number {
  const base = Number.isInteger(original) ? Math.max(0, original) : 0;
  return Math.min(1000, base + (supervisorLowered ? 0 : SANDBOX_RAISE));
}
