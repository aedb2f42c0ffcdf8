// Entry point: detect the host's cgroup layout once and return the manager for one sandbox.
// The sandbox leaf "sandbox-<id>" goes under this process's OWN cgroup in each hierarchy (from
// /proc/self/cgroup), never at a hierarchy root: on this kind of machine the memory cgroup of every
// process is a nested /process_api/<hash>, and on systemd hosts the root belongs to systemd.
import { posix } from 'node:path';
import { detectLayout, type CgroupLayout } from './detect.js';
import { CgroupFs } from './fs.js';
import { withContext } from '../errors.js';
import { defaultSignal, type SignalFn } from './lifecycle.js';
import type { CgroupManager } from './types.js';
import { V1Manager, V1_OPTIONAL, V1_REQUIRED } from './v1/manager.js';
import { V2Manager } from './v2/manager.js';

// This is the cgroup library's one public module: supervisor/, procfs/ and bench/ import it from
// here only, and nothing in supervisor/cgroup/ imports the supervisor or procfs (.dependency-cruiser.cjs).

/** How a manager signals pids (tests pass a stub). */
export type { SignalFn } from './lifecycle.js';
/** The cgroupfs accessor and its error type, for callers that inspect errno. */
export { CgroupFs, CgroupFsError, errnoCode } from './fs.js';
/** The manager's interface and the limits and figures it writes and reads. */
export type * from './types.js';
/** The host's cgroup layout from /proc/<pid>/cgroup and mountinfo (doctor, the views, the daemon). */
export { detectLayout, parseProcCgroup, type CgroupLayout } from './detect.js';
/** cpuset.cpus lists ("0-3,8") both ways. */
export { formatCpuList, parseCpuList } from './cpulist.js';
/** The v1 manager's required controllers (doctor lists the missing ones). */
export { V1_REQUIRED } from './v1/manager.js';
/** The one way to open a cgroup read-only (the views, the daemon's foreign containers). */
export { openCgroupReader } from './reader.js';
/** v2 delegation: where sandboxes go and how controllers are enabled (the bench's raw cgroups). */
export { enableControllers, sandboxParent } from './v2/delegate.js';

/** Options of openCgroup; everything but id is for tests and tools. */
export interface OpenCgroupOptions {
  /** Sandbox id: the leaf is named "sandbox-<id>". Letters, digits, '_', '.', '-'. */
  id: string;
  /** Root dir the host paths are read under ("/" live; a fixture dir in tests). */
  root?: string;
  /** /proc/self/cgroup text (default: read <root>/proc/self/cgroup). */
  procSelfCgroup?: string;
  /** /proc/self/mountinfo text (default: read <root>/proc/self/mountinfo). */
  mountinfo?: string;
  /** A CgroupFs to use instead of new CgroupFs(root) (tests pass one that emulates cgroupfs). */
  fs?: CgroupFs;
  /** How to signal pids (default process.kill on the live root; refused on any other root). */
  kill?: SignalFn;
  /**
   * The sandbox's leaf directories as its supervisor recorded them (state.json cgroupDirs). Given,
   * they replace "under this process's own cgroup": `sandbox ps`, `exec` or `update` may run from
   * another cgroup than the supervisor (here each session has its own memory cgroup).
   */
  dirs?: readonly string[];
}

/** Re-root each v1 hierarchy (or the v2 tree) at the parent of the recorded leaf that lies in it. */
function placeAt(layout: CgroupLayout, dirs: readonly string[], leafName: string): CgroupLayout {
  const parentIn = (mountpoint: string): string | null => {
    const leaf = dirs.find((d) => d.startsWith(`${mountpoint}/`) && posix.basename(d) === leafName);
    return leaf === undefined ? null : posix.dirname(leaf);
  };
  const missing = (mountpoint: string): Error =>
    new Error(`no recorded ${leafName} directory under ${mountpoint} (recorded: ${dirs.join(' ')})`);
  if (layout.mode === 'v2') {
    const ownDir = parentIn(layout.mountpoint);
    if (ownDir === null) throw missing(layout.mountpoint);
    return { ...layout, ownDir };
  }
  const used: readonly string[] = [...V1_REQUIRED, ...V1_OPTIONAL];
  const hierarchies = layout.hierarchies.map((h) => {
    const ownDir = parentIn(h.mountpoint);
    if (ownDir !== null) return { ...h, ownDir };
    if (h.controllers.some((c) => used.includes(c))) throw missing(h.mountpoint);
    return h; // a hierarchy the sandbox has no leaf in (blkio, devices): never touched
  });
  return { mode: 'v1', hierarchies };
}

/** Layouts detected on the live system, per root: the mode is detected once per process. */
const detected = new Map<string, Promise<CgroupLayout>>();

/** Detect (or reuse) the layout. Only reads of the real /proc/self files are cached; given texts are parsed each time. */
async function layoutFor(fs: CgroupFs, opts: OpenCgroupOptions): Promise<CgroupLayout> {
  if (opts.procSelfCgroup !== undefined && opts.mountinfo !== undefined)
    return detectLayout(opts.procSelfCgroup, opts.mountinfo);
  const key = fs.root;
  let pending = detected.get(key);
  if (!pending || opts.procSelfCgroup !== undefined || opts.mountinfo !== undefined) {
    pending = (async () => {
      const cgroupText = opts.procSelfCgroup ?? fs.read('/proc/self/cgroup');
      const mountinfoText = opts.mountinfo ?? fs.read('/proc/self/mountinfo');
      return detectLayout(cgroupText, mountinfoText);
    })();
    if (opts.procSelfCgroup === undefined && opts.mountinfo === undefined) {
      detected.set(key, pending);
      pending.catch(() => detected.delete(key)); // don't cache a failure
    }
  }
  return pending;
}

/** Detect v1 or v2 and return the manager of sandbox `id` (nothing is created until create()). */
export async function openCgroup(opts: OpenCgroupOptions): Promise<CgroupManager> {
  if (!/^[A-Za-z0-9_.-]+$/.test(opts.id) || opts.id === '.' || opts.id === '..') {
    throw new Error(`invalid sandbox id "${opts.id}": use letters, digits, '_', '.', '-'`);
  }
  const fs = opts.fs ?? new CgroupFs(opts.root ?? '/');
  const send = opts.kill ?? defaultSignal(fs.root);
  let layout: CgroupLayout;
  try {
    layout = await layoutFor(fs, opts);
  } catch (err) {
    throw withContext('detecting the cgroup layout', err);
  }
  const leafName = `sandbox-${opts.id}`;
  if (opts.dirs) {
    // Recorded dirs are resolved paths (manager.dirs): under a fixture root, strip it again.
    const host = opts.dirs.map((d) => (fs.root !== '/' && d.startsWith(`${fs.root}/`) ? d.slice(fs.root.length) : d));
    layout = placeAt(layout, host, leafName);
  }
  if (layout.mode === 'v1') return new V1Manager(fs, layout.hierarchies, leafName, send);
  return new V2Manager(fs, layout.mountpoint, layout.ownDir, leafName, send);
}
