// Pure parsers of /proc/self/cgroup and /proc/self/mountinfo, and the choice between the v1
// (legacy or hybrid) and v2 (unified) layouts. See Documentation/admin-guide/cgroup-v1/cgroups.rst
// ("/proc/<pid>/cgroup": hierarchy-ID:controller-list:cgroup-path), cgroup-v2.rst ("0::$PATH" is
// the unified hierarchy) and Documentation/filesystems/proc.rst (/proc/<pid>/mountinfo fields).
import { posix } from 'node:path';
import type { CgroupMode } from './types.js';

/** One line of /proc/self/cgroup. */
export interface CgroupMembership {
  /** Hierarchy id; 0 is the unified (v2) hierarchy. */
  hierarchyId: number;
  /** Controllers bound to the hierarchy, plus named ones such as "name=systemd"; [] for v2. */
  controllers: string[];
  /** The process's cgroup, relative to the hierarchy root (or to its cgroup namespace root). */
  path: string;
}

/** One cgroup or cgroup2 mount from /proc/self/mountinfo. */
export interface CgroupMount {
  /** "cgroup" (v1) or "cgroup2". */
  fstype: 'cgroup' | 'cgroup2';
  /** Where it is mounted, octal escapes (\040) decoded. */
  mountpoint: string;
  /** The cgroup of the hierarchy shown at the mountpoint ("/" for the whole hierarchy). */
  root: string;
  /** Super options, e.g. ["rw", "cpu", "cpuacct"] or ["rw", "name=systemd"]. */
  superOptions: string[];
}

/** A v1 hierarchy the process belongs to and where its own cgroup is. */
export interface V1Hierarchy {
  /** Controllers of the hierarchy, e.g. ["cpu", "cpuacct"] when co-mounted. */
  controllers: string[];
  /** Mountpoint, e.g. /sys/fs/cgroup/cpu,cpuacct. */
  mountpoint: string;
  /** The process's own cgroup directory, e.g. /sys/fs/cgroup/memory/process_api/6b1b… */
  ownDir: string;
}

/** What the host runs and where this process's own cgroups are. */
export type CgroupLayout =
  | { mode: Extract<CgroupMode, 'v1'>; hierarchies: V1Hierarchy[] }
  | { mode: Extract<CgroupMode, 'v2'>; mountpoint: string; ownDir: string };

/** Parse /proc/self/cgroup ("4:memory:/process_api/6b1b…", "0::/user.slice/…"). */
export function parseProcCgroup(text: string): CgroupMembership[] {
  const out: CgroupMembership[] = [];
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    // The path may itself contain ':', so split on the first two only.
    const first = line.indexOf(':');
    const second = line.indexOf(':', first + 1);
    if (first < 0 || second < 0) throw new Error(`/proc/self/cgroup: malformed line "${line}"`);
    const id = line.slice(0, first);
    if (!/^\d+$/.test(id)) throw new Error(`/proc/self/cgroup: malformed hierarchy id in "${line}"`);
    const list = line.slice(first + 1, second);
    out.push({
      hierarchyId: Number(id),
      controllers: list === '' ? [] : list.split(','),
      path: line.slice(second + 1),
    });
  }
  return out;
}

/** Decode mountinfo's octal escapes (space \040, tab \011, newline \012, backslash \134). */
function unescapeMountField(field: string): string {
  return field.replace(/\\([0-7]{3})/g, (_, oct: string) => String.fromCharCode(parseInt(oct, 8)));
}

/**
 * The cgroup and cgroup2 mounts of /proc/self/mountinfo. Line format (proc.rst): mount-id
 * parent-id major:minor root mountpoint options [optional fields…] - fstype source super-options.
 */
