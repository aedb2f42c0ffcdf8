// `sandbox procfs serve`: one long-lived ViewServer for containers we did not start. Two layouts on
// one mount: lxcfs's at the top (<mount>/proc/meminfo, <mount>/sys/devices/system/cpu/online …),
// each read rendered for the cgroup of the process that reads (procfs/reader-views.ts: no
// registration, a runtime only binds the files), and per registered container under its id
// (<mount>/<container-id>/proc/meminfo), registered through a JSON-lines API on a root-only Unix
// socket (protocol.ts) by `sandbox oci-hook`. Ids that would shadow the top layout are refused.
//
// Restarts under the keeper (keeper.ts, the CLI's default) keep the FUSE connection: this process
// is the keeper's child, serving a descriptor the keeper mounted and holds; a successor restores the
// registrations with their node-id keys and binds nothing (every bind still reaches the connection).
// Restarts of the whole daemon: registrations are persisted (registry.ts). A killed daemon's FUSE connection is gone
// (its /dev/fuse descriptor closed: fs/fuse/dev.c fuse_dev_release aborts the connection), so every
// view bound in a container answers ENOTCONN. On start the daemon mounts afresh and, for every
// registered container whose init still lives, detaches the dead binds and binds the new views in
// its mount namespace (viewbind.c), so readers work again without anyone touching the container.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { chmod, mkdir, unlink } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import { dirname, join } from 'node:path';
import { SandboxError } from '../../supervisor/errors.js';
import { processStartTicks } from '../../supervisor/state.js';
import { ViewServer } from '../fs.js';
import { viewsFor, type ViewSpec } from '../views/index.js';
import { bindViews } from './bind.js';
import { ask } from './client.js';
import { openForeignCgroup } from './foreign-cgroup.js';
import {
  PROTOCOL_VERSION,
  parseRequest,
  type RegisterRequest,
  type Reply,
  type RetieRequest,
  type ServeRequest,
  type ServedView,
} from './protocol.js';
import { loadKeyFloor, loadRegistrations, saveRegistrations, type Registration } from './registry.js';
import type { KeeperLink } from './keeper-link.js';
import { cgroupViewSpec } from '../view-source.js';
import { describeCgroup } from '../view-cgroup.js';
import { containerStartMs, hostBootMs } from './source.js';
import { isNamespaceInit, peerCred, peerIsHostRoot, pidNamespaceOf } from '../../supervisor/peer.js';

/** Where the daemon lives unless told otherwise (the contract with the DaemonSet and systemd unit). */
export const DEFAULT_MOUNT = '/run/sandbox-procfs/mnt';
export const DEFAULT_SOCKET = '/run/sandbox-procfs/api.sock';
/** Where lxcfs serves (recipes hard-code it): `--mount /var/lib/lxcfs` serves there instead. */
export const LXCFS_DIR = '/var/lib/lxcfs';
/** Names at the top of the mount that are the reader-routed layout's (lxcfs has cgroup/ there too): no container id may take them. */
const RESERVED_IDS: readonly string[] = ['proc', 'sys', 'cgroup'];
/** How often registrations whose process is gone are dropped (a poststop hook may never come). */
const SWEEP_MS = 2000;

/** Options of the daemon. */
export interface ServeOptions {
  mountDir: string;
  socketPath: string;
  /** One line per event (register, unregister, restore) — stderr in the CLI. */
  log: (line: string) => void;
  /**
   * Resolves when the daemon should stop (the CLI: SIGTERM or SIGINT); 'leave': stop serving but
   * leave the mount to the keeper (a successor serves it, or the keeper ends it).
   */
  stop: Promise<void | 'leave' | 'end'>;
  /** Serve the connection the keeper mounted (keeper-link.ts); absent: open and mount our own. */
  keeper?: KeeperLink | null;
}

/** The registrations file: next to the socket. */
function registryPath(socketPath: string): string {
  return join(dirname(socketPath), 'registrations.json');
}

/** Requests one connection may have waiting; a client that pipelines more is cut off. */
const MAX_PENDING = 16;
/** Connections served at once. */
const MAX_CONNECTIONS = 64;

