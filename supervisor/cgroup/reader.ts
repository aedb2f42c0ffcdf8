// A cgroup opened to be read only: a sandbox's own, in the view server's workers, or a container's
// we did not start, in the views daemon. The managers serve its reads; the type returned has no
// create, apply, addPid, freeze, killAll or destroy, and the manager gets a signal function that
// refuses, so a reader can never create, change, signal or remove a cgroup.
import { posix } from 'node:path';
import type { CgroupLayout } from './detect.js';
import { CgroupFs } from './fs.js';
import type { CgroupReader } from './types.js';
import { V1_OPTIONAL, V1_REQUIRED, V1Manager } from './v1/manager.js';
import { V2Manager } from './v2/manager.js';

/** A SignalFn that refuses: a reader only reads. */
function refuseSignal(pid: number, signal: NodeJS.Signals): void {
  throw new Error(`refusing to send ${signal} to pid ${pid}: this cgroup was opened read-only`);
}

/**
 * Open read-only the cgroup whose directory in each hierarchy is the layout's ownDir: what
 * detectLayout returns for a process inside it. Synchronous, so a worker serving FUSE requests can
 * open one. On v1 the leaves must have one name in every hierarchy the manager reads (runc's and
 * crun's cgroupfs drivers, systemd scopes and our sandboxes use the same path in each): the
 * manager addresses the leaf as <parent>/<name> in every hierarchy. `fs` keeps the descriptors the
 * reads open; a caller that passes its own closes them (closeAll) when it stops reading.
 */
export function openCgroupReader(layout: CgroupLayout, root = '/', fs = new CgroupFs(root)): CgroupReader {
  if (layout.mode === 'v2')
    return new V2Manager(
      fs,
      layout.mountpoint,
      posix.dirname(layout.ownDir),
      posix.basename(layout.ownDir),
      refuseSignal,
    );
  const read: readonly string[] = [...V1_REQUIRED, ...V1_OPTIONAL];
  const used = layout.hierarchies.filter((h) => h.controllers.some((c) => read.includes(c)));
  const names = new Set(used.map((h) => posix.basename(h.ownDir)));
  if (names.size !== 1) throw new Error(`cgroup leaves have different names (${[...names].join(', ')})`);
  const leaf = [...names][0]!;
  return new V1Manager(
    fs,
    layout.hierarchies.map((h) => ({ ...h, ownDir: posix.dirname(h.ownDir) })),
    leaf,
    refuseSignal,
  );
}
