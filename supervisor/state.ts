// A state directory per sandbox under /run/sandbox/<id>/, written before anything else is made, so
// that a later `sandbox gc` can find and remove what a crashed (SIGKILLed) supervisor left behind.
import { mkdir, readFile, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { parsePidStat } from '../procfs/parse/pid-stat.js';
import type { CgroupLimits } from './cgroup/types.js';

/** Root of everything this tool creates on the host's filesystem: state dirs and FUSE mounts. */
export const RUN_DIR = '/run/sandbox';

/** What a state dir records. */
export interface SandboxState {
  id: string;
  /** Supervisor pid and its start time (field 22 of /proc/<pid>/stat) to tell pid reuse apart. */
  supervisorPid: number;
  supervisorStartTicks: number;
  startedAtMs: number;
  command: string[];
  cgroupDirs: string[];
  /** FUSE mountpoint serving this sandbox's views. */
  mountpoint: string;
  cpus: number[];
  /** --name, unique among live sandboxes; null when not given. */
  name?: string | null;
  /** The workload's working directory (where `sandbox exec` starts too). */
  workdir?: string;
  /** The limits as last written to the cgroup (by run, then by `sandbox update`). */
  limits?: CgroupLimits;
  /** --user of the workload; `sandbox exec` runs as the same user. */
  user?: { uid: number; gid: number } | null;
  /** True when started with -d (the supervisor runs in the background). */
  detached?: boolean;
}

/** Directory of one sandbox's state. */
export function stateDir(id: string): string {
  return `${RUN_DIR}/${id}`;
}

/** Start time of a process in clock ticks since boot (field 22 of /proc/<pid>/stat), or null if gone. */
export async function processStartTicks(pid: number): Promise<number | null> {
  try {
    // proc(5): starttime is field 22; `rest` starts at field 4 (ppid).
    return Number(parsePidStat(await readFile(`/proc/${pid}/stat`, 'utf8')).rest[22 - 4]);
  } catch {
    return null;
  }
}

/**
 * Create the state dir and write state.json (mode 0700: it names cgroups and commands). Written to a
 * temporary name and renamed (rename(2) replaces atomically), so `ps` never reads half a file while
 * `update` rewrites it.
 */
export async function writeState(state: SandboxState): Promise<void> {
  const dir = stateDir(state.id);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const tmp = `${dir}/state.json.${process.pid}.tmp`;
  await writeFile(tmp, JSON.stringify(state, null, 2) + '\n', { mode: 0o600 });
  await rename(tmp, `${dir}/state.json`);
}

/** Rewrite the state.json of a sandbox that exists (ENOENT, never a new dir, once its teardown removed it). */
export async function updateState(state: SandboxState): Promise<void> {
  const dir = stateDir(state.id);
  const tmp = `${dir}/state.json.${process.pid}.tmp`;
  await writeFile(tmp, JSON.stringify(state, null, 2) + '\n', { mode: 0o600 });
  await rename(tmp, `${dir}/state.json`);
}

/** Remove a sandbox's state dir (after its FUSE mount is gone). */
export async function removeState(id: string): Promise<void> {
  await rm(stateDir(id), { recursive: true, force: true });
}

/** Every state recorded under RUN_DIR (unreadable entries are skipped). */
export async function listStates(): Promise<SandboxState[]> {
  let names: string[];
  try {
    names = await readdir(RUN_DIR);
  } catch {
    return [];
  }
  const states = await Promise.all(
    names.map(async (name) => {
      try {
        return JSON.parse(await readFile(`${stateDir(name)}/state.json`, 'utf8')) as SandboxState;
      } catch {
        return null;
      }
    }),
  );
  return states.filter((s): s is SandboxState => s !== null);
}

/** True while the supervisor that wrote a state still runs (same pid and same start time). */
export async function supervisorAlive(state: SandboxState): Promise<boolean> {
  return (await processStartTicks(state.supervisorPid)) === state.supervisorStartTicks;
}