/**
 * Who asks, from SO_PEERCRED (supervisor/peer.ts). The host (root in the daemon's pid namespace:
 * the CLI, a runtime's createRuntime/poststop hooks, an admin) may do anything. Root in another pid
 * namespace is a createContainer hook, which runc runs inside the container's namespaces (runc
 * init's child): it may register only the init of its own pid namespace, unregister and list only
 * such containers. So a workload that reaches the socket cannot have views bound into a host
 * process of its choosing, and every refusal reads the same, whether or not the pid exists.
 */
interface Caller {
  host: boolean;
  /** The caller's pid namespace at connect time (null: unknown, nothing is allowed). */
  pidNs: string | null;
}

/** Whether a non-host caller may act on pid: it is the init of the caller's own pid namespace. */
function ownContainer(caller: Caller, pid: number): boolean {
  return caller.host || (caller.pidNs !== null && pidNamespaceOf(pid) === caller.pidNs && isNamespaceInit(pid));
}

/** One container being served. */
interface Entry {
  reg: Registration;
  stop(): void;
}

/** The daemon's state and request handlers. */
class Daemon {
  private readonly entries = new Map<string, Entry>();
  /** Sandboxes of `sandbox run` (serve), as persisted: kept by a successor on the same connection. */
  private readonly sandboxes = new Map<string, Registration & { sandbox: NonNullable<Registration['sandbox']> }>();
  private readonly bootMs = hostBootMs();
  /** Serializes state-file writes (each write is the whole list). */
  private saving: Promise<void> = Promise.resolve();

  constructor(
    private readonly server: ViewServer,
    private readonly statePath: string,
    private readonly log: (line: string) => void,
  ) {}

  /** Serve a container's views (without binding), with its earlier node-id key if it had one; returns its cgroup's views. */
  private serve(
    id: string,
    pid: number,
    startTicks: number,
    targets: string[] | null,
    key?: number,
  ): readonly ViewSpec[] {
    const cgroup = openForeignCgroup(pid);
    const psi =
      cgroup.mode === 'v2' && existsSync('/proc/pressure/cpu') && existsSync(`${cgroup.dirs[0]}/cpu.pressure`);
    const views = viewsFor(cgroup.mode, psi);
    this.server.register(id, cgroupViewSpec(cgroup, containerStartMs(this.bootMs, startTicks)), views, key);
    this.entries.set(id, {
      reg: { id, pid, startTicks, targets: targets ?? views.map((v) => v.target), key: this.server.keyOf(id)! },
      stop: () => undefined,
    });
    return views;
  }

  private drop(id: string): boolean {
    const entry = this.entries.get(id);
    if (!entry) return false;
    entry.stop();
    this.server.unregister(id);
    this.entries.delete(id);
    return true;
  }

  private persist(): Promise<void> {
    const list = [...[...this.entries.values()].map((e) => e.reg), ...this.sandboxes.values()];
    const nextKey = this.server.keyFloor();
    this.saving = this.saving
      .then(() => saveRegistrations(this.statePath, list, nextKey))
      .catch((err) => this.log(`saving ${this.statePath}: ${(err as Error).message}`));
    return this.saving;
  }

  /** Sources on our mount and their targets under root (the container's root as its namespace sees it now). */
  private served(id: string, targets: readonly string[], root: string): ServedView[] {
    return targets.map((target) => ({
      source: `${this.server.mountpoint}/${id}${target}`,
      target: `${root}${target}`,
    }));
  }

