// `sandbox run`: validate -> state dir -> cgroup -> FUSE views -> stage -> wait -> report -> teardown.
// Everything created is undone in reverse order whatever happens (success, failure, OOM, signal).
// The supervisor itself never joins the sandbox's cgroup: `node -e 0` takes 450-600 ms under a 20%
// cap (measured here), so only the stage's PID 1 joins, right before it forks the workload.
import { closeSync, existsSync, openSync, readSync, realpathSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { constants as osConstants } from 'node:os';
import type { Writable } from 'node:stream';
import { openCgroup } from './cgroup/index.js';
import type { CgroupLimits, CgroupManager, MemoryStats } from './cgroup/types.js';
import { CpuLoadSample, chooseCpus, pinsOfLiveSandboxes } from './cpuset.js';
import { SandboxError, withContext } from './errors.js';
import { collectGarbage } from './gc.js';
import { claimName } from './names.js';
import { publish, watchOom, type SandboxEvent } from './events.js';
import { sandboxProcesses } from './commands/lookup.js';
import { formatBytes, type ResolvedLimits } from './limits.js';
import { prepareRoot, recordFilesystem, type FilesystemRequest } from './rootfs.js';
import type { Security } from './security.js';
import type { NetRequest } from './net/mode.js';
import { PIDFILE, startPasta, waitForNewNetns } from './net/pasta.js';
import { spawnStage, STAGE_PATH } from './stage.js';
import { Teardown } from './teardown.js';
import { protectSupervisor } from './oom.js';
import type { UsernsRange } from './userns.js';
import type { DiskOwner } from './idmap.js';
import { RUN_DIR, processStartTicks, removeState, stateDir, writeState } from './state.js';
import { serveShared, sharedViewSocket, unserveShared } from './shared-views.js';
import { FuseConnectionEnded, ViewServer } from '../procfs/fs.js';
import { cgroupViewSpec } from '../procfs/view-source.js';
import { viewsFor } from '../procfs/views/index.js';

/** What `sandbox run` was asked for, already validated. */
export interface RunRequest {
  limits: ResolvedLimits;
  command: string[];
  /** --net and -p (net/mode.ts). */
  net: NetRequest;
  hostname: string | null;
  env: NodeJS.ProcessEnv;
  workdir: string;
  onlineCpus: number[];
  /** --name (validated); null when not given. */
  name?: string | null;
  /** --user: the workload's uid and gid (null: root). */
  user?: { uid: number; gid: number } | null;
  /** -t: a pty for the workload (its terminal, relayed to ours by the stage). */
  tty?: boolean;
  /** The user namespace's host ids of root and the others inside (supervisor/userns.ts); null: none (--userns=host). */
  userns?: UsernsRange | null;
  /** On-disk owner of what the workload writes in its ID-mapped workdir and volumes (supervisor/idmap.ts); null: no mapping. */
  idmap?: DiskOwner | null;
  /** -d: the supervisor runs in the background; recorded in the state. */
  detached?: boolean;
  /** --timeout in ms: TERM the workload then, KILL the rest TIMEOUT_GRACE_MS later, exit 124. */
  timeoutMs?: number | null;
  /** --rootfs/--layer/--keep/-v/--tmpfs/--read-only (absent: the host's root, nothing more). */
  fs?: FilesystemRequest;
  /** --cap-add/--cap-drop/--security-opt (absent: the default confinement); `sandbox exec` uses it too. */
  security?: Security;
  /** Called with the id once the workload is released (for -d: the foreground CLI may go). */
  onStarted?: (id: string) => void;
}

/**
 * 12 hex digits from the kernel's CSPRNG (random(4): /dev/urandom never blocks once the pool is
 * initialised at boot). Read directly: node:crypto's randomBytes would load the crypto module,
 * ~2.5 ms of every start (measured here).
 */
function randomId(): string {
  const bytes = Buffer.alloc(6);
  const fd = openSync('/dev/urandom', 'r');
  try {
    readSync(fd, bytes, 0, bytes.length, null);
  } finally {
    closeSync(fd);
  }
  return bytes.toString('hex');
}

/** timeout(1)'s exit status when the command timed out. */
export const EXIT_TIMEOUT = 124;
/** Time between the TERM of a timed-out workload and the KILL of everything left in its cgroup. */
export const TIMEOUT_GRACE_MS = 2000;

/** A sandbox still running this long after its release gets the views' worker threads (docs/fuse-transport.md). */
const VIEW_WORKERS_AFTER_MS = 1000;

/** Signals `sandbox run` passes on to the workload (through the stage and PID 1). */
export const FORWARDED_SIGNALS: readonly NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2'];

/** Phase timestamps (ms since process start), printed with SANDBOX_TIMINGS=1 for bench/. */
const timings: Record<string, number> = {};
/** Whether marks are taken: the first use of the global `performance` loads perf_hooks (1.2-1.8 ms here). */
const TIMED = process.env.SANDBOX_TIMINGS === '1';
function mark(phase: string): void {
  if (TIMED) timings[phase] = Math.round(performance.now() * 100) / 100;
}

/** Run one sandbox to completion and return the exit code to end with. */
export async function runSandbox(req: RunRequest): Promise<number> {
  mark('run');
  const id = randomId();
  const cpuSample = new CpuLoadSample();
  const undo = new Teardown();
  let pendingSignal: NodeJS.Signals | null = null;
  let stage: ReturnType<typeof spawnStage> | null = null;
  let exitEvent: SandboxEvent | null = null;
  /** The views' server, for its render cache counts at exit (SANDBOX_TIMINGS=1, bench/procfs.ts). */
  let viewServer: ViewServer | null = null;
  const onSignal = (sig: NodeJS.Signals): void => {
    if (stage?.pid !== undefined) stage.kill(sig);
    else pendingSignal ??= sig;
  };
  for (const sig of FORWARDED_SIGNALS) process.on(sig, onSignal);

  try {
    // First, so an OOM at any later point picks the workload, never the supervisor (oom.ts).
    const sandboxOomScoreAdj = await protectSupervisor();
    // What a SIGKILLed supervisor left (cgroups, state dirs) goes first: cheap when there is none.
    await collectGarbage().catch((err) => process.stderr.write(`sandbox: ${(err as Error).message}\n`));
    const cgroup = await openCgroup({ id }).catch((err) => {
      throw withContext('cgroup', err);
    });
    const startedAtMs = Date.now();
    const mountpoint = `${stateDir(id)}/views`;
    const state = {
      id,
      supervisorPid: process.pid,
      supervisorStartTicks: (await processStartTicks(process.pid)) ?? 0,
      startedAtMs,
      command: req.command,
      cgroupDirs: [...cgroup.dirs],
      mountpoint,
      cpus: [] as number[],
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
    await writeState(state); // before anything is created, so gc can always find it
    undo.push(() => removeState(id));
    if (state.name !== null) await claimName(state);
    mark('state');

    // A running `sandbox procfs serve` serves the views (shared-views.ts), asked while the cgroup
    // is created; else our own FUSE mount (mount(8) through child_process, the kernel's INIT
    // answered on this thread: no worker starts during the launch, ViewServer lazyWorkers) overlaps
    // the cgroup set-up and the stage's namespace work. PID 1 waits for the sync byte before it
    // binds the views. Nothing forks outside libuv (issue 20); a SIGKILLed supervisor's mount is
    // removed by `sandbox gc`, which every run does first (a daemon drops its registration itself).
    const socket = sharedViewSocket();
    // The cgroups' mkdirs are queued on libuv's pool first: spawning mount(8) then takes the main
    // thread while they run (the other order put ~2 ms of spawn in front of them).
    const created = cgroup.create();
    created.catch(() => undefined); // awaited below
    const sharing = socket === null ? null : serveShared(socket, id, cgroup.dirs, startedAtMs);
    if (sharing) undo.push(async () => void ((await sharing) && (await unserveShared(socket!, id))));
    const ownViews = async (): Promise<{ server: ViewServer; mounted: Promise<void> }> => {
      await mkdir(mountpoint, { mode: 0o755 });
      const server = new ViewServer(mountpoint, { maxSandboxes: 1, lazyWorkers: true });
      const mounted = server.mount().then(() => mark('fuse'));
      mounted.catch(() => undefined); // awaited below; a PID 1 that fails early ends the connection before that
      undo.push(async () => {
        await mounted.catch(() => undefined);
        await server.unmount();
      });
      return { server, mounted };
    };
    let own = sharing === null ? await ownViews() : null;

    await created.catch((err) => {
      throw withContext('cgroup', err);
    });
    mark('created');
    undo.alongside(() => cgroup.destroy()); // together with the unmount: neither needs the other gone
    // PID 1 joins this cgroup at the end of its set-up: its write then costs 0.1 ms instead of a
    // grace period (v1 only; never rejects).
    void cgroup.primeAttach();
    const shared = sharing && (await sharing);
    if (shared) mark('fuse');
    else own ??= await ownViews();
    viewServer = own?.server ?? null;
    // Registered now; nothing is rendered ahead. PID 1's binds look each view up, and the lookup's
    // getattr renders it (for its size), which also readies that view's code for the workload's
    // first read. A getattr's render is never served to a read (ViewServer.render).
    const views = viewsFor(cgroup.mode, hasPsi(cgroup));
    if (own) {
      own.server.register(id, cgroupViewSpec(cgroup, startedAtMs), views);
      const server = own.server;
      undo.push(async () => server.unregister(id));
    }
    // A daemon may serve a view this cgroup lacks (it answers before the cgroup exists): not bound.
    const viewBinds = shared ? shared.views.filter((b) => views.some((v) => v.target === b.target)) : views.map((v) => ({ source: own!.server.viewPath(id, v.name), target: v.target }));
    // The stage is spawned before the cpuset is chosen and the limits are written: its namespace
    // work and PID 1's mounts (~5 ms) and Node's fork (~5 ms) overlap them. Nothing of the sandbox
    // runs limitless: on v1 PID 1 joins the cgroup only after the sync byte, which comes after the
    // limits; on v2 it is born in the leaf (clone3 CLONE_INTO_CGROUP) but does only its own set-up
    // there until that byte, and the kernel applies a later cpuset to the tasks already in it.
    if (pendingSignal) return 128 + signalNumber(pendingSignal);
    const fs = req.fs ?? { layers: [], keep: null, volumes: [], tmpfs: [], readOnly: false };
    const hostname = req.hostname ?? `sandbox-${id}`;
    const root = fs.layers.length > 0 ? await prepareRoot(stateDir(id), fs, hostname, req.net.mode, req.userns ?? null) : null;
    stage = spawnStage({
      supervisorPid: process.pid,
      procsFiles: cgroup.procsFiles,
      v1Hierarchies: cgroup.mode === 'v1' ? cgroup.hierarchies : null,
      hostname,
      // private and sandbox:ID are a namespace other than the host's too (the stage joins or makes it).
      net: req.net.mode === 'host' ? 'host' : 'none',
      netJoinPid: req.net.join?.initPid,
      views: viewBinds,
      // The workdir is bound writable on the read-only host root, unless --read-only (or a root of its own).
      writableDirs: req.workdir === '/' || root !== null || fs.readOnly ? [] : [req.workdir],
      workdir: req.workdir,
      // Other sandboxes' views and state (and our own state) are not the workload's; with a root of
      // its own the host's tree, /run/sandbox included, is detached anyway.
      hide: root !== null ? undefined : shared ? [RUN_DIR, shared.hide] : [RUN_DIR],
      detachViews: own ? mountpoint : undefined,
      // --read-only on the host root: the workdir is still seen (it may be under our /tmp), read-only;
      // its source resolved, as a volume's is (the stage follows no symlink in a volume's source).
      volumes: [...(root?.files ?? []), ...(root === null && fs.readOnly && req.workdir !== '/' ? [{ source: realpathSync(req.workdir), target: req.workdir, readOnly: true }] : []), ...fs.volumes],
      tmpfs: fs.tmpfs,
      root: root && { layers: fs.layers, hostIdLayers: fs.hostIdLayers, rootAt: root.rootAt, upper: root.upper, readOnly: fs.readOnly },
      oomScoreAdj: sandboxOomScoreAdj,
      command: req.command,
      env: req.env,
      user: req.user ?? null,
      tty: req.tty === true,
      security: req.security ?? null,
      userns: req.userns ?? null,
      idmap: req.userns ? (req.idmap ?? null) : null,
    });
    mark('spawn');
    const exited = waitForExit(stage);
    exited.catch(() => undefined); // awaited below; handled now so a spawn error during the set-up can't crash us

    // Chosen as late as possible, so the /proc/stat busy sample spans the FUSE load (~20 ms; /proc/stat
    // counts in 10 ms USER_HZ units). That is still coarse and biased by our own work: measured with a
    // host loop pinned to CPU 0, 4-5 of 8 sandboxes still got CPU 0. Pins of live sandboxes decide
    // first. Recorded in the state for the next sandbox's choice.
    state.cpus = await pickCpus(req, cpuSample);
    const { cpus: _quotaCpus, ...cgroupLimits } = req.limits;
    state.limits = { ...cgroupLimits, cpusetCpus: state.cpus };
    await writeState(state);
    await cgroup.apply(state.limits).catch((err) => {
      stage?.kill('SIGKILL');
      throw withContext('cgroup', err);
    });
    mark('cgroup');

    const viewsFailed = own && (await own.mounted.then(() => null, (err: Error) => err));
    if (viewsFailed) {
      // The stage detaches the views' mount once PID 1 is gone (stage.c detach_views): a PID 1 that
      // failed in its set-up (a volume target it can't make) ends the connection before the
      // kernel's INIT is answered when that comes first. The stage's exit code and its own line
      // say why; a second line about the views would only repeat it.
      if (viewsFailed instanceof FuseConnectionEnded) {
        const code = await exited;
        if (code !== 0) return code;
      }
      stage?.kill('SIGKILL');
      throw withContext('views', viewsFailed);
    }
    if (req.net.mode === 'private' && stage.pid !== undefined) {
      // Attached before the sync byte: the workload starts with its network configured and its
      // ports published. (A stage that already exited explains itself through its exit code.)
      const stagePid = stage.pid;
      const helper = await waitForNewNetns(stagePid)
        .then((made) => (made ? startPasta(stagePid, `${stateDir(id)}/${PIDFILE}`, req.net.publish) : null))
        .catch((err) => {
          stage?.kill('SIGKILL');
          throw err;
        });
      if (helper) undo.push(() => helper.stop());
      mark('net');
    }
    const sync = stage.stdio[3] as Writable | null;
    sync?.on('error', () => undefined); // EPIPE when the stage already failed: its exit code tells why
    sync?.end('x');
    mark('released');
    // The views' workers start only if the sandbox outlives the launch (ViewServer lazyWorkers).
    own?.server.startWorkersLater(VIEW_WORKERS_AFTER_MS);
    if (req.onStarted) void workloadRunning(cgroup, exited).then(() => req.onStarted?.(id));
    const name = req.name ?? null;
    void publish({ type: 'start', time: new Date().toISOString(), id, name, command: req.command });
    const oomWatch = watchOom(id, name, async () => cgroup.memoryStats().oomKills);
    undo.push(() => oomWatch.stop());
    const timeout = req.timeoutMs ? startTimeout(req.timeoutMs, stage, cgroup) : null;
    const code = await exited;
    mark('exited');
    timeout?.cancel();
    reportOom(cgroup, req, code);
    const final = timeout?.fired() ? EXIT_TIMEOUT : code;
    if (final === EXIT_TIMEOUT) process.stderr.write(`sandbox: ${req.command[0]} timed out after ${formatDuration(req.timeoutMs!)} and was killed\n`);
    exitEvent = { type: 'exit', time: '', id, name, exitCode: final };
    return final;
  } finally {
    for (const sig of FORWARDED_SIGNALS) process.off(sig, onSignal);
    await undo.run((err) => process.stderr.write(`sandbox: teardown: ${(err as Error).message}\n`));
    mark('teardown');
    // After the teardown: a subscriber that sees "exit" finds nothing of the sandbox left.
    if (exitEvent) await publish({ ...exitEvent, time: new Date().toISOString() });
    if (TIMED) process.stderr.write(`sandbox-timings ${JSON.stringify(timings)}\n`);
    if (TIMED && viewServer) process.stderr.write(`sandbox-views ${JSON.stringify(viewServer.renderCounts())}\n`);
  }
}

/** Whether the pressure views can be bound (v2 only): /proc/pressure to bind over, and the cgroup's own PSI files. */
function hasPsi(cgroup: CgroupManager): boolean {
  return cgroup.mode === 'v2' && existsSync('/proc/pressure/cpu') && existsSync(`${cgroup.dirs[0]}/cpu.pressure`);
}

/**
 * --timeout: like timeout(1), SIGTERM the workload when the time is up (sent to the stage, which
 * forwards it through PID 1), then SIGKILL whatever is left in the cgroup after a grace period.
 */
function startTimeout(ms: number, stage: ReturnType<typeof spawnStage>, cgroup: CgroupManager): { cancel(): void; fired(): boolean } {
  let fired = false;
  let grace: NodeJS.Timeout | undefined;
  const timer = setTimeout(() => {
    fired = true;
    stage.kill('SIGTERM');
    grace = setTimeout(() => void cgroup.killAll('SIGKILL').catch(() => undefined), TIMEOUT_GRACE_MS);
  }, ms);
  return {
    cancel: () => {
      clearTimeout(timer);
      clearTimeout(grace);
    },
    fired: () => fired,
  };
}

/**
 * Resolve once the workload (pid 2 inside) is in the cgroup, or the stage exited, or after 5 s: so
 * that `run -d` prints the id only when `exec`, `kill` or `stop` can already find the workload.
 */
async function workloadRunning(cgroup: CgroupManager, exited: Promise<number>): Promise<void> {
  let done = false;
  exited.then(
    () => (done = true),
    () => (done = true),
  );
  for (const deadline = Date.now() + 5000; !done && Date.now() < deadline; await new Promise((r) => setTimeout(r, 2))) {
    if ((await sandboxProcesses(cgroup)).workload !== null) return;
  }
}

/** "30s", "1.5s", "250ms" for messages. */
function formatDuration(ms: number): string {
  return ms % 1000 === 0 || ms >= 1000 ? `${ms / 1000}s` : `${ms}ms`;
}

/** The cpuset: the user's --cpuset-cpus, or n least-loaded CPUs where n = ceil(quota/period). */
async function pickCpus(req: RunRequest, sample: CpuLoadSample): Promise<number[]> {
  if (req.limits.cpusetCpus) return req.limits.cpusetCpus;
  const n = req.limits.cpus === null ? req.onlineCpus.length : Math.ceil(req.limits.cpus);
  if (n >= req.onlineCpus.length) return [...req.onlineCpus];
  const [pins, busy] = await Promise.all([pinsOfLiveSandboxes(), sample.finish()]);
  return chooseCpus(req.onlineCpus, n, pins, busy);
}

/** Resolve with the stage's exit code: its own code, or 128+N when it died by signal N. */
function waitForExit(stage: ReturnType<typeof spawnStage>): Promise<number> {
  return new Promise((resolve, reject) => {
    stage.once('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') reject(new SandboxError(`native stage ${STAGE_PATH} is missing: run "npm run build"`));
      else reject(withContext(`spawn ${STAGE_PATH}`, err));
    });
    stage.once('exit', (code, signal) => resolve(code ?? 128 + signalNumber(signal ?? 'SIGKILL')));
  });
}

/** Print the OOM line when the cgroup saw an OOM kill (read before the cgroup is removed). */
function reportOom(cgroup: CgroupManager, req: RunRequest, code: number): void {
  let memory: MemoryStats;
  try {
    memory = cgroup.memoryStats();
  } catch {
    return; // the cgroup is unreadable: nothing to report
  }
  if (memory.oomKills === 0) return;
  const limit = req.limits.memoryBytes === null ? '' : ` (limit ${formatBytes(req.limits.memoryBytes)})`;
  const who = code === 137 ? req.command[0] : `a process of ${req.command[0]}`;
  process.stderr.write(`sandbox: ${who} was killed: out of memory${limit}\n`);
}

/** Signal number of a signal name on Linux. */
export function signalNumber(sig: NodeJS.Signals): number {
  return osConstants.signals[sig] ?? 9;
}
