// `sandbox oci-hook`: an OCI runtime hook (runtime-spec config.md "POSIX-platform Hooks"). As a
// createContainer hook it registers the container with the daemon, which binds the views into the
// container's mount namespace; as a poststop hook it unregisters. The container state comes on
// stdin (runtime-spec runtime.md "State": ociVersion, id, status, pid, bundle).
//
// Where it runs: the spec runs createContainer hooks in the container's namespaces, after the
// mounts are set up and before pivot_root. runc 1.1 starts them from `runc init`, so the hook is in
// the container's mount AND pid namespaces and the state's pid is the init's pid there (1), while
// /proc is still the host's procfs (the mount namespace is a copy of the host's) and shows host pids.
// So the init's host pid is found by walking our ancestors for the one whose NSpid ends in state.pid.
import { readFileSync, readlinkSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { SandboxError } from '../../supervisor/errors.js';
import { ask } from './client.js';
import { ID_RE } from './protocol.js';

/** The fields of the OCI state the hook uses. */
export interface OciState {
  id: string;
  status: string;
  /** Absent once stopped. */
  pid?: number;
  bundle: string;
}

/** Parse the state JSON from stdin (throws a SandboxError naming what is wrong). */
export function parseOciState(text: string): OciState {
  let v: Record<string, unknown>;
  try {
    v = JSON.parse(text) as Record<string, unknown>;
  } catch {
    throw new SandboxError(`oci-hook: stdin is not the OCI state JSON: "${text.slice(0, 80)}"`);
  }
  if (typeof v.id !== 'string' || !ID_RE.test(v.id))
    throw new SandboxError(`oci-hook: state id ${JSON.stringify(v.id)}: expected ${ID_RE.source}`);
  if (typeof v.status !== 'string')
    throw new SandboxError(`oci-hook: state status ${JSON.stringify(v.status)}: expected a string`);
  if (typeof v.bundle !== 'string' || !v.bundle.startsWith('/'))
    throw new SandboxError(`oci-hook: state bundle ${JSON.stringify(v.bundle)}: expected an absolute path`);
  if (v.pid !== undefined && (typeof v.pid !== 'number' || !Number.isInteger(v.pid) || v.pid < 1))
    throw new SandboxError(`oci-hook: state pid ${JSON.stringify(v.pid)}: expected a positive integer`);
  return { id: v.id, status: v.status, pid: v.pid as number | undefined, bundle: v.bundle };
}

/** Exact keys of /proc/<pid>/status (proc(5)): "PPid:" and "NSpid:" (pids in each nested pid namespace, outermost first). */
function statusFields(pid: number | 'self'): { ppid: number; nspid: number[] } {
  let ppid = 0;
  let nspid: number[] = [];
  for (const line of readFileSync(`/proc/${pid}/status`, 'utf8').split('\n')) {
    const tab = line.indexOf(':');
    const key = line.slice(0, tab);
    const value = line.slice(tab + 1).trim();
    if (key === 'PPid') ppid = Number(value);
    else if (key === 'NSpid') nspid = value.split(/\s+/).map(Number);
  }
  return { ppid, nspid };
}

function nsOf(pid: number | 'self', ns: 'mnt' | 'pid'): string | null {
  try {
    return readlinkSync(`/proc/${pid}/ns/${ns}`);
  } catch {
    return null;
  }
}

/** The container init's pid in our /proc (the host's), from the state's pid (see the top of this file). */
function hostPidOf(statePid: number): number {
  // A runtime that runs the hook in the runtime namespace (or passes host pids): state.pid is ours.
  if (nsOf(statePid, 'pid') !== null && nsOf('self', 'pid') === nsOf(1, 'pid')) return statePid;
  // runc: we are in the container's pid namespace; our ancestors are listed with host pids.
  const ownPidNs = nsOf('self', 'pid');
  for (let pid = statusFields('self').ppid, hops = 0; pid > 1 && hops < 16; pid = statusFields(pid).ppid, hops++) {
    const { nspid } = statusFields(pid);
    if (nspid.length > 1 && nspid.at(-1) === statePid && nsOf(pid, 'pid') === ownPidNs) return pid;
  }
  if (nsOf(statePid, 'mnt') === nsOf('self', 'mnt')) return statePid;
  throw new SandboxError(
    `oci-hook: can't find the container's init (state pid ${statePid}) among our ancestors or in /proc`,
  );
}

/** The bundle's root filesystem (config.json root.path, relative to the bundle). */
function bundleRootfs(bundle: string): string {
  const configPath = `${bundle}/config.json`;
  let config: { root?: { path?: unknown } };
  try {
    config = JSON.parse(readFileSync(configPath, 'utf8')) as typeof config;
  } catch (err) {
    throw new SandboxError(
      `oci-hook: read ${configPath}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
    );
  }
  const path = config.root?.path;
  if (typeof path !== 'string' || path === '') throw new SandboxError(`oci-hook: ${configPath}: no root.path`);
  return resolve(bundle, path);
}

/**
 * Where the container's root is in its mount namespace now: "" once the init has pivoted into the
 * rootfs (its /proc/<pid>/root is the rootfs), else the rootfs path (createContainer: before
 * pivot_root, the namespace is a copy of the host's and the rootfs sits at the bundle's path).
 */
function rootNow(pid: number, rootfs: string): string {
  const a = statSync(`/proc/${pid}/root`);
  const b = statSync(rootfs);
  return a.dev === b.dev && a.ino === b.ino ? '' : rootfs;
}

/** Whether an error means no daemon listens (the hook then lets the container start without views). */
function noDaemon(err: Error): boolean {
  return /: (ENOENT|ECONNREFUSED)\b/.test(err.message);
}

/** Run the hook for a state; `stage` is "poststop" when told so, else detected from the status. Returns the exit code. */
export async function runOciHook(
  stage: string | undefined,
  stateText: string,
  socketPath: string,
  warn: (line: string) => void,
): Promise<number> {
  const state = parseOciState(stateText);
  if (stage === 'poststop' || state.status === 'stopped') {
    const reply = await ask(socketPath, { op: 'unregister', id: state.id }).catch((err: Error) => {
      if (!noDaemon(err)) throw new SandboxError(`oci-hook: ${err.message}`);
      warn(`sandbox: oci-hook: no daemon at ${socketPath}: nothing to unregister for ${state.id}`);
      return null;
    });
    if (reply && !reply.ok) throw new SandboxError(`oci-hook: ${reply.error}`);
    return 0;
  }
  if (state.pid === undefined)
    throw new SandboxError(`oci-hook: state of ${state.id} (status ${state.status}) has no pid`);
  const pid = hostPidOf(state.pid);
  const root = rootNow(pid, bundleRootfs(state.bundle));
  const reply = await ask(socketPath, { op: 'register', id: state.id, pid, root }).catch((err: Error) => {
    // Fail open when no daemon runs: on a node whose hook config is installed before the daemon
    // is up (the DaemonSet's own pod among them), containers must still start.
    if (!noDaemon(err)) throw new SandboxError(`oci-hook: ${err.message}`);
    warn(`sandbox: oci-hook: no daemon at ${socketPath}: ${state.id} starts without views`);
    return null;
  });
  if (reply && !reply.ok) throw new SandboxError(`oci-hook: ${reply.error}`);
  return 0;
}