  async register(req: RegisterRequest, caller: Caller): Promise<Reply> {
    // First, before anything that tells whether the pid exists.
    if (!ownContainer(caller, req.pid))
      return {
        ok: false,
        error: `register ${req.id}: refused: pid ${req.pid} is not the init of the caller's pid namespace (a hook inside a container may register only that container)`,
      };
    if (RESERVED_IDS.includes(req.id))
      return {
        ok: false,
        error: `register ${req.id}: the id is reserved: <mount>/${req.id} is the reader-routed layout's (${RESERVED_IDS.join(', ')})`,
      };
    const startTicks = await processStartTicks(req.pid);
    if (startTicks === null)
      return { ok: false, error: `register ${req.id}: no process ${req.pid} (/proc/${req.pid}/stat unreadable)` };
    if (this.sandboxes.has(req.id)) return { ok: false, error: `register ${req.id}: the id is a sandbox's` };
    const known = this.entries.get(req.id);
    if (known && (known.reg.pid !== req.pid || known.reg.startTicks !== startTicks)) {
      // A stale registration (its process is gone) gives way; a live one keeps its id.
      if ((await processStartTicks(known.reg.pid)) === known.reg.startTicks)
        return {
          ok: false,
          error: `register ${req.id}: the id is registered for ${caller.host ? `live pid ${known.reg.pid}` : 'another live container'}`,
        };
      this.drop(req.id);
    }
    let views: readonly ViewSpec[];
    try {
      views = this.entries.has(req.id) ? [] : this.serve(req.id, req.pid, startTicks, null);
    } catch (err) {
      return { ok: false, error: `register ${req.id}: ${(err as Error).message}` };
    }
    const entry = this.entries.get(req.id)!;
    const targets = views.length > 0 ? views.map((v) => v.target) : entry.reg.targets;
    const binds = this.served(req.id, targets, req.root);
    let skipped: string[] = [];
    if (req.bind !== false) {
      try {
        skipped = await bindViews(req.pid, binds);
      } catch (err) {
        this.drop(req.id);
        return {
          ok: false,
          error: `register ${req.id}: binding the views into pid ${req.pid}: ${(err as Error).message}`,
        };
      }
      const inside = new Set(skipped.map((s) => s.slice(req.root.length)));
      entry.reg.targets = targets.filter((t) => !inside.has(t));
    }
    await this.persist();
    const from = caller.host ? 'the host' : "a hook in the container's pid namespace";
    this.log(
      `register ${req.id} pid ${req.pid} (${entry.reg.targets.length} views${skipped.length > 0 ? `, skipped ${skipped.join(' ')}` : ''}; asked by ${from})`,
    );
    return { ok: true, views: binds.filter((b) => !skipped.includes(b.target)), skipped };
  }

  /**
   * Serve a sandbox `sandbox run` starts: host callers only (a workload's root that reaches the
   * socket could otherwise have any cgroup's figures served under a name of its choosing). The
   * cgroup is described from the given directories under this daemon's own cgroup mounts.
   */
  async serveSandbox(req: ServeRequest, caller: Caller): Promise<Reply> {
    if (!caller.host) return { ok: false, error: `serve ${req.id}: refused: for host callers only` };
    const startTicks = await processStartTicks(req.supervisorPid);
    if (startTicks === null)
      return {
        ok: false,
        error: `serve ${req.id}: no process ${req.supervisorPid} (/proc/${req.supervisorPid}/stat unreadable)`,
      };
    if (this.entries.has(req.id) || this.sandboxes.has(req.id))
      return { ok: false, error: `serve ${req.id}: the id is served already` };
    if (RESERVED_IDS.includes(req.id))
      return {
        ok: false,
        error: `serve ${req.id}: the id is reserved for the reader-routed layout (${RESERVED_IDS.join(', ')})`,
      };
    let views: readonly ViewSpec[];
    try {
      views = this.serveSandboxViews({
        id: req.id,
        pid: req.supervisorPid,
        startTicks,
        targets: [],
        sandbox: { cgroupDirs: req.cgroupDirs, startedAtMs: req.startedAtMs },
      });
    } catch (err) {
      return { ok: false, error: `serve ${req.id}: ${(err as Error).message}` };
    }
    await this.persist();
    this.log(`serve sandbox ${req.id} (supervisor pid ${req.supervisorPid}, ${views.length} views)`);
    return {
      ok: true,
      version: PROTOCOL_VERSION,
      mount: this.server.mountpoint,
      views: this.served(
        req.id,
        views.map((v) => v.target),
        '',
      ),
    };
  }

  /** Tie a served sandbox's registration to another process (its stage, when the supervisor exits); host callers only. */
  async retieSandbox(req: RetieRequest, caller: Caller): Promise<Reply> {
    if (!caller.host) return { ok: false, error: `retie ${req.id}: refused: for host callers only` };
    const sandbox = this.sandboxes.get(req.id);
    if (!sandbox) return { ok: false, error: `retie ${req.id}: no such sandbox served` };
    const startTicks = await processStartTicks(req.pid);
    if (startTicks === null) return { ok: false, error: `retie ${req.id}: no process ${req.pid}` };
    sandbox.pid = req.pid;
    sandbox.startTicks = startTicks;
    await this.persist();
    this.log(`retie sandbox ${req.id} to pid ${req.pid}`);
    return { ok: true };
  }

