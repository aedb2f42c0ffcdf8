// The cgroup of a process we did not start (a runc/crun container's init), opened read-only for its
// views (openCgroupReader: a CgroupReader, whose manager refuses to signal), so the daemon can
// never create, change, signal or remove a cgroup it doesn't own.
import { readFileSync } from 'node:fs';
import { posix } from 'node:path';
import { CgroupFs, detectLayout, openCgroupReader, type CgroupReader } from '../../supervisor/cgroup/index.js';

/**
 * Open the cgroup of `pid` read-only from its /proc/<pid>/cgroup (proc(5): "hierarchy-ID:
 * controller-list:cgroup-path", paths relative to OUR cgroup namespace root, which is why the daemon
 * must run in the host's cgroup namespace) and the hierarchies mounted in our mount namespace.
 * The container must have a cgroup of its own in every hierarchy the views read: a process in a
 * hierarchy's root cgroup would get the host's figures under a container's name, so that is refused.
 */
export function openForeignCgroup(pid: number, root = '/'): CgroupReader {
  const cgroupFile = `/proc/${pid}/cgroup`;
  let cgroupText: string;
  try {
    cgroupText = readFileSync(posix.join(root, cgroupFile), 'utf8');
  } catch (err) {
    throw new Error(
      `read ${cgroupFile}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message} (is pid ${pid} alive, and in our pid namespace?)`,
    );
  }
  return openCgroupOf(cgroupText, readFileSync(posix.join(root, '/proc/self/mountinfo'), 'utf8'), `pid ${pid}`, root);
}

/** Controllers of the v1 hierarchies the views read (and freezer, which the managers list). */
export const VIEW_CONTROLLERS: readonly string[] = ['cpu', 'cpuacct', 'cpuset', 'memory', 'pids', 'blkio', 'freezer'];

/**
 * openForeignCgroup from text already read: `cgroupText` is a /proc/<pid>/cgroup, `mountinfo` our
 * /proc/self/mountinfo; `who` names the process in errors. The reader-routed views (procfs/reader-views.ts)
 * read the cgroup file of each reader once and open its cgroup from that text. `fs` keeps the
 * descriptors the reads open: a caller that passes its own closes them (closeAll) once the cgroup goes.
 */
export function openCgroupOf(
  cgroupText: string,
  mountinfo: string,
  who: string,
  root = '/',
  fs = new CgroupFs(root),
): CgroupReader {
  const layout = detectLayout(cgroupText, mountinfo);
  if (layout.mode === 'v2') {
    if (layout.ownDir === layout.mountpoint)
      throw new Error(`${who} is in the root cgroup of ${layout.mountpoint}: no limits of its own to show`);
    return openCgroupReader(layout, root, fs);
  }
  // openCgroupReader needs one leaf name in every hierarchy; checked here first to name `who`.
  const used = layout.hierarchies.filter((h) => h.controllers.some((c) => VIEW_CONTROLLERS.includes(c)));
  const atRoot = used.find((h) => h.ownDir === h.mountpoint);
  if (atRoot) throw new Error(`${who} is in the root cgroup of ${atRoot.mountpoint}: no limits of its own to show`);
  const names = new Set(used.map((h) => posix.basename(h.ownDir)));
  if (names.size !== 1)
    throw new Error(`${who}'s cgroups have different leaf names (${[...names].join(', ')}): not one container's`);
  return openCgroupReader(layout, root, fs);
}
