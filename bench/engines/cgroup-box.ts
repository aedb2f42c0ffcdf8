// A cgroup of the test's own for a container engine: `<own>/sandbox-engines-<pid>` in every mounted
// hierarchy (named ones too: runc also creates its path in name=systemd), with `daemon` for the
// engine's processes (so every process it starts, containerd and the shims included, can be found
// and ended by pid) and an absolute cgroup path the engine gives its containers as --cgroup-parent.
// The engines take ONE cgroup path for all hierarchies (runc's cgroupfs driver joins it below each
// hierarchy's root: libcontainer/cgroups/fs/paths.go subsysPath), while this process may sit at a
// different depth in each: the path is built on the deepest own cgroup, and is below our own
// cgroup in every hierarchy only when every other own path is an ancestor of that one.
// Used by the engine tests (test/helpers/engines/) and the bench's engine peers (bench/engine-peers.ts).
import { existsSync, mkdirSync, readFileSync, readdirSync, rmdirSync, statSync, writeFileSync } from 'node:fs';
import { posix } from 'node:path';
import { waitFor } from './wait.js';

const ROOT = '/sys/fs/cgroup';

/** This process's cgroup per mounted hierarchy: [hierarchy dir under /sys/fs/cgroup, own path]. */
function ownCgroups(): [string, string][] {
  const pure2 = existsSync(`${ROOT}/cgroup.controllers`);
  const found: [string, string][] = [];
  for (const line of readFileSync('/proc/self/cgroup', 'utf8').trim().split('\n')) {
    const [, controllers = '', path = '/'] = line.split(':');
    let dir: string;
    if (controllers === '') dir = pure2 ? ROOT : `${ROOT}/unified`;
    else if (controllers.startsWith('name=')) dir = `${ROOT}/${controllers.slice('name='.length)}`;
    else dir = `${ROOT}/${controllers}`;
    if (existsSync(`${dir}/cgroup.procs`)) found.push([dir, path]);
  }
  return found;
}

/** The deepest own cgroup path, or why no single path is below our own cgroup in every hierarchy. */
function commonOwnPath(): { path: string } | { missing: string } {
  const own = ownCgroups();
  const deepest = own.map(([, p]) => p).sort((a, b) => b.length - a.length)[0] ?? '/';
  for (const [dir, p] of own) {
    if (p !== '/' && deepest !== p && !deepest.startsWith(`${p}/`)) {
      return { missing: `one cgroup path below ours in every hierarchy: ${dir} has ${p}, another ${deepest}` };
    }
  }
  return { path: deepest };
}

/** Why the engines can't get a cgroup of ours here (something the machine lacks), or null. */
export function cgroupBoxMissing(): string | null {
  // Pure v2: the engines' container cgroups need memory/cpu enabled below our own cgroup, which
  // holds this process (cgroup-v2.rst "No Internal Process Constraint"); the supervisor moves
  // itself to a leaf for that (supervisor/cgroup/v2/delegate.ts), these tests do not yet.
  if (existsSync(`${ROOT}/cgroup.controllers`))
    return 'a cgroup v1 (hybrid) host: on pure v2 the engines would need controllers delegated below our own cgroup (not done yet)';
  const r = commonOwnPath();
  return 'missing' in r ? r.missing : null;
}

/** A cgroup subtree of the test's own for one engine. */
export interface CgroupBox {
  /** The absolute cgroup path (same in every hierarchy) for the engine's --cgroup-parent. */
  readonly containersParent: string;
  /** `cgroup.procs` of the engine's own cgroup in every hierarchy (a shell joins them before exec). */
  readonly daemonProcs: string[];
  /** Pids in the engine's cgroup and below (every hierarchy holds them all: read the first one). */
  pids(): number[];
  /** SIGKILL what is left in the subtree, wait until it is empty, remove it bottom-up. */
  remove(): Promise<void>;
}

/** Copy cpuset.cpus/mems from the parent (a new v1 cpuset cgroup starts empty and takes no task). */
function inheritCpuset(dir: string): void {
  for (const f of ['cpuset.cpus', 'cpuset.mems']) {
    const mine = `${dir}/${f}`;
    if (existsSync(mine) && readFileSync(mine, 'utf8').trim() === '')
      writeFileSync(mine, readFileSync(`${posix.dirname(dir)}/${f}`, 'utf8'));
  }
}

/** Directories of a subtree, deepest first. */
function subtree(dir: string): string[] {
  if (!existsSync(dir)) return [];
  const below = readdirSync(dir).filter((n) => statSync(`${dir}/${n}`).isDirectory());
  return [...below.flatMap((n) => subtree(`${dir}/${n}`)), dir];
}

/** Pids of every cgroup in a subtree. */
function pidsIn(dir: string): number[] {
  return subtree(dir).flatMap((d) => {
    try {
      return readFileSync(`${d}/cgroup.procs`, 'utf8').split('\n').filter(Boolean).map(Number);
    } catch {
      return [];
    }
  });
}

/** rmdir a cgroup, retrying while the kernel still holds it (EBUSY); gone already is fine. */
async function removeCgroupDir(d: string): Promise<void> {
  await waitFor(() => {
    try {
      rmdirSync(d);
      return true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return true;
      if ((err as NodeJS.ErrnoException).code !== 'EBUSY') throw err;
      return false;
    }
  }, `rmdir ${d}`);
}

/**
 * Create `<own>/<name>` and `<own>/<name>/daemon` in every hierarchy. In a hierarchy where this
 * process sits higher than the deepest own path, the directories between are made one at a time
 * (each with its parent's cpuset) and removed again with the box when nothing else uses them.
 */
export function createCgroupBox(name: string): CgroupBox {
  const common = commonOwnPath();
  if ('missing' in common) throw new Error(common.missing);
  const rel = posix.join(common.path, name);
  const bases = ownCgroups().map(([dir]) => `${dir}${rel}`);
  /** Ancestors of a base made here, deepest first. */
  const madeAbove: string[] = [];
  for (const [dir] of ownCgroups()) {
    let d = dir;
    for (const part of rel.split('/').filter(Boolean)) {
      d = `${d}/${part}`;
      if (existsSync(d)) continue;
      mkdirSync(d);
      inheritCpuset(d);
      if (d !== `${dir}${rel}`) madeAbove.unshift(d);
    }
    mkdirSync(`${d}/daemon`, { recursive: true });
    inheritCpuset(`${d}/daemon`);
  }
  return {
    containersParent: `${rel}/containers`,
    daemonProcs: bases.map((b) => `${b}/daemon/cgroup.procs`),
    pids: () => [...new Set(bases.flatMap(pidsIn))],
    remove: async () => {
      for (const pid of [...new Set(bases.flatMap(pidsIn))]) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // gone meanwhile
        }
      }
      await waitFor(() => bases.every((b) => pidsIn(b).length === 0), `the engine's cgroups ${bases[0]} to be empty`);
      for (const base of bases) for (const d of subtree(base)) await removeCgroupDir(d);
      for (const d of madeAbove) {
        // Another user's child (or task) appeared meanwhile: it is no longer ours alone to remove.
        const busy =
          readdirSync(d).some((n) => statSync(`${d}/${n}`).isDirectory()) ||
          readFileSync(`${d}/cgroup.procs`, 'utf8').trim() !== '';
        if (!busy) await removeCgroupDir(d);
      }
    },
  };
}
