// The OOM events of a detached sandbox handed over to its stage (native/stage/monitor.c): the stage
// runs `sandbox monitor-oom ID` on each kernel notification and `sandbox monitor-exit ID` at the
// end; both publish the kills counted since the last event. The count published so far is kept in
// the state dir, so no kill is published twice and none is lost between the two.
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { openCgroup } from './cgroup/index.js';
import { publish } from './events.js';
import { sleep } from './sleep.js';
import { stateDir, type SandboxState } from './state.js';

/** Re-reads after a notification until the counter grows: v1 notifies before the victim dies (events.ts). */
const RECHECK_MS = [0, 10, 40, 150, 500, 1500];

/** The OOM-kill count an event was published for last (0: none). */
function publishedKills(id: string): number {
  try {
    return Number(readFileSync(`${stateDir(id)}/oom-published`, 'utf8')) || 0;
  } catch {
    return 0;
  }
}

/** Record the count published (rename: a reader sees the old or the new number). */
function recordPublished(id: string, kills: number): void {
  const tmp = `${stateDir(id)}/oom-published.${process.pid}.tmp`;
  writeFileSync(tmp, `${kills}\n`, { mode: 0o600 });
  renameSync(tmp, `${stateDir(id)}/oom-published`);
}

/**
 * Publish an `oom` event if the sandbox's OOM-kill counter grew since the last one. After a
 * notification (`recheck`), re-read a few times until it grows; at the teardown, read once.
 */
export async function publishNewOomKills(state: SandboxState, recheck: boolean): Promise<void> {
  const cgroup = await openCgroup({ id: state.id, dirs: state.cgroupDirs }).catch(() => null);
  if (cgroup === null) return;
  const seen = publishedKills(state.id);
  for (const ms of recheck ? RECHECK_MS : [0]) {
    if (ms > 0) await sleep(ms);
    let kills: number;
    try {
      kills = cgroup.oomKills();
    } catch {
      return; // the cgroup is gone: nothing more to count
    }
    if (kills <= seen) continue;
    recordPublished(state.id, kills);
    await publish({
      type: 'oom',
      time: new Date().toISOString(),
      id: state.id,
      name: state.name ?? null,
      oomKills: kills,
    });
    return;
  }
}
