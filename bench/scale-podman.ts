// The podman row of `bench scale` (issue 24): the same number of idle containers as our fleet
// (`podman run -d -m 16m IMAGE sleep …` from the local busybox image, no network), and what
// supervising them costs: podman itself exits after each command, so a running container's
// supervision is its conmon (one per container, the anchor the issue names). Measured the way our
// fleet is (bench/scale.ts): PSS/RSS summed over the conmons, their CPU and wake-ups over an idle
// window, the launch of the next containers against the first ones, and `podman ps`.
// The engine runs confined as in the engine tests (bench/engines/session.ts) and is stopped at the end.
import { execFile } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { ENGINE_IMAGE, startEngines } from './engines/session.js';
import type { Podman } from './engines/podman.js';
import { cpuBetween, cpuSnapshot, memoryOfAll, type MemoryKiB } from './proc-usage.js';
import { progress } from './table.js';

/** What the podman fleet measured at one size. */
export interface PodmanSize {
  n: number;
  /** Summed over every container's conmon. */
  conmons: MemoryKiB;
  cpuMsPerS: number;
  wakeupsPerS: number;
  psMs: number[];
  nextLaunchMs: number[];
}

/** The podman fleet's figures, or why it could not run here. */
export type PodmanFleet = { firstLaunchMs: number[]; sizes: PodmanSize[] } | { skipped: string };

/** Launches timed at the start and after each size, as in our fleet. */
const TIMED_LAUNCHES = 3;

/** Run a podman command to its end; its stdout and wall time (podman's own stderr on failure). */
function timedPodman(podman: Podman, args: string[]): Promise<{ ms: number; stdout: string }> {
  const [cmd, argv] = podman.argv(args);
  const t0 = performance.now();
  return new Promise((resolve, reject) =>
    execFile(cmd, argv, { env: { ...process.env, ...podman.env }, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`podman ${args[0]}: ${stderr.trim().split('\n').pop() ?? err.message}`));
      else resolve({ ms: performance.now() - t0, stdout });
    }),
  );
}

/** Start one idle container; its conmon's pid and the launch's wall time. */
async function launchContainer(podman: Podman): Promise<{ conmon: number; ms: number }> {
  const run = ['run', '-d', '--network', 'none', '-m', '16m', ...podman.runFlags, ENGINE_IMAGE, 'sleep', '100000'];
  const { ms, stdout } = await timedPodman(podman, run);
  const id = stdout.trim().split('\n').pop() ?? '';
  const { stdout: pid } = await timedPodman(podman, ['inspect', '--format', '{{.State.ConmonPid}}', id]);
  const conmon = Number(pid.trim());
  if (!Number.isInteger(conmon) || conmon <= 0) throw new Error(`podman inspect ${id}: no conmon pid (${pid.trim()})`);
  return { conmon, ms };
}

/**
 * Remove every container at once (`--time 0`: busybox's sleep as PID 1 ignores SIGTERM, so the
 * default would wait 10 s each) and wait for their conmons to exit, so the session's stop finds
 * nothing left running in its cgroup.
 */
async function removeContainers(podman: Podman, conmons: readonly number[]): Promise<void> {
  await timedPodman(podman, ['rm', '--all', '--force', '--time', '0']).catch((err: Error) =>
    progress(`scale (podman): ${err.message}`),
  );
  const alive = (pid: number): boolean => {
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  };
  for (const deadline = Date.now() + 30_000; conmons.some(alive) && Date.now() < deadline; ) await sleep(50);
}

/** Grow a podman fleet through `sizes`, measured at each as ours is; stopped and removed at the end. */
export async function podmanFleet(sizes: readonly number[], settleMs: number, windowMs: number): Promise<PodmanFleet> {
  progress('scale (podman): starting podman (state of its own under /tmp, no network)');
  const session = await startEngines('scale', ['podman']);
  if (typeof session === 'string') return { skipped: session };
  const conmons: number[] = [];
  try {
    if (typeof session.podman === 'string') return { skipped: session.podman };
    const podman = session.podman;
    const firstLaunchMs: number[] = [];
    for (let i = 0; i < TIMED_LAUNCHES; i++) {
      const { conmon, ms } = await launchContainer(podman);
      conmons.push(conmon);
      firstLaunchMs.push(ms);
    }
    const out: PodmanSize[] = [];
    for (const n of sizes) {
      while (conmons.length < n) {
        if (conmons.length % 16 === 0) progress(`scale (podman): ${conmons.length}/${n} containers`);
        conmons.push((await launchContainer(podman)).conmon);
      }
      progress(`scale (podman): ${n} containers; settling ${settleMs / 1000} s, then ${windowMs / 1000} s idle`);
      await sleep(settleMs);
      const a = cpuSnapshot(conmons);
      const t0 = performance.now();
      await sleep(windowMs);
      const b = cpuSnapshot(conmons);
      const seconds = (performance.now() - t0) / 1000;
      const cpu = cpuBetween(a, b);
      const memory = memoryOfAll(conmons);
      const psMs: number[] = [];
      for (let i = 0; i < 3; i++) psMs.push((await timedPodman(podman, ['ps'])).ms);
      const nextLaunchMs: number[] = [];
      for (let i = 0; i < TIMED_LAUNCHES; i++) {
        const { conmon, ms } = await launchContainer(podman);
        conmons.push(conmon);
        nextLaunchMs.push(ms);
      }
      out.push({
        n,
        conmons: memory,
        cpuMsPerS: cpu.ms / seconds,
        wakeupsPerS: cpu.wakeups / seconds,
        psMs,
        nextLaunchMs,
      });
    }
    return { firstLaunchMs, sizes: out };
  } catch (err) {
    return { skipped: `podman: ${(err as Error).message}` };
  } finally {
    progress(`scale (podman): removing ${conmons.length} containers`);
    if (typeof session.podman !== 'string') await removeContainers(session.podman, conmons);
    const left = await session.stop();
    for (const l of left) progress(`scale (podman): left after the stop: ${l}`);
  }
}
