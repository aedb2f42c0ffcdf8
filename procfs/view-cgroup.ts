// A cgroup's views are rendered in the FUSE worker that reads the request, so each worker opens the
// cgroup itself, read-only, from a description that crosses threads as plain data: the layout of
// the cgroup's own leaf directories (what detectLayout returns for a process inside it) and the
// root the paths are read under. Built once where the cgroup is known (`sandbox run`: its manager;
// the daemon: a container's /proc/<pid>/cgroup).
import { readFileSync } from 'node:fs';
import { posix } from 'node:path';
import {
  CgroupFs,
  detectLayout,
  openCgroupReader,
  type CgroupLayout,
  type CgroupReader,
} from '../supervisor/cgroup/index.js';

/** A cgroup as plain data: its leaf in each hierarchy (layout ownDirs) and the root paths are read under. */
export interface CgroupDescription {
  root: string;
  layout: CgroupLayout;
}

/**
 * Describe the cgroup whose leaf directories are `dirs` (CgroupManager.dirs, resolved under root):
 * this process's own layout with each hierarchy's directory replaced by the leaf under its mount.
 */
export function describeCgroup(dirs: readonly string[], root = '/'): CgroupDescription {
  const read = (p: string) => readFileSync(posix.join(root, p), 'utf8');
  const layout = detectLayout(read('/proc/self/cgroup'), read('/proc/self/mountinfo'));
  const host = dirs.map((d) => (root !== '/' && d.startsWith(`${root}/`) ? d.slice(root.length) : d));
  const leafIn = (mountpoint: string) => host.find((d) => d.startsWith(`${mountpoint}/`)) ?? null;
  if (layout.mode === 'v2') {
    const leaf = leafIn(layout.mountpoint);
    if (leaf === null) throw new Error(`no cgroup directory under ${layout.mountpoint} among ${dirs.join(' ')}`);
    return { root, layout: { ...layout, ownDir: leaf } };
  }
  const hierarchies = layout.hierarchies.flatMap((h) => {
    const leaf = leafIn(h.mountpoint);
    return leaf === null ? [] : [{ ...h, ownDir: leaf }];
  });
  return { root, layout: { mode: 'v1', hierarchies } };
}

/**
 * Open a described cgroup read-only (synchronous: a worker serving FUSE requests cannot await).
 * `fs` keeps the descriptors its reads open: its closeAll() releases them once the cgroup is no
 * longer served (the managers close theirs only in destroy(), which a reader never calls).
 */
export function openDescribedCgroup(d: CgroupDescription, fs = new CgroupFs(d.root)): CgroupReader {
  return openCgroupReader(d.layout, d.root, fs);
}
