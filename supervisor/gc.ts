// `sandbox gc`: remove what sandboxes of dead supervisors left behind. A SIGKILLed supervisor takes
// its sandbox down (PDEATHSIG on the stage and PID 1; the pid namespace dies with its PID 1), but
// its FUSE mount (no auto_unmount: supervisor/run/views.ts), cgroups, state dir and pasta daemon stay. Only
// sandboxes whose supervisor is gone (pid AND start time) are touched, never live ones. A detached
// sandbox handed over to its stage (native/stage/monitor.c) lives as long as that monitor: gc
// takes it once the monitor is gone, and finishes what its teardown (`sandbox monitor-exit`,
// finishSandbox below) did not, publishing the exit code the monitor recorded.
import { execFile } from 'node:child_process';
import { readFile, readdir, rm } from 'node:fs/promises';
import { promisify } from 'node:util';
import { openCgroup } from './cgroup/index.js';
import { withContext } from './errors.js';
import { publish } from './events.js';
import { publishNewOomKills } from './monitor-oom.js';
import { killHelper, PIDFILE } from './net/pasta.js';
import { unserveShared } from './shared-views.js';
import {
  REMOVING_PREFIX,
  RUN_DIR,
  STAGING_RE,
  listStates,
  processStartTicks,
  recordedExitCode,
  removeState,
  stateDir,
  supervisorAlive,
  type SandboxState,
} from './state.js';

const run = promisify(execFile);

/** True when a path is a mountpoint in this mount namespace (/proc/self/mountinfo field 5). */
async function isMounted(path: string): Promise<boolean> {
  const text = await readFile('/proc/self/mountinfo', 'utf8');
  return text.split('\n').some((line) => line.split(' ')[4] === path);
}

/** Remove one dead sandbox: its network helper (--net private), its FUSE mount (lazily), its cgroups, then its state dir. */
async function collect(state: SandboxState): Promise<void> {
  try {
    // pasta outlives a SIGKILLed supervisor (it is a daemon holding the namespace): ended by the pid it wrote.
    await killHelper(`${stateDir(state.id)}/${PIDFILE}`);
    // A registration the shared view server would otherwise keep until its sweep sees the pid gone.
    if (state.viewSocket !== undefined) await unserveShared(state.viewSocket, state.id);
    if (await isMounted(state.mountpoint)) {
      // Something else may unmount it meanwhile (a concurrent gc): then umount fails with EINVAL,
      // and there is nothing left to do.
      await run('umount', ['-i', '-n', '-l', state.mountpoint]).catch(async (err: unknown) => {
        if (await isMounted(state.mountpoint)) throw err;
      });
    }
    const cgroup = await openCgroup({ id: state.id });
    await cgroup.destroy();
    await removeState(state.id);
  } catch (err) {
    throw withContext(`gc ${state.id}`, err);
  }
}

/** Remove staging dirs (state.ts writeState) of supervisors killed while creating them, and dirs
 * whose removal was interrupted (state.ts removeState). */
async function collectStaging(): Promise<void> {
  const names = await readdir(RUN_DIR).catch(() => [] as string[]);
  for (const name of names) {
    if (name.startsWith(REMOVING_PREFIX)) {
      // A removal its supervisor began (state.ts removeState); finishing it twice is harmless.
      await rm(`${RUN_DIR}/${name}`, { recursive: true, force: true });
      continue;
    }
    const m = STAGING_RE.exec(name);
    if (!m) continue;
    // Nothing else exists yet for such a sandbox: it was created before any cgroup or mount.
    if ((await processStartTicks(Number(m[2]))) !== Number(m[3]))
      await rm(`${RUN_DIR}/${name}`, { recursive: true, force: true });
  }
}

/**
 * Tear down a sandbox whose PID 1 has exited and whose supervisor or monitor is gone or is this
 * process (`sandbox monitor-exit`): with an exit code recorded by its monitor, publish its OOM kills
 * not published yet (read before the cgroup goes) and, once all is removed, its exit event.
 */
export async function finishSandbox(state: SandboxState): Promise<void> {
  const exitCode = recordedExitCode(state.id);
  const name = state.name ?? null;
  if (exitCode !== null) await publishNewOomKills(state, false);
  await collect(state);
  if (exitCode !== null) await publish({ type: 'exit', time: new Date().toISOString(), id: state.id, name, exitCode });
}

/** Collect every sandbox whose supervisor is dead; returns their ids. */
export async function collectGarbage(): Promise<string[]> {
  await collectStaging();
  const dead: SandboxState[] = [];
  for (const state of await listStates()) if (!(await supervisorAlive(state))) dead.push(state);
  for (const state of dead) await finishSandbox(state);
  return dead.map((s) => s.id);
}
