// Starting the native stage (native/stage/): the single-threaded launcher that creates the
// namespaces and becomes the sandbox's PID 1. Node cannot do this itself: it runs ~7 threads, and
// unshare(CLONE_NEWUSER) and setns() into a mount namespace fail with EINVAL in a threaded process.
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { SandboxError, withContext } from './errors.js';
import { securityArgs, type Security } from './security.js';
import { signalNumber } from './signals.js';

/** Where the setup step builds the stage (native/build.sh): dist/native/sandbox-stage. */
export const STAGE_PATH = fileURLToPath(new URL('../native/sandbox-stage', import.meta.url));

/** Everything the stage needs to build one sandbox. */
export interface StageConfig {
  supervisorPid: number;
  /** cgroup.procs files PID 1 joins right before it forks the workload. */
  procsFiles: readonly string[];
  /** v1 hierarchies to mount read-only inside the cgroup namespace; null = cgroup2. */
  v1Hierarchies: readonly { dirName: string; controllers: string }[] | null;
  hostname: string;
  net: 'none' | 'host';
  /** --net sandbox:ID: host pid of the joined sandbox's PID 1, whose network namespace the stage enters. */
  netJoinPid?: number;
  /** FUSE view files bound over their targets (/proc/meminfo, …). */
  views: readonly { source: string; target: string }[];
  /** Directories bound writable over the read-only host root. */
  writableDirs: readonly string[];
  workdir: string;
  /** The host mountpoint of the views, which the stage detaches once PID 1 has exited (stage.c detach_views). */
  detachViews?: string;
  /** Host directories hidden inside (detached and covered by an empty tmpfs): the state root, a shared view server's dirs. */
  hide?: readonly string[];
  /** oom_score_adj PID 1 sets for the sandbox (the supervisor lowers its own, see oom.ts). */
  oomScoreAdj?: number;
  command: readonly string[];
  env: NodeJS.ProcessEnv;
  /** --user: the workload's uid and gid; absent or null = root. */
  user?: { uid: number; gid: number } | null;
  /** -v binds (and the generated /etc files of a root of its own). */
  volumes?: readonly { source: string; target: string; readOnly: boolean }[];
  /** --tmpfs mounts. */
  tmpfs?: readonly { target: string; sizeBytes: number | null }[];
  /** A root of its own (supervisor/rootfs.ts): overlay layers, lowest first; absent = the host's root. */
  root?: {
    layers: readonly string[];
    hostIdLayers?: readonly string[];
    rootAt: string;
    upper: string | null;
    readOnly: boolean;
  } | null;
  /** -t: the workload gets a pty of the sandbox's devpts, relayed by the stage (native/stage/pty.c). */
  tty?: boolean;
  /** --cap-add/--cap-drop/--security-opt; absent or null: the stage's defaults. */
  security?: Security | null;
  /** --userns: PID 1 enters a user namespace where ids 0..count-1 are these host ids (native/stage/userns.c). */
  userns?: { uid: number; gid: number; count: number } | null;
  /**
   * A detached sandbox the stage may be handed (native/stage/monitor.c): the handover channel is fd
   * MONITOR_FD; it runs oomCommand on each OOM notification, and once PID 1 has exited writes its
   * code to exitFile and runs exitCommand.
   */
  monitor?: { exitFile: string; exitCommand: readonly string[]; oomCommand: readonly string[] } | null;
  /** With userns: on-disk owner of the ID-mapped workdir and writable volumes (native/stage/idmap.c); null: none. */
  idmap?: { uid: number; gid: number } | null;
}

/** The stage's argv for a config (the contract is documented at the top of native/stage/options.c). */
export function stageArgs(cfg: StageConfig): string[] {
  const args = [
    '--supervisor-pid',
    String(cfg.supervisorPid),
    '--sync-fd',
    '3',
    '--hostname',
    cfg.hostname,
    '--net',
    cfg.net,
  ];
  if (cfg.netJoinPid !== undefined) args.push('--net-join', String(cfg.netJoinPid));
  for (const file of cfg.procsFiles) args.push('--cgroup-procs', file);
  if (cfg.v1Hierarchies === null) args.push('--cgroup-v2');
  else for (const h of cfg.v1Hierarchies) args.push('--cgroup-v1', `${h.dirName}:${h.controllers}`);
  for (const v of cfg.views) args.push('--bind-view', `${v.source}:${v.target}`);
  for (const dir of cfg.writableDirs) args.push('--rw', dir);
  for (const dir of cfg.hide ?? []) args.push('--hide', dir);
  if (cfg.detachViews !== undefined) args.push('--detach-views', cfg.detachViews);
  if (cfg.oomScoreAdj !== undefined) args.push('--oom-score-adj', String(cfg.oomScoreAdj));
  if (cfg.user) args.push('--user', `${cfg.user.uid}:${cfg.user.gid}`);
  for (const v of cfg.volumes ?? []) args.push('--volume', `${v.source}:${v.target}${v.readOnly ? ':ro' : ''}`);
  for (const t of cfg.tmpfs ?? []) args.push('--tmpfs', t.sizeBytes === null ? t.target : `${t.target}:${t.sizeBytes}`);
  if (cfg.root) {
    for (const layer of cfg.root.layers)
      args.push(cfg.root.hostIdLayers?.includes(layer) ? '--layer-host-ids' : '--layer', layer);
    args.push('--root-at', cfg.root.rootAt);
    if (cfg.root.upper !== null) args.push('--upper', cfg.root.upper);
    if (cfg.root.readOnly) args.push('--read-only');
  }
  if (cfg.tty) args.push('--tty');
  if (cfg.monitor) {
    args.push('--monitor-fd', String(MONITOR_FD), '--exit-file', cfg.monitor.exitFile);
    for (const arg of cfg.monitor.exitCommand) args.push('--exit-command', arg);
    for (const arg of cfg.monitor.oomCommand) args.push('--oom-command', arg);
  }
  args.push(...securityArgs(cfg.security));
  if (cfg.userns) args.push('--userns', `${cfg.userns.uid}:${cfg.userns.gid}:${cfg.userns.count}`);
  if (cfg.userns && cfg.idmap) args.push('--idmap', `${cfg.idmap.uid}:${cfg.idmap.gid}`);
  args.push('--chdir', cfg.workdir, '--', ...cfg.command);
  return args;
}

/** The stage's end of the handover channel of a detached sandbox (a socketpair: libuv's 'pipe'). */
export const MONITOR_FD = 4;

/** Spawn the stage with stdio inherited, fd 3 as the sync channel (one byte = views ready), fd 4 the monitor's. */
export function spawnStage(cfg: StageConfig): ChildProcess {
  return spawn(STAGE_PATH, stageArgs(cfg), {
    stdio: cfg.monitor ? ['inherit', 'inherit', 'inherit', 'pipe', 'pipe'] : ['inherit', 'inherit', 'inherit', 'pipe'],
    env: cfg.env,
    // With a root of its own the workdir is a path inside it, not on the host.
    cwd: cfg.root ? '/' : cfg.workdir,
  });
}

/** Resolve with a stage's exit code (`sandbox run`'s and `exec`'s): its own, or 128+N when it died by signal N. */
export function stageExitCode(stage: ChildProcess): Promise<number> {
  return new Promise((resolve, reject) => {
    stage.once('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') reject(new SandboxError(`native stage ${STAGE_PATH} is missing: run "npm run build"`));
      else reject(withContext(`spawn ${STAGE_PATH}`, err));
    });
    stage.once('exit', (code, signal) => resolve(code ?? 128 + signalNumber(signal ?? 'SIGKILL')));
  });
}
