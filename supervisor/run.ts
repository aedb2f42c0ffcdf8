// `sandbox run`: validate -> state dir -> cgroup -> FUSE views -> stage -> wait -> report -> teardown.
// Everything created is undone in reverse order whatever happens (success, failure, OOM, signal).
// The supervisor itself never joins the sandbox's cgroup: Node's own work would then run under the
// sandbox's quota (docs/code-measurements.md), so only the stage's PID 1 joins, right before it
// forks the workload.
// The phases live in run/, one file each, in the order they run here; the order of their awaits is
// the launch's critical path (docs/code-measurements.md), and each says why it is where it is.
import { CpuLoadSample } from './cpuset.js';
import { publish, type SandboxEvent } from './events.js';
import { FORWARDED_SIGNALS, signalNumber } from './signals.js';
import { Teardown } from './teardown.js';
import type { Launch, RunRequest } from './run/launch.js';
import { applyLimits } from './run/limits.js';
import { prepareState, randomId } from './run/prepare.js';
import { canHandOver, handOver } from './run/monitor.js';
import { attachNetwork, ownViewsMounted, release, workloadRunning } from './run/release.js';
import { spawnTheStage } from './run/spawn.js';
import { mark, printTimings } from './run/timings.js';
import { setUpCgroupAndViews } from './run/views.js';
import { waitAndReport } from './run/wait.js';

/** Run one sandbox to completion and return the exit code to end with. */
export async function runSandbox(req: RunRequest): Promise<number> {
  mark('run');
  const id = randomId();
  const cpuSample = new CpuLoadSample();
  const launch: Launch = {
    req,
    id,
    undo: new Teardown(),
    stage: null,
    viewServer: null,
    monitored: false,
    handedOver: false,
  };
  let pendingSignal: NodeJS.Signals | null = null;
  let exitEvent: SandboxEvent | null = null;
  const onSignal = (sig: NodeJS.Signals): void => {
    if (launch.stage?.pid !== undefined) launch.stage.kill(sig);
    else pendingSignal ??= sig;
  };
  for (const sig of FORWARDED_SIGNALS) process.on(sig, onSignal);

  try {
    const prepared = await prepareState(launch);
    const views = await setUpCgroupAndViews(launch, prepared);
    launch.monitored = canHandOver(req, views);
    if (pendingSignal) return 128 + signalNumber(pendingSignal);
    const { stage, exited } = await spawnTheStage(launch, prepared, views);
    await applyLimits(launch, prepared, cpuSample);
    const viewsFailedCode = views.own && (await ownViewsMounted(launch, views.own, exited));
    if (viewsFailedCode) return viewsFailedCode;
    if (req.net.mode === 'private' && stage.pid !== undefined) await attachNetwork(launch, stage.pid);
    const timeout = release(launch, stage, prepared.cgroup, exited);
    if (launch.monitored && views.shared) {
      // -d: once the workload runs, its stage takes it over and this process exits (run/monitor.ts).
      const releasedAtMs = Date.now();
      await workloadRunning(prepared.cgroup, exited);
      launch.handedOver = await handOver(launch, stage, prepared, views.shared, timeout, releasedAtMs);
      req.onStarted?.(id);
      if (launch.handedOver) return 0;
    }
    const final = await waitAndReport(launch, prepared.cgroup, exited, timeout);
    exitEvent = { type: 'exit', time: '', id, name: req.name ?? null, exitCode: final };
    return final;
  } finally {
    for (const sig of FORWARDED_SIGNALS) process.off(sig, onSignal);
    // Handed over: the stage owns the sandbox and its teardown (`sandbox monitor-exit`).
    if (!launch.handedOver) {
      await launch.undo.run((err) => process.stderr.write(`sandbox: teardown: ${(err as Error).message}\n`));
      mark('teardown');
      // After the teardown: a subscriber that sees "exit" finds nothing of the sandbox left.
      if (exitEvent) await publish({ ...exitEvent, time: new Date().toISOString() });
    }
    printTimings(launch.viewServer);
  }
}