  /** Register a sandbox's views (with its earlier key when restored) and record it; returns the views. */
  private serveSandboxViews(
    reg: Registration & { sandbox: NonNullable<Registration['sandbox']> },
  ): readonly ViewSpec[] {
    const cgroup = describeCgroup(reg.sandbox.cgroupDirs);
    if (cgroup.layout.mode === 'v1' && cgroup.layout.hierarchies.length === 0)
      throw new Error(
        `no cgroup directory under this daemon's v1 hierarchies among ${reg.sandbox.cgroupDirs.join(' ')}`,
      );
    // Asked while the cgroup is being created: its own PSI files may not be there yet, so the
    // pressure views are served whenever the kernel has PSI, and bound only where the cgroup has them.
    const views = viewsFor(cgroup.layout.mode, cgroup.layout.mode === 'v2' && existsSync('/proc/pressure/cpu'));
    this.server.register(reg.id, { cgroup, startedAtMs: reg.sandbox.startedAtMs }, views, reg.key);
    this.sandboxes.set(reg.id, { ...reg, targets: views.map((v) => v.target), key: this.server.keyOf(reg.id)! });
    return views;
  }

  async unregister(id: string, why = '', caller: Caller = HOST): Promise<Reply> {
    const sandbox = this.sandboxes.get(id);
    if (sandbox) {
      if (!caller.host) return { ok: true, known: false };
      this.sandboxes.delete(id);
      this.server.unregister(id);
      await this.persist();
      this.log(`unregister sandbox ${id}${why}`);
      return { ok: true, known: true };
    }
    const entry = this.entries.get(id);
    // Another container's registration is "not known" to a caller inside a container.
    if (entry && !ownContainer(caller, entry.reg.pid)) return { ok: true, known: false };
    const known = this.drop(id);
    if (known) {
      await this.persist();
      this.log(`unregister ${id}${why}`);
    }
    return { ok: true, known };
  }

  list(caller: Caller): Reply {
    const visible = [...this.entries.values()].filter((e) => ownContainer(caller, e.reg.pid));
    return { ok: true, containers: visible.map((e) => ({ id: e.reg.id, pid: e.reg.pid })) };
  }

  /**
   * Serve and re-bind every persisted registration whose process still lives. `bind` false: the
   * connection outlived the last server (the keeper's), so every bind still reaches it, under the
   * same node ids (the same keys): nothing to bind.
   */
  async restore(saved: readonly Registration[], bind = true): Promise<void> {
    const t0 = performance.now();
    await Promise.all(
      saved.map(async (reg) => {
        if ((await processStartTicks(reg.pid)) !== reg.startTicks)
          return this.log(`dropped ${reg.id}: pid ${reg.pid} is gone`);
        if (reg.sandbox) {
          // A sandbox's stage bound the files of the connection it started on: only a successor on
          // that connection can serve them on (a fresh mount's files are other files).
          if (bind) return this.log(`dropped sandbox ${reg.id}: its views were bound from the previous mount`);
          try {
            this.serveSandboxViews({ ...reg, sandbox: reg.sandbox });
            return this.log(`restored sandbox ${reg.id} (supervisor pid ${reg.pid})`);
          } catch (err) {
            return this.log(`dropped sandbox ${reg.id}: ${(err as Error).message}`);
          }
        }
        if (RESERVED_IDS.includes(reg.id))
          return this.log(`dropped ${reg.id}: the id is reserved for the reader-routed layout`);
        try {
          this.serve(reg.id, reg.pid, reg.startTicks, reg.targets, reg.key);
          if (!bind)
            return this.log(
              `restored ${reg.id} pid ${reg.pid} (${reg.targets.length} views kept: the connection lived on)`,
            );
          // The container has pivoted by now: its targets are paths under its own root.
          await bindViews(reg.pid, this.served(reg.id, reg.targets, ''));
          this.log(`restored ${reg.id} pid ${reg.pid} (${reg.targets.length} views re-bound)`);
        } catch (err) {
          this.drop(reg.id);
          this.log(`dropped ${reg.id}: ${(err as Error).message}`);
        }
      }),
    );
    await this.persist();
    if (saved.length > 0) this.log(`restore took ${(performance.now() - t0).toFixed(1)} ms`);
  }

