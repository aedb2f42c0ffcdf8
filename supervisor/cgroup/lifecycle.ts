// Steps shared by the v1 and v2 managers for creating and tearing down leaf cgroups: signalling
// pids, waiting for a cgroup to empty, rmdir with a short retry, and undoing a half-done create().
import { sleep } from '../sleep.js';
import { errnoCode, type CgroupFs } from './fs.js';
import { withContext } from '../errors.js';

/** How the managers send a signal; process.kill on a live system, a stub in fixture tests. */
export type SignalFn = (pid: number, signal: NodeJS.Signals) => void;

/** process.kill for the live root "/"; for any other root (a fixture copy) a function that refuses, so a test can never signal a recycled pid. */
export function defaultSignal(root: string): SignalFn {
  if (root === '/') return (pid, signal) => process.kill(pid, signal);
  return (pid) => {
    throw new Error(`refusing to signal pid ${pid}: the cgroup root ${root} is not the live system (pass opts.kill)`);
  };
}

/** Signal every pid; a pid that already exited (ESRCH) is fine. */
export function signalPids(send: SignalFn, pids: readonly number[], signal: NodeJS.Signals): void {
  for (const pid of pids) {
    try {
      send(pid, signal);
    } catch (err) {
      if (errnoCode(err) !== 'ESRCH') throw withContext(`kill(${pid}, ${signal})`, err);
    }
  }
}

/**
 * SIGKILL until the cgroup is empty, bounded. A killed process leaves cgroup.procs only once it
 * has exited (and been reaped if it is our child: zombies count), and a process that forks while
 * being killed can add a pid, so kill again on every poll.
 */
export async function killUntilEmpty(
  listPids: () => number[],
  killRound: () => Promise<void>,
  timeoutMs = 2000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (let delay = 5; ; delay = Math.min(delay * 2, 100)) {
    const pids = await listPids();
    if (pids.length === 0) return;
    if (Date.now() >= deadline) {
      throw new Error(
        `still holds pid(s) ${pids.join(' ')} ${timeoutMs} ms after SIGKILL (unkillable, e.g. in uninterruptible sleep?)`,
      );
    }
    await killRound();
    await sleep(delay);
  }
}

/**
 * rmdir a leaf; ENOENT means already gone. Right after its last task exits the kernel may still
 * report the cgroup as populated and refuse with EBUSY (the css is released asynchronously,
 * Documentation/admin-guide/cgroup-v2.rst "Removing a cgroup"), so retry briefly.
 */
export async function rmdirWithRetry(fs: CgroupFs, dir: string, attempts = 12): Promise<void> {
  for (let i = 0; ; i++) {
    try {
      await fs.rmdir(dir);
      return;
    } catch (err) {
      const code = errnoCode(err);
      if (code === 'ENOENT') return;
      if (code !== 'EBUSY' || i + 1 >= attempts) throw err;
      await sleep(Math.min(5 * 2 ** i, 100));
    }
  }
}

/** Undo a failed create(): remove the dirs it made (newest first), then rethrow the original error, noting any dir that stayed. */
export async function undoCreate(fs: CgroupFs, made: readonly string[], err: unknown): Promise<never> {
  const stuck: string[] = [];
  for (const dir of [...made].reverse()) {
    await rmdirWithRetry(fs, dir).catch((rmErr: unknown) => stuck.push((rmErr as Error).message));
  }
  if (stuck.length === 0) throw err;
  const message = err instanceof Error ? err.message : String(err);
  throw new Error(`${message}; cleaning up also failed: ${stuck.join('; ')}`, { cause: err });
}

/** Wait for every promise to settle (none is left running), then throw the first rejection, if any. */
export async function settleAll(promises: ReadonlyArray<Promise<unknown>>): Promise<void> {
  const failed = (await Promise.allSettled(promises)).find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
}

/** Run every step together, then throw one error naming all that failed (teardown must try everything). */
export async function allSteps(what: string, steps: ReadonlyArray<() => Promise<void>>): Promise<void> {
  const settled = await Promise.allSettled(steps.map((step) => step()));
  const failures = settled
    .filter((r): r is PromiseRejectedResult => r.status === 'rejected')
    .map((r) => r.reason as unknown);
  if (failures.length === 1) throw withContext(what, failures[0]);
  if (failures.length > 1) {
    throw new AggregateError(failures, `${what}: ${failures.map((f) => (f as Error).message).join('; ')}`);
  }
}
