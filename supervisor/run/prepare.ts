// The first phase of a launch: the supervisor protected from the OOM killer, dead sandboxes
// collected, the cgroup opened (not created yet) and the state written, so gc can always find it.
import { closeSync, openSync, readSync } from 'node:fs';
import { openCgroup, type CgroupLimits, type CgroupManager } from '../cgroup/index.js';
import { withContext } from '../errors.js';
import { collectGarbage } from '../gc.js';
import { claimName } from '../names.js';
import { protectSupervisor } from '../oom.js';
import { recordFilesystem } from '../rootfs.js';
import { processStartTicks, removeState, stateDir, writeState, type SandboxState } from '../state.js';
import type { Launch, RunRequest } from './launch.js';
import { mark } from './timings.js';

/**
 * 12 hex digits from the kernel's CSPRNG (random(4): /dev/urandom never blocks once the pool is
 * initialised at boot). Read directly: node:crypto's randomBytes would load the crypto module on
 * every start (docs/code-measurements.md).
 */
export function randomId(): string {
  const bytes = Buffer.alloc(6);
  const fd = openSync('/dev/urandom', 'r');
  try {
    readSync(fd, bytes, 0, bytes.length, null);
  } finally {
    closeSync(fd);
  }
  return bytes.toString('hex');
}

/** What the first phase made. */
export interface Prepared {
  /** The sandbox's cgroup, opened: its dirs are known, none is created yet. */
  cgroup: CgroupManager;
  /** The state as written; the cpuset and the limits are filled in later (run/limits.ts). */
  state: SandboxState;
  startedAtMs: number;
  /** oom_score_adj for the sandbox's PID 1 (oom.ts). */
  oomScoreAdj: number;
}

/** Phase 1: protect the supervisor, collect what dead ones left, open the cgroup, write the state. */
export async function prepareState(launch: Launch): Promise<Prepared> {
  const { req, id, undo } = launch;
  // First, so an OOM at any later point picks the workload, never the supervisor (oom.ts).
  const oomScoreAdj = await protectSupervisor();
  // What a SIGKILLed supervisor left (cgroups, state dirs) goes first: cheap when there is none.
  await collectGarbage().catch((err) => process.stderr.write(`sandbox: ${(err as Error).message}\n`));
  const cgroup = await openCgroup({ id }).catch((err) => {
    throw withContext('cgroup', err);
  });
  const startedAtMs = Date.now();
  const state = initialState(req, id, cgroup, startedAtMs, (await processStartTicks(process.pid)) ?? 0);
  await writeState(state); // before anything is created, so gc can always find it
  undo.push(() => removeState(id));
  if (state.name !== null) await claimName(state);
  mark('state');
  return { cgroup, state, startedAtMs, oomScoreAdj };
}

/** The state before the cpuset is chosen and the limits written (the keys in state.json's order). */
function initialState(
  req: RunRequest,
  id: string,
  cgroup: CgroupManager,
  startedAtMs: number,
  startTicks: number,
): SandboxState {
  return {
    id,
    supervisorPid: process.pid,
    supervisorStartTicks: startTicks,
    startedAtMs,
    command: req.command,
    cgroupDirs: [...cgroup.dirs],
    mountpoint: `${stateDir(id)}/views`,
    cpus: [],
    name: req.name ?? null,
    workdir: req.workdir,
    detached: req.detached === true,
    user: req.user ?? null,
    security: req.security ?? null,
    userns: req.userns ?? null,
    idmap: req.idmap ?? null,
    limits: undefined as CgroupLimits | undefined,
    filesystem: recordFilesystem(req.fs),
    net: req.net.join ? `sandbox:${req.net.join.id}` : req.net.mode,
    publish: req.net.publish.map((p) => p.text),
  };
}