  /** Drop containers whose init is gone (no poststop hook came). */
  async sweep(): Promise<void> {
    for (const [id, s] of [...this.sandboxes]) {
      if ((await processStartTicks(s.pid)) !== s.startTicks)
        await this.unregister(id, ` (supervisor pid ${s.pid} is gone)`);
    }
    for (const e of [...this.entries.values()]) {
      if ((await processStartTicks(e.reg.pid)) !== e.reg.startTicks)
        await this.unregister(e.reg.id, ` (pid ${e.reg.pid} is gone)`);
    }
  }

  /** Wait for the registrations file's last write. */
  flush(): Promise<void> {
    return this.saving;
  }

  /** Stop every sampler (the views go with the unmount). */
  close(): void {
    for (const e of this.entries.values()) e.stop();
  }
}

/** The daemon's own process as a caller (restores, sweeps). */
const HOST: Caller = { host: true, pidNs: null };

/** The reply to one request line (a line that does not parse gets its error and our version). */
async function answer(line: string, daemon: Daemon, caller: Caller): Promise<Reply> {
  const req = parseRequest(line);
  if (typeof req === 'string') return { ok: false, error: req, version: PROTOCOL_VERSION };
  switch (req.op) {
    case 'register':
      return daemon.register(req, caller);
    case 'serve':
      return daemon.serveSandbox(req, caller);
    case 'retie':
      return daemon.retieSandbox(req, caller);
    case 'unregister':
      return daemon.unregister(req.id, '', caller);
    case 'list':
      return daemon.list(caller);
  }
}

/** Handle one client connection: one reply line per request line, in order; input bounded (a
 * line of at most 64 KiB, MAX_PENDING requests waiting) and every line validated (parseRequest). */
function handleClient(sock: Socket, daemon: Daemon): void {
  let buf = '';
  let pending = 0;
  let chain: Promise<void> = Promise.resolve();
  sock.setEncoding('utf8');
  sock.on('error', () => undefined); // a client that went away: nothing to answer
  const cred = peerCred(sock);
  if (cred === null || cred.uid !== 0) {
    sock.end(`${JSON.stringify({ ok: false, error: 'refused: the API is for root only' })}\n`);
    return;
  }
  const caller: Caller = { host: peerIsHostRoot(cred), pidNs: cred.pidNs };
  sock.on('data', (chunk: string) => {
    buf += chunk;
    if (buf.length > 65536) return void sock.destroy();
    for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      if (++pending > MAX_PENDING) return void sock.destroy();
      chain = chain.then(async () => {
        const reply = await answer(line, daemon, caller);
        pending--;
        if (!sock.destroyed) sock.write(`${JSON.stringify(reply)}\n`);
      });
    }
  });
}

/** The filesystem type mounted at `dir` in our mount namespace (the topmost mount there), or null. */
export function mountedAt(dir: string, mountinfo = readFileSync('/proc/self/mountinfo', 'utf8')): string | null {
  let fstype: string | null = null;
  for (const line of mountinfo.split('\n')) {
    const fields = line.split(' ');
    const dash = fields.indexOf('-');
    // mountinfo escapes a space in a path as \040 (proc(5)).
    if (dash > 4 && fields[4]!.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8))) === dir)
      fstype = fields[dash + 1] ?? null;
  }
  return fstype;
}

/**
 * Make the mountpoint usable: a dead FUSE mount left by a killed daemon of ours answers ENOTCONN and
 * is detached (nothing unmounts it when its server dies: no fusermount watches it). Before mkdir,
 * which would fail on it. Anything else mounted there (lxcfs at /var/lib/lxcfs, a live daemon, a
 * tmpfs) is refused: serving over it would hide it from every new reader.
 */
function clearDeadMount(dir: string): void {
  try {
    statSync(dir);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return;
    if (code !== 'ENOTCONN') throw err;
    const dead = mountedAt(dir);
    if (dead !== 'fuse.sandbox')
      throw new SandboxError(
        `procfs serve: --mount ${dir}: a dead ${dead ?? 'FUSE'} mount is there (ENOTCONN; not ours): unmount it first (umount -l ${dir})`,
      );
    execFileSync('umount', ['-l', dir]);
  }
  const fstype = mountedAt(dir);
  if (fstype !== null)
    throw new SandboxError(
      `procfs serve: --mount ${dir}: ${fstype} is already mounted there${dir === LXCFS_DIR ? ' (lxcfs?)' : ''}; stop what serves it or choose another --mount`,
    );
}

