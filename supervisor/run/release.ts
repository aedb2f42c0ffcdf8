// The fifth phase of a launch: the views mounted and the network attached, then the sync byte that
// releases PID 1 into the workload, and what watches the workload from then on.
import type { ChildProcess } from 'node:child_process';
import type { Writable } from 'node:stream';
import { FuseConnectionEnded } from '../../procfs/fs.js';
import type { CgroupManager } from '../cgroup/index.js';
import { sandboxProcesses } from '../lookup.js';
import { withContext } from '../errors.js';
import { publish, watchOom } from '../events.js';
import { watchOomNotifications } from '../oom-notify.js';
import { PIDFILE, startPasta, waitForNewNetns } from '../net/pasta.js';
import { sleep } from '../sleep.js';
import { stateDir } from '../state.js';
import type { Launch } from './launch.js';
import { mark } from './timings.js';
import type { OwnViews } from './views.js';
import { startTimeout, type Timeout } from './wait.js';

/** A sandbox still running this long after its release gets the views' worker threads (docs/fuse-transport.md). */
const VIEW_WORKERS_AFTER_MS = 1000;

/** Phase 5a: wait for our own views' mount; null once mounted, the stage's code when PID 1 failed first. */
export async function ownViewsMounted(launch: Launch, own: OwnViews, exited: Promise<number>): Promise<number | null> {
  const viewsFailed = await own.mounted.then(
    () => null,
    (err: Error) => err,
  );
  if (!viewsFailed) return null;
  // The stage detaches the views' mount once PID 1 is gone (stage.c detach_views): a PID 1 that
  // failed in its set-up (a volume target it can't make) ends the connection before the
  // kernel's INIT is answered when that comes first. The stage's exit code and its own line
  // say why; a second line about the views would only repeat it.
  if (viewsFailed instanceof FuseConnectionEnded) {
    const code = await exited;
    if (code !== 0) return code;
  }
  launch.stage?.kill('SIGKILL');
  throw withContext('views', viewsFailed);
}

/** Phase 5b, --net private: pasta on the stage's new network namespace, before the release. */
export async function attachNetwork(launch: Launch, stagePid: number): Promise<void> {
  const { req, id, undo } = launch;
  // Attached before the sync byte: the workload starts with its network configured and its
  // ports published. (A stage that already exited explains itself through its exit code.)
  const helper = await waitForNewNetns(stagePid)
    .then((made) => (made ? startPasta(stagePid, `${stateDir(id)}/${PIDFILE}`, req.net.publish) : null))
    .catch((err) => {
      launch.stage?.kill('SIGKILL');
      throw err;
    });
  if (helper) undo.push(() => helper.stop());
  mark('net');
}

/** Phase 5c: send the sync byte (PID 1 starts the workload), then watch it; the --timeout, if any. */
export function release(
  launch: Launch,
  stage: ChildProcess,
  cgroup: CgroupManager,
  exited: Promise<number>,
): Timeout | null {
  const { req, id, undo } = launch;
  const sync = stage.stdio[3] as Writable | null;
  sync?.on('error', () => undefined); // EPIPE when the stage already failed: its exit code tells why
  sync?.end('x');
  mark('released');
  // The views' workers start only if the sandbox outlives the launch (ViewServer lazyWorkers).
  launch.viewServer?.startWorkersLater(VIEW_WORKERS_AFTER_MS);
  // A launch its stage may take over reports the start after the handover (supervisor/run.ts).
  if (req.onStarted && !launch.monitored) void workloadRunning(cgroup, exited).then(() => req.onStarted?.(id));
  const name = req.name ?? null;
  void publish({ type: 'start', time: new Date().toISOString(), id, name, command: req.command });
  const oomWatch = watchOom(
    id,
    name,
    async () => cgroup.oomKills(),
    (onChange) => watchOomNotifications(cgroup, onChange),
  );
  undo.push(() => oomWatch.stop());
  return req.timeoutMs ? startTimeout(req.timeoutMs, stage, cgroup) : null;
}

/**
 * Resolve once the workload (pid 2 inside) is in the cgroup, or the stage exited, or after 5 s: so
 * that `run -d` prints the id only when `exec`, `kill` or `stop` can already find the workload.
 */
export async function workloadRunning(cgroup: CgroupManager, exited: Promise<number>): Promise<void> {
  let done = false;
  exited.then(
    () => (done = true),
    () => (done = true),
  );
  for (const deadline = Date.now() + 5000; !done && Date.now() < deadline; await sleep(2)) {
    if ((await sandboxProcesses(cgroup)).workload !== null) return;
  }
}
