// A state directory per sandbox under /run/sandbox/<id>/, written before anything else is made, so
// that a later `sandbox gc` can find and remove what a crashed (SIGKILLed) supervisor left behind.
import { mkdir, readFile, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { parsePidStat } from '../procfs/parse/pid-stat.js';
import type { CgroupLimits } from './cgroup/types.js';
import type { Security } from './security.js';

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
  /** --cap-add/--cap-drop/--security-opt of the workload; `sandbox exec` gets the same (null/absent: the defaults). */
  security?: Security | null;
  /** --net: host, none, private, or sandbox:<id of the joined sandbox>. */
  net?: string;
  /** -p specs as given (--net private). */
  publish?: string[];
  /** --userns: host ids of root and the others inside (every process of the sandbox runs in it). */
  userns?: { uid: number; gid: number; count: number } | null;
  /** True when started with -d (the supervisor runs in the background). */
  detached?: boolean;
  /** A root of its own (--rootfs/--layer): what `sandbox commit` needs; null or absent: the host's root. */
  filesystem?: RecordedFilesystem | null;
}

/** The filesystem flags of a sandbox with a root of its own, as `sandbox commit` reads them. */
export interface RecordedFilesystem {
  /** Overlay layers, lowest first. */
  layers: string[];
  /** --keep DIR (the upper layer is DIR/upper), or null (a tmpfs inside). */
  keep: string | null;
  readOnly: boolean;
  /** Where volumes (-v) and --tmpfs mounts are attached inside. */
  mountTargets: string[];
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

/** Staging name of a state dir being created: `.new-<id>-<supervisor pid>-<its start ticks>`. */
export const STAGING_RE = /^\.new-([0-9a-f]+)-(\d+)-(\d+)$/;

/**
 * Create the state dir with its state.json, or replace state.json, atomically (mode 0700: it names
 * cgroups and commands). A SIGKILL at any point leaves either no dir, a complete state.json, or a
 * staging dir named after the supervisor (STAGING_RE) that gc removes once that process is gone:
 * never an empty dir or a truncated state.json that gc could not read (found by test/soak).
 */
export async function writeState(state: SandboxState): Promise<void> {
  const dir = stateDir(state.id);
  const text = JSON.stringify(state, null, 2) + '\n';
  if (await stat(dir).then(() => true, () => false)) {
    await replaceStateFile(dir, text);
    return;
  }
  const staging = `${RUN_DIR}/.new-${state.id}-${state.supervisorPid}-${state.supervisorStartTicks}`;
  await mkdir(RUN_DIR, { recursive: true, mode: 0o700 });
  await mkdir(staging, { mode: 0o700 });
  await writeFile(`${staging}/state.json`, text, { mode: 0o600 });
  await rename(staging, dir);
}

/** Rewrite the state.json of a sandbox that exists (ENOENT, never a new dir, once its teardown removed it). */
export async function updateState(state: SandboxState): Promise<void> {
  await replaceStateFile(stateDir(state.id), JSON.stringify(state, null, 2) + '\n');
}

/**
 * rename(2) replaces the old file atomically: readers (`ps`) see the old or the new state, whole.
 * The temporary name carries our pid: `update` and the supervisor may rewrite it at once.
 */
async function replaceStateFile(dir: string, text: string): Promise<void> {
  const tmp = `${dir}/state.json.${process.pid}.tmp`;
  await writeFile(tmp, text, { mode: 0o600 });
  await rename(tmp, `${dir}/state.json`);
}

/** Name a state dir gets while it is being removed; gc removes any such dir it finds. */
export const REMOVING_PREFIX = '.old-';

/**
 * Remove a sandbox's state dir (after its FUSE mount is gone). Renamed first, so a SIGKILL during
 * the recursive removal cannot leave a dir that still looks like a sandbox but lost its state.json.
 */
export async function removeState(id: string): Promise<void> {
  const doomed = `${RUN_DIR}/${REMOVING_PREFIX}${id}`;
  try {
    await rename(stateDir(id), doomed);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  await rm(doomed, { recursive: true, force: true });
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
    names.filter((name) => !name.startsWith('.')).map(async (name) => {
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
