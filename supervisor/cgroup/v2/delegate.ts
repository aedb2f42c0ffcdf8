// Enabling controllers for the sandbox leaves under the supervisor's own v2 cgroup.
//
// cgroup-v2.rst "No Internal Process Constraint": a non-root cgroup can enable controllers in its
// cgroup.subtree_control only while it holds no processes; writing "+memory" to a populated
// cgroup fails with EBUSY. The supervisor's own cgroup holds at least the supervisor itself.
//
// The choice made here (what container inits such as systemd-in-a-container and crun's
// init do): if enabling fails with EBUSY, move every process of the own cgroup into a leaf
// "<own>/sandbox-supervisor" — moving is not killing, the processes keep running with the same
// limits of the parent — then enable the controllers and put sandboxes beside that leaf as
// "<own>/sandbox-<id>". The leaf stays for the supervisor's lifetime (it can't be removed while
// the supervisor is in it). A later supervisor started from there sees its own cgroup as
// ".../sandbox-supervisor" and uses the parent again (see sandboxParent). If enabling still fails
// after the move (a process keeps arriving, or the cgroup is threaded), the processes are moved
// back, the leaf is removed, and the error says so. Controllers the parent doesn't delegate
// (absent from <own>/cgroup.controllers) are never enabled further up: that is an error asking
// for a delegated cgroup (e.g. systemd-run -p Delegate=yes), not something to change behind the
// host manager's back.
import { posix } from 'node:path';
import { errnoCode, type CgroupFs } from '../fs.js';
import { withContext } from '../../errors.js';
import { parsePidList } from '../keyed.js';

/** Name of the leaf the own cgroup's processes move into. */
export const SUPERVISOR_LEAF = 'sandbox-supervisor';

/** Controllers the v2 manager enables for its leaves. */
const V2_CONTROLLERS = ['cpu', 'cpuset', 'memory', 'pids'] as const;
/** Controllers enabled too when the parent delegates them: io gives the leaf its io.stat (/proc/diskstats). */
const V2_OPTIONAL_CONTROLLERS = ['io'] as const;

/** Where sandbox leaves go: the own cgroup, or its parent when the own cgroup is the supervisor leaf a previous run moved us into. */
export function sandboxParent(ownDir: string, mountpoint: string): string {
  return posix.basename(ownDir) === SUPERVISOR_LEAF && ownDir !== mountpoint ? posix.dirname(ownDir) : ownDir;
}

/** Words of a space-separated controller list (cgroup.controllers, cgroup.subtree_control). */
function words(text: string): string[] {
  return text.trim().split(/\s+/).filter(Boolean);
}

/** Move every process listed in from/cgroup.procs into to/cgroup.procs; exited ones (ESRCH) are skipped. Repeats while new ones appear (bounded). */
async function moveAll(fs: CgroupFs, from: string, to: string): Promise<void> {
  for (let round = 0; round < 20; round++) {
    const pids = parsePidList(fs.read(`${from}/cgroup.procs`));
    if (pids.length === 0) return;
    for (const pid of pids) {
      await fs.write(`${to}/cgroup.procs`, String(pid)).catch((err: unknown) => {
        if (errnoCode(err) !== 'ESRCH') throw err;
      });
    }
  }
}

/**
 * Make sure cpu, cpuset, memory and pids (and io where delegated) are enabled in
 * dir/cgroup.subtree_control, moving dir's processes into dir/sandbox-supervisor if the kernel
 * insists (see the file comment).
 */
export async function enableControllers(fs: CgroupFs, dir: string, isRoot: boolean): Promise<void> {
  const enabled = words(fs.read(`${dir}/cgroup.subtree_control`));
  const available = words(fs.read(`${dir}/cgroup.controllers`));
  const missing = [
    ...V2_CONTROLLERS.filter((c) => !enabled.includes(c)),
    ...V2_OPTIONAL_CONTROLLERS.filter((c) => !enabled.includes(c) && available.includes(c)),
  ];
  if (missing.length === 0) return;
  const undelegated = missing.filter((c) => !available.includes(c));
  if (undelegated.length > 0) {
    throw new Error(
      `controller(s) ${undelegated.join(', ')} not available in ${fs.resolve(`${dir}/cgroup.controllers`)} ("${available.join(' ')}"): ` +
        'the parent cgroup does not delegate them; start the supervisor in a delegated cgroup (e.g. systemd-run --scope -p Delegate=yes …)',
    );
  }
  const value = missing.map((c) => `+${c}`).join(' ');
  try {
    await fs.write(`${dir}/cgroup.subtree_control`, value);
    return;
  } catch (err) {
    if (isRoot || errnoCode(err) !== 'EBUSY') throw err;
  }

  // EBUSY: the own cgroup holds processes. Move them into a leaf and retry.
  const leaf = posix.join(dir, SUPERVISOR_LEAF);
  let madeLeaf = false;
  try {
    await fs.mkdir(leaf);
    madeLeaf = true;
  } catch (err) {
    if (errnoCode(err) !== 'EEXIST') throw withContext(`moving the processes of ${fs.resolve(dir)} into a leaf`, err);
  }
  try {
    await moveAll(fs, dir, leaf);
    await fs.write(`${dir}/cgroup.subtree_control`, value);
  } catch (err) {
    // Put things back as they were: processes home, the leaf gone (if we made it).
    await moveAll(fs, leaf, dir).catch(() => undefined);
    if (madeLeaf) await fs.rmdir(leaf).catch(() => undefined);
    throw withContext(
      `can't enable controllers in ${fs.resolve(dir)} even after moving its processes into ${fs.resolve(leaf)} (no internal processes rule, cgroup-v2.rst)`,
      err,
    );
  }
}
