// Finding a live sandbox by id or name, its cgroup, and its processes, for ps, kill, stop, exec,
// update, stats, run's release and --net sandbox:REF. Errors follow the bad-input rule: one line
// naming the value, exit 125 (docker exits 1 for "No such container"; here every bad input is 125).
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { openCgroup, type CgroupManager, type CgroupReader } from './cgroup/index.js';
import { SandboxError, withContext } from './errors.js';
import { sleep } from './sleep.js';
import { RUN_DIR, listStates, supervisorAlive, type SandboxState } from './state.js';
import { parsePidStatus } from '../procfs/parse/index.js';

/** Every sandbox whose supervisor still runs, oldest first. */
export async function liveSandboxes(): Promise<SandboxState[]> {
  const live: SandboxState[] = [];
  for (const state of await listStates()) if (await supervisorAlive(state)) live.push(state);
  return live.sort((a, b) => a.startedAtMs - b.startedAtMs || a.id.localeCompare(b.id));
}

/** The live sandbox an id, a unique id prefix or a name refers to; an error naming `ref` otherwise. */
export async function findSandbox(ref: string): Promise<SandboxState> {
  const live = await liveSandboxes();
  const exact = live.find((s) => s.id === ref) ?? live.find((s) => s.name === ref);
  if (exact) return exact;
  const prefixed = ref.length > 0 ? live.filter((s) => s.id.startsWith(ref)) : [];
  if (prefixed.length === 1) return prefixed[0]!;
  if (prefixed.length > 1)
    throw new SandboxError(
      `"${ref}" matches ${prefixed.length} sandboxes (${prefixed.map((s) => s.id).join(', ')}): give more of the id`,
    );
  throw new SandboxError(`no such sandbox: "${ref}" (sandbox ps lists the running ones)`);
}

/** The cgroup manager of a recorded sandbox, at the directories its supervisor recorded. */
export async function cgroupOf(state: SandboxState): Promise<CgroupManager> {
  return openCgroup({ id: state.id, dirs: state.cgroupDirs }).catch((err: unknown) => {
    throw withContext(`sandbox ${state.id}: cgroup`, err);
  });
}

/** Host pids of a sandbox's PID 1 (the stage's init) and its workload (pid 2 inside), null when gone. */
export interface SandboxProcesses {
  init: number | null;
  workload: number | null;
}

/**
 * Find PID 1 and the workload among the cgroup's pids by their id inside the sandbox's pid
 * namespace: the last field of NSpid in /proc/<pid>/status (fs/proc/array.c task_state). PID 1's
 * first fork is the workload, so it is pid 2 inside. Processes of `sandbox exec` have other ids,
 * and the exec stage itself (in the cgroup but in the host pid namespace) has a single NSpid field.
 */
export async function sandboxProcesses(cgroup: CgroupReader): Promise<SandboxProcesses> {
  const found: SandboxProcesses = { init: null, workload: null };
  let pids: number[] = [];
  try {
    pids = cgroup.pids();
  } catch {
    // the cgroup is gone: neither process exists
  }
  for (const pid of pids) {
    const text = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => null);
    const nspid = text === null ? undefined : parsePidStatus(text).get('NSpid')?.split(/\s+/);
    if (!nspid || nspid.length < 2) continue;
    if (nspid.at(-1) === '1') found.init = pid;
    if (nspid.at(-1) === '2') found.workload = pid;
  }
  return found;
}

/** A live sandbox with its cgroup, failing with "has already exited" when its workload is gone. */
export async function runningSandbox(
  ref: string,
): Promise<{ state: SandboxState; cgroup: CgroupManager; procs: SandboxProcesses }> {
  const state = await findSandbox(ref);
  const cgroup = await cgroupOf(state);
  const procs = await sandboxProcesses(cgroup);
  if (procs.init === null || procs.workload === null) throw new SandboxError(`sandbox ${state.id} has already exited`);
  return { state, cgroup, procs };
}

/** Wait until a sandbox's supervisor has finished its teardown (its state dir is gone); false on timeout. */
export async function waitGone(state: SandboxState, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (!(await supervisorAlive(state))) return true;
    const live = await listStates();
    // removeState renames the dir to .old-<id> and then removes it: gone once that is gone too.
    if (!live.some((s) => s.id === state.id) && !existsSync(`${RUN_DIR}/.old-${state.id}`)) return true;
    if (Date.now() >= deadline) return false;
    await sleep(20);
  }
}