/** Refuse a socket another daemon answers on (a dead one's file is removed). */
async function claimSocket(socketPath: string): Promise<void> {
  if (!existsSync(socketPath)) return;
  const live = await ask(socketPath, { op: 'list' }, 2000).then(
    () => true,
    () => false,
  );
  if (live) throw new SandboxError(`procfs serve: --socket ${socketPath}: another daemon answers there`);
  await unlink(socketPath);
}

/** Check the socket and the mountpoint and make their directories (before anything is mounted: a refusal leaves nothing). */
export async function prepareServe(mountDir: string, socketPath: string): Promise<void> {
  await claimSocket(socketPath);
  clearDeadMount(mountDir); // first: a refused --mount leaves nothing behind
  await mkdir(dirname(socketPath), { recursive: true, mode: 0o700 });
  await mkdir(mountDir, { recursive: true, mode: 0o755 });
}

/** Run the daemon until opts.stop resolves; returns the exit code. */
export async function serveProcfs(opts: ServeOptions): Promise<number> {
  const { mountDir, socketPath, log } = opts;
  const keeper = opts.keeper ?? null;
  if (!keeper) await prepareServe(mountDir, socketPath);
  const server = new ViewServer(mountDir, { byTarget: true, readerRouted: true, handleEpoch: keeper?.epoch ?? 0 });
  const statePath = registryPath(socketPath);
  const daemon = new Daemon(server, statePath, log);
  // A successor reads requests only once its predecessor has stopped (the keeper's "go"), and
  // knows every registration by then, under its key: the kernel's cached ids mean the same.
  const restoreBefore = keeper !== null && !keeper.fresh;
  const readFrom = keeper?.go.then(async () => {
    server.keyFloor(loadKeyFloor(statePath));
    if (restoreBefore) await daemon.restore(loadRegistrations(statePath, log), false);
  });
  await server
    .mount(
      keeper
        ? {
            fd: keeper.fd,
            init: keeper.init,
            readFrom: readFrom!,
            onPrepared: keeper.prepared,
            ...(keeper.journal !== null ? { journal: keeper.journal } : {}),
            ...(keeper.replay.length > 0 ? { replay: keeper.replay.map((r) => Buffer.from(r, 'base64')) } : {}),
          }
        : undefined,
    )
    .catch((err) => {
      throw new SandboxError(`procfs serve: --mount ${mountDir}: ${(err as Error).message}`);
    });
  if (keeper && !keeper.init) keeper.initialized(server.fuseInit()!);
  let listener: Server | null = null;
  let mode: void | 'leave' | 'end' = undefined;
  try {
    if (!restoreBefore) await daemon.restore(loadRegistrations(statePath, log));
    if (keeper) await claimSocket(socketPath); // a crashed predecessor's file
    listener = createServer((sock) => handleClient(sock, daemon));
    listener.maxConnections = MAX_CONNECTIONS;
    await new Promise<void>((resolve, reject) => {
      listener!.once('error', reject);
      // The socket is created with the umask's mode: narrow the umask so it is never, even briefly, world-connectable.
      const umask = process.umask(0o177);
      listener!.listen(socketPath, () => {
        process.umask(umask);
        resolve();
      });
    });
    await chmod(socketPath, 0o600);
    log(`serving views at ${mountDir}, API at ${socketPath}`);
    const sweeper = setInterval(() => void daemon.sweep(), SWEEP_MS);
    mode = await opts.stop;
    clearInterval(sweeper);
    return 0;
  } finally {
    if (listener) await new Promise<void>((resolve) => listener!.close(() => resolve()));
    await unlink(socketPath).catch(() => undefined);
    daemon.close();
    await daemon.flush();
    await server.unmount(mode === 'leave' ? 'leave' : 'end');
    keeper?.left();
    log(mode === 'leave' ? 'stopped serving (the keeper holds the connection)' : 'stopped');
  }
}