export function parseCgroupMounts(text: string): CgroupMount[] {
  const out: CgroupMount[] = [];
  for (const line of text.split('\n')) {
    const fields = line.trim().split(' ');
    const dash = fields.indexOf('-');
    if (dash < 6 || fields.length < dash + 4) continue;
    const fstype = fields[dash + 1];
    if (fstype !== 'cgroup' && fstype !== 'cgroup2') continue;
    out.push({
      fstype,
      mountpoint: unescapeMountField(fields[4]!),
      root: unescapeMountField(fields[3]!),
      superOptions: fields[dash + 3]!.split(','),
    });
  }
  return out;
}

/** The directory of a cgroup path inside a mount whose root may be a sub-cgroup (bind mounts, containers). */
function dirInMount(mount: CgroupMount, path: string): string {
  let rel: string;
  if (mount.root === '/') rel = path;
  else if (path === mount.root) rel = '/';
  else if (path.startsWith(`${mount.root}/`)) rel = path.slice(mount.root.length);
  else
    throw new Error(
      `cgroup ${path} is outside the part of the hierarchy mounted at ${mount.mountpoint} (mount root ${mount.root})`,
    );
  const dir = posix.join(mount.mountpoint, rel);
  return dir.length > 1 && dir.endsWith('/') ? dir.slice(0, -1) : dir;
}

/** Prefer the conventional mountpoint under /sys/fs/cgroup, then a whole-hierarchy mount, then the first. */
function pickMount(candidates: CgroupMount[], path: string): CgroupMount | undefined {
  const reachable = candidates.filter((m) => m.root === '/' || path === m.root || path.startsWith(`${m.root}/`));
  const pool = reachable.length > 0 ? reachable : candidates;
  return (
    pool.find((m) => m.mountpoint.startsWith('/sys/fs/cgroup') && m.root === '/') ??
    pool.find((m) => m.mountpoint.startsWith('/sys/fs/cgroup')) ??
    pool.find((m) => m.root === '/') ??
    pool[0]
  );
}

/**
 * Decide the layout. v1 (legacy or hybrid) as soon as one v1 hierarchy with real controllers is
 * mounted: named hierarchies (name=systemd) and the hybrid's cgroup2 mount at
 * /sys/fs/cgroup/unified (which holds no controller the sandbox uses) are ignored. v2 when the
 * process's only controller-bearing membership is the unified "0::" line and a cgroup2 fs is
 * mounted (normally at /sys/fs/cgroup). Anything else is an error that says what was found.
 */
export function detectLayout(procSelfCgroup: string, mountinfo: string): CgroupLayout {
  const memberships = parseProcCgroup(procSelfCgroup);
  const mounts = parseCgroupMounts(mountinfo);
  const hierarchies: V1Hierarchy[] = [];
  for (const m of memberships) {
    if (m.hierarchyId === 0) continue;
    const controllers = m.controllers.filter((c) => !c.startsWith('name='));
    if (controllers.length === 0) continue;
    const candidates = mounts.filter(
      (mount) => mount.fstype === 'cgroup' && controllers.every((c) => mount.superOptions.includes(c)),
    );
    const mount = pickMount(candidates, m.path);
    if (!mount) continue; // a hierarchy that isn't mounted in this mount namespace can't be used
    hierarchies.push({ controllers, mountpoint: mount.mountpoint, ownDir: dirInMount(mount, m.path) });
  }
  if (hierarchies.length > 0) return { mode: 'v1', hierarchies };

  const unified = memberships.find((m) => m.hierarchyId === 0);
  const mount = pickMount(
    mounts.filter((m) => m.fstype === 'cgroup2'),
    unified?.path ?? '/',
  );
  if (unified && mount) return { mode: 'v2', mountpoint: mount.mountpoint, ownDir: dirInMount(mount, unified.path) };
  throw new Error(
    `no usable cgroup hierarchy: /proc/self/cgroup lists ${memberships.length} memberships, mountinfo ${mounts.length} cgroup mounts (is cgroupfs mounted at /sys/fs/cgroup?)`,
  );
}
