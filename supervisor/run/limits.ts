// The fourth phase of a launch: the cpuset chosen and the limits written, while the stage and
// PID 1 do their set-up (run/spawn.ts).
import { chooseCpus, pinsOfLiveSandboxes, type CpuLoadSample } from '../cpuset.js';
import { withContext } from '../errors.js';
import { writeState } from '../state.js';
import type { Launch, RunRequest } from './launch.js';
import type { Prepared } from './prepare.js';
import { mark } from './timings.js';

/** Phase 4: choose the cpuset, record it and the limits in the state, write them to the cgroup. */
export async function applyLimits(
  launch: Launch,
  { cgroup, state }: Prepared,
  cpuSample: CpuLoadSample,
): Promise<void> {
  const { req } = launch;
  // Chosen as late as possible, so the /proc/stat busy sample spans the FUSE load (/proc/stat counts
  // in 10 ms USER_HZ units). That is still coarse and biased by our own work
  // (docs/code-measurements.md), so pins of live sandboxes decide first. Recorded in the state for
  // the next sandbox's choice.
  state.cpus = await pickCpus(req, cpuSample);
  const { cpus: _quotaCpus, ...cgroupLimits } = req.limits;
  state.limits = { ...cgroupLimits, cpusetCpus: state.cpus };
  await writeState(state);
  await cgroup.apply(state.limits).catch((err) => {
    launch.stage?.kill('SIGKILL');
    throw withContext('cgroup', err);
  });
  mark('cgroup');
}

/** The cpuset: the user's --cpuset-cpus, or n least-loaded CPUs where n = ceil(quota/period). */
async function pickCpus(req: RunRequest, sample: CpuLoadSample): Promise<number[]> {
  if (req.limits.cpusetCpus) return req.limits.cpusetCpus;
  const n = req.limits.cpus === null ? req.onlineCpus.length : Math.ceil(req.limits.cpus);
  if (n >= req.onlineCpus.length) return [...req.onlineCpus];
  const [pins, busy] = await Promise.all([pinsOfLiveSandboxes(), sample.finish()]);
  return chooseCpus(req.onlineCpus, n, pins, busy);
}
