// A state directory per sandbox under /run/sandbox/<id>/, written before anything else is made, so
// that a later `sandbox gc` can find and remove what a crashed (SIGKILLed) supervisor left behind.
//
// Its I/O is synchronous behind async signatures: everything here is on tmpfs (/run) or procfs,
// where a call costs less than a libuv thread-pool trip, which also queues behind the launch's
// cgroup and FUSE work (supervisor/kept-files.ts). None of it reaches the views' FUSE
// mount, which would deadlock the process serving it: removeTree never descends into a mountpoint.
import {
  existsSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  renameSync,
  rmdirSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { parsePidStat } from '../procfs/parse/index.js';
import type { CgroupLimits } from './cgroup/index.js';
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
  /** The user namespace (the default): host ids of root and the others inside (every process of the
   * sandbox runs in it; `sandbox exec` enters it); null: --userns=host (or a root of its own). */
  userns?: { uid: number; gid: number; count: number } | null;
  /** On-disk owner of what the workload writes in its ID-mapped workdir and volumes; null: no mapping. */
  idmap?: { uid: number; gid: number } | null;
  /** True when started with -d (the supervisor runs in the background). */
  detached?: boolean;
  /**
   * A detached sandbox handed over to its stage's outer process (native/stage/monitor.c): its pid
   * and start time. Its death ends the sandbox; the supervisor has exited.
   */
  monitorPid?: number;
  monitorStartTicks?: number;
  /** The shared view server's socket that serves the sandbox's views (shared-views.ts); absent: its own mount. */
  viewSocket?: string;
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
    return Number(parsePidStat(readFileSync(`/proc/${pid}/stat`, 'utf8')).rest[22 - 4]);
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
  if (existsSync(dir)) {
    replaceStateFile(dir, text);
    return;
  }
  const staging = `${RUN_DIR}/.new-${state.id}-${state.supervisorPid}-${state.supervisorStartTicks}`;
  mkdirSync(RUN_DIR, { recursive: true, mode: 0o700 });
  mkdirSync(staging, { mode: 0o700 });
  writeFileSync(`${staging}/state.json`, text, { mode: 0o600 });
  renameSync(staging, dir);
}

/** Rewrite the state.json of a sandbox that exists (ENOENT, never a new dir, once its teardown removed it). */
export async function updateState(state: SandboxState): Promise<void> {
  replaceStateFile(stateDir(state.id), JSON.stringify(state, null, 2) + '\n');
}

/**
 * rename(2) replaces the old file atomically: readers (`ps`) see the old or the new state, whole.
 * The temporary name carries our pid: `update` and the supervisor may rewrite it at once.
 */
function replaceStateFile(dir: string, text: string): void {
  const tmp = `${dir}/state.json.${process.pid}.tmp`;
  writeFileSync(tmp, text, { mode: 0o600 });
  renameSync(tmp, `${dir}/state.json`);
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
    renameSync(stateDir(id), doomed);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  removeTree(doomed);
}

/**
 * Remove a directory tree that is not a mount and holds none. rmdir(2) comes first at every level:
 * on a mountpoint it fails with EBUSY before the filesystem is asked (fs/namei.c vfs_rmdir checks
 * is_local_mountpoint), so a mount still there (a FUSE unmount that failed) is reported, never
 * read; only ENOTEMPTY, a plain directory, is descended into. readdir's d_type comes from the
 * directory itself (tmpfs), without a stat of the entry. Everything else that can go goes; the
 * first failure is thrown at the end.
 */
function removeTree(dir: string): void {
  try {
    rmdirSync(dir);
    return;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return;
    if (code !== 'ENOTEMPTY') throw err;
  }
  let failure: unknown = null;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = `${dir}/${entry.name}`;
    try {
      if (entry.isDirectory()) removeTree(path);
      else unlinkSync(path);
    } catch (err) {
      failure ??= err;
    }
  }
  if (failure !== null) throw failure;
  rmdirSync(dir);
}

/** Every state recorded under RUN_DIR (unreadable entries are skipped). */
export async function listStates(): Promise<SandboxState[]> {
  let names: string[];
  try {
    names = readdirSync(RUN_DIR);
  } catch {
    return [];
  }
  const states: SandboxState[] = [];
  for (const name of names.filter((n) => !n.startsWith('.'))) {
    try {
      states.push(JSON.parse(readFileSync(`${stateDir(name)}/state.json`, 'utf8')) as SandboxState);
    } catch {
      // removed meanwhile, or not (yet) a whole state: skipped
    }
  }
  return states;
}

/**
 * True while the supervisor that wrote a state still runs (same pid and same start time), or the
 * stage it handed a detached sandbox to (monitorPid): either keeps the sandbox alive and tears it down.
 */
export async function supervisorAlive(state: SandboxState): Promise<boolean> {
  if ((await processStartTicks(state.supervisorPid)) === state.supervisorStartTicks) return true;
  return state.monitorPid !== undefined && (await processStartTicks(state.monitorPid)) === state.monitorStartTicks;
}

/** Where a monitoring stage writes PID 1's exit code, "CODE\n" (native/stage/monitor.c). */
export function exitFile(id: string): string {
  return `${stateDir(id)}/exit`;
}

/** The exit code a monitoring stage recorded, or null when it has not (yet). */
export function recordedExitCode(id: string): number | null {
  try {
    const text = readFileSync(exitFile(id), 'utf8');
    return /^\d+\n$/.test(text) ? Number(text) : null;
  } catch {
    return null;
  }
}
