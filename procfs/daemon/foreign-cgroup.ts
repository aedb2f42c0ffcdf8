// The cgroup of a process we did not start (a runc/crun container's init), opened read-only for its
// views. It reuses the sandbox's cgroup managers for their readers only: the type below has no
// create, apply, addPid, killAll or destroy, and the manager gets a signal function that refuses,
// so the daemon can never create, change, signal or remove a cgroup it doesn't own.
import { readFileSync } from 'node:fs';
import { posix } from 'node:path';
import { CgroupFs, detectLayout, V1Manager, V2Manager, type CgroupManager } from '../../supervisor/cgroup/index.js';

/** The readers of a CgroupManager: all the views need. */
export type ReadOnlyCgroup = Pick<CgroupManager, 'mode' | 'dirs' | 'memoryStats' | 'cpuStats' | 'ioStats' | 'pressureStats' | 'limitsKey' | 'threads'>;

/** A SignalFn that refuses: a foreign cgroup's processes are not ours to signal. */
function neverSignal(pid: number, signal: NodeJS.Signals): void {
  throw new Error(`refusing to send ${signal} to pid ${pid}: a foreign cgroup is read-only`);
}

/**
 * Open the cgroup of `pid` read-only from its /proc/<pid>/cgroup (proc(5): "hierarchy-ID:
 * controller-list:cgroup-path", paths relative to OUR cgroup namespace root, which is why the daemon
 * must run in the host's cgroup namespace) and the hierarchies mounted in our mount namespace.
 * The container must have a cgroup of its own in every hierarchy the views read: a process in a
 * hierarchy's root cgroup would get the host's figures under a container's name, so that is refused.
 */
export function openForeignCgroup(pid: number, root = '/'): ReadOnlyCgroup {
  const cgroupFile = `/proc/${pid}/cgroup`;
  let cgroupText: string;
  try {
    cgroupText = readFileSync(posix.join(root, cgroupFile), 'utf8');
  } catch (err) {
    throw new Error(`read ${cgroupFile}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message} (is pid ${pid} alive, and in our pid namespace?)`);
  }
  return openCgroupOf(cgroupText, readFileSync(posix.join(root, '/proc/self/mountinfo'), 'utf8'), `pid ${pid}`, root);
}

/** Controllers of the v1 hierarchies the views read (and freezer, which the managers list). */
export const VIEW_CONTROLLERS: readonly string[] = ['cpu', 'cpuacct', 'cpuset', 'memory', 'pids', 'blkio', 'freezer'];

/**
 * openForeignCgroup from text already read: `cgroupText` is a /proc/<pid>/cgroup, `mountinfo` our
 * /proc/self/mountinfo; `who` names the process in errors. The reader-routed views (procfs/reader-views.ts)
 * read the cgroup file of each reader once and open its cgroup from that text.
 */
export function openCgroupOf(cgroupText: string, mountinfo: string, who: string, root = '/'): ReadOnlyCgroup {
  const layout = detectLayout(cgroupText, mountinfo);
  const fs = new CgroupFs(root);
  if (layout.mode === 'v2') {
    if (layout.ownDir === layout.mountpoint) throw new Error(`${who} is in the root cgroup of ${layout.mountpoint}: no limits of its own to show`);
    return new V2Manager(fs, layout.mountpoint, posix.dirname(layout.ownDir), posix.basename(layout.ownDir), neverSignal);
  }
  // One leaf name for all hierarchies (runc's and crun's cgroupfs drivers and systemd scopes use the
  // same path in each): the managers address the leaf as <parent>/<name> in every hierarchy.
  const used = layout.hierarchies.filter((h) => h.controllers.some((c) => VIEW_CONTROLLERS.includes(c)));
  const atRoot = used.find((h) => h.ownDir === h.mountpoint);
  if (atRoot) throw new Error(`${who} is in the root cgroup of ${atRoot.mountpoint}: no limits of its own to show`);
  const names = new Set(used.map((h) => posix.basename(h.ownDir)));
  if (names.size !== 1) throw new Error(`${who}'s cgroups have different leaf names (${[...names].join(', ')}): not one container's`);
  const leaf = [...names][0]!;
  return new V1Manager(fs, layout.hierarchies.map((h) => ({ ...h, ownDir: posix.dirname(h.ownDir) })), leaf, neverSignal);
}
