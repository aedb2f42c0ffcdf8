// The third phase of a launch: the root of its own prepared (--rootfs/--layer) and the native stage
// spawned, before the cpuset and the limits, which PID 1 waits for (the sync byte, run/release.ts).
import type { ChildProcess } from 'node:child_process';
import { realpathSync } from 'node:fs';
import { prepareRoot, type FilesystemRequest, type PreparedRoot } from '../rootfs.js';
import { spawnStage, stageExitCode, type StageConfig } from '../stage.js';
import { RUN_DIR, stateDir } from '../state.js';
import type { Launch } from './launch.js';
import { monitorConfig } from './monitor.js';
import type { Prepared } from './prepare.js';
import { mark } from './timings.js';
import type { ServedViews } from './views.js';

/** The stage just spawned, and its exit code once it has exited. */
export interface SpawnedStage {
  stage: ChildProcess;
  exited: Promise<number>;
}

/** Phase 3: prepare a root of its own if asked for, and spawn the stage. */
export async function spawnTheStage(launch: Launch, prepared: Prepared, views: ServedViews): Promise<SpawnedStage> {
  const { req, id } = launch;
  // The stage is spawned before the cpuset is chosen and the limits are written: its namespace
  // work and PID 1's mounts and Node's fork overlap them. Nothing of the sandbox
  // runs limitless: on v1 PID 1 joins the cgroup only after the sync byte, which comes after the
  // limits; on v2 it is born in the leaf (clone3 CLONE_INTO_CGROUP) but does only its own set-up
  // there until that byte, and the kernel applies a later cpuset to the tasks already in it.
  const fs = req.fs ?? { layers: [], keep: null, volumes: [], tmpfs: [], readOnly: false };
  const hostname = req.hostname ?? `sandbox-${id}`;
  const root =
    fs.layers.length > 0 ? await prepareRoot(stateDir(id), fs, hostname, req.net.mode, req.userns ?? null) : null;
  const stage = spawnStage(stageConfig(launch, prepared, views, fs, hostname, root));
  launch.stage = stage;
  mark('spawn');
  const exited = stageExitCode(stage);
  exited.catch(() => undefined); // awaited later; handled now so a spawn error during the set-up can't crash us
  return { stage, exited };
}

/** What the stage is told: the cgroup to join, the views to bind, the filesystem, the workload. */
function stageConfig(
  launch: Launch,
  { cgroup, state, oomScoreAdj }: Prepared,
  { own, shared, binds }: ServedViews,
  fs: FilesystemRequest,
  hostname: string,
  root: PreparedRoot | null,
): StageConfig {
  const { req } = launch;
  return {
    supervisorPid: process.pid,
    procsFiles: cgroup.procsFiles,
    v1Hierarchies: cgroup.mode === 'v1' ? cgroup.hierarchies : null,
    hostname,
    // private and sandbox:ID are a namespace other than the host's too (the stage joins or makes it).
    net: req.net.mode === 'host' ? 'host' : 'none',
    netJoinPid: req.net.join?.initPid,
    views: binds,
    // The workdir is bound writable on the read-only host root, unless --read-only (or a root of its own).
    writableDirs: req.workdir === '/' || root !== null || fs.readOnly ? [] : [req.workdir],
    workdir: req.workdir,
    // Other sandboxes' views and state (and our own state) are not the workload's; with a root of
    // its own the host's tree, /run/sandbox included, is detached anyway.
    hide: root !== null ? undefined : shared ? [RUN_DIR, shared.hide] : [RUN_DIR],
    detachViews: own ? state.mountpoint : undefined,
    // --read-only on the host root: the workdir is still seen (it may be under our /tmp), read-only;
    // its source resolved, as a volume's is (the stage follows no symlink in a volume's source).
    volumes: [
      ...(root?.files ?? []),
      ...(root === null && fs.readOnly && req.workdir !== '/'
        ? [{ source: realpathSync(req.workdir), target: req.workdir, readOnly: true }]
        : []),
      ...fs.volumes,
    ],
    tmpfs: fs.tmpfs,
    root: root && {
      layers: fs.layers,
      hostIdLayers: fs.hostIdLayers,
      rootAt: root.rootAt,
      upper: root.upper,
      readOnly: fs.readOnly,
    },
    oomScoreAdj,
    command: req.command,
    env: req.env,
    user: req.user ?? null,
    tty: req.tty === true,
    security: req.security ?? null,
    userns: req.userns ?? null,
    idmap: req.userns ? (req.idmap ?? null) : null,
    monitor: launch.monitored ? monitorConfig(launch.id) : null,
  };
}
