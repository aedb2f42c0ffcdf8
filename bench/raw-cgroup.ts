// The kernel ideal beside ours: the same CPU quota written by hand into a cgroup the bench makes under
// its own cgroup (never elsewhere on this shared machine), with the workload started inside it
// (a shell writes its own pid to cgroup.procs, then execs the workload), removed afterwards.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { CgroupFs, enableControllers, sandboxParent } from '../supervisor/cgroup/index.js';

/** A hand-made cgroup with a CPU quota. */
export interface RawCgroup {
  dirs: string[];
  /** Start `command` inside the cgroup. */
  spawn(command: string[], stdout?: 'pipe' | 'ignore'): ChildProcess;
  /** Write a new quota (µs per period; -1 = none) straight to the kernel file. */
  setQuota(quotaUs: number): void;
  /** Kill what is left in it and remove it. */
  remove(): Promise<void>;
}

/** Mount point of the cgroup hierarchy holding `controller` (v1), or of cgroup2 with `null`, from /proc/self/mountinfo. */
function mountOf(controller: string | null): { dir: string; root: string } | null {
  for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    // proc(5) mountinfo: id parent major:minor root mountpoint options - fstype source superoptions
    const [pre, post] = line.split(' - ');
    if (!pre || !post) continue;
    const f = pre.split(' ');
    const [fstype, , superOptions] = post.split(' ');
    if (
      controller === null ? fstype === 'cgroup2' : fstype === 'cgroup' && superOptions?.split(',').includes(controller)
    ) {
      return { dir: f[4]!, root: f[3]! };
    }
  }
  return null;
}

/** This process's cgroup path in the hierarchy of `controller` ('' for v2's "0::" line), from /proc/self/cgroup. */
function ownPath(controller: string): string | null {
  for (const line of readFileSync('/proc/self/cgroup', 'utf8').split('\n')) {
    const [, controllers, path] = line.split(':');
    if (controllers === undefined || path === undefined) continue;
    if (controllers.split(',').includes(controller)) return path;
  }
  return null;
}

/**
 * The directory of a new child cgroup named `name` under our own, in each hierarchy needed. On v2
 * it goes beside the sandboxes, where they go (supervisor/cgroup/v2/delegate.ts): our own cgroup,
 * with the controllers enabled the way the supervisor does it (moving its processes into the
 * sandbox-supervisor leaf if the no internal processes rule demands), or that leaf's parent.
 */
async function childDirs(name: string): Promise<{ dirs: string[]; v2: boolean }> {
  const dirs: string[] = [];
  for (const controller of ['cpu', 'cpuacct']) {
    const mount = mountOf(controller);
    const own = ownPath(controller);
    if (!mount || own === null) continue;
    const rel = own.startsWith(mount.root) ? own.slice(mount.root.length) : own;
    const dir = `${mount.dir}/${rel}/${name}`.replace(/\/+/g, '/');
    if (!dirs.includes(dir)) dirs.push(dir);
  }
  if (dirs.length > 0) return { dirs, v2: false };
  const mount = mountOf(null);
  const own = ownPath('');
  if (!mount || own === null)
    throw new Error('no cgroup hierarchy with the cpu controller found in /proc/self/mountinfo');
  const parent = sandboxParent(`${mount.dir}/${own}`.replace(/\/+/g, '/').replace(/\/$/, ''), mount.dir);
  await enableControllers(new CgroupFs('/'), parent, parent === mount.dir);
  return { dirs: [`${parent}/${name}`], v2: true };
}

/** Create `name` under our own cgroup with quota/period (and burst) in µs. */
export async function createRawCgroup(
  name: string,
  quotaUs: number,
  periodUs: number,
  burstUs = 0,
): Promise<RawCgroup> {
  const { dirs, v2 } = await childDirs(name);
  const made: string[] = [];
  const cpuDir = v2 ? dirs[0]! : (dirs.find((d) => d.includes('/cpu/') || !d.includes('cpuacct')) ?? dirs[0]!);
  const setQuota = (q: number) => {
    if (v2) writeFileSync(`${cpuDir}/cpu.max`, `${q < 0 ? 'max' : q} ${periodUs}`);
    else writeFileSync(`${cpuDir}/cpu.cfs_quota_us`, String(q));
  };
  try {
    for (const d of dirs) {
      mkdirSync(d);
      made.push(d);
    }
    if (v2) {
      // cgroup-v2.rst: cpu.max appears only when the parent's cgroup.subtree_control enables cpu,
      // which a parent with processes can't do ("no internal processes"): say so rather than guess.
      try {
        readFileSync(`${cpuDir}/cpu.max`);
      } catch {
        throw new Error(`the cpu controller is not enabled for children of ${cpuDir}/..`);
      }
    } else {
      writeFileSync(`${cpuDir}/cpu.cfs_period_us`, String(periodUs));
      if (burstUs > 0) writeFileSync(`${cpuDir}/cpu.cfs_burst_us`, String(burstUs));
    }
    setQuota(quotaUs);
  } catch (err) {
    for (const d of made.reverse()) rmdirSync(d);
    throw err;
  }
  const procs = dirs.map((d) => `${d}/cgroup.procs`);
  return {
    dirs,
    setQuota,
    spawn(command, stdout = 'ignore') {
      // The shell moves itself in before exec: the workload's first instruction runs under the quota.
      const script = `for f in ${procs.join(' ')}; do echo $$ > "$f" || exit 125; done; exec "$@"`;
      return spawn('sh', ['-c', script, 'sh', ...command], { stdio: ['ignore', stdout, 'inherit'] });
    },
    async remove() {
      for (let attempt = 0; ; attempt++) {
        const pids = readFileSync(procs[0]!, 'utf8').split('\n').filter(Boolean).map(Number);
        for (const pid of pids) {
          try {
            process.kill(pid, 'SIGKILL'); // only pids in our own cgroup: started by us
          } catch {
            /* already gone */
          }
        }
        try {
          for (const d of [...dirs].reverse()) rmdirSync(d);
          return;
        } catch (err) {
          // rmdir fails with EBUSY until the killed tasks are gone (cgroup_rmdir: cgroup_is_populated).
          if (attempt >= 50) throw err;
          await sleep(20);
        }
      }
    },
  };
}
