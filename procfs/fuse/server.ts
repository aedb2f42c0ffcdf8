// A FUSE server of worker threads: opens /dev/fuse, starts the workers (each loads the handler and
// waits), mounts, and resolves once INIT is answered. Stopping follows what was measured
// (../shared/DESIGN.md "A FUSE server without libfuse"): a worker blocked in read(2) on /dev/fuse
// can be woken only by a request, and a plain umount ends the connection only when no other mount
// namespace holds a copy of the mount (any sandbox started meanwhile does). So: set the stop flag,
// send one LOOKUP per worker through a descriptor of the mount's root held since the start (it
// reaches the mount even after `sandbox run`'s stage detached it), wait for every worker to end,
// close /dev/fuse (fs/fuse/dev.c fuse_dev_release aborts the connection: copies answer ENOTCONN),
// then detach the mount if it is still here.
import { closeSync, constants } from 'node:fs';
import { open, stat, type FileHandle } from 'node:fs/promises';
import type { Worker } from 'node:worker_threads';
import { Control, type FuseCounters } from './control.js';
import { fuseMountedAt, mountCommands, mountFuse, openFuseDevice, type FuseMountOptions } from './mount.js';
import type { FuseHandler } from './handler.js';
import { serveFuseAsync, type LoopEnd } from './loop.js';
import type { WorkerInput, WorkerMessage } from './run-worker.js';
import { JOURNAL_SLOTS } from './journal.js';

/** O_PATH (fcntl.h): a descriptor that names the mount's root without opening it (no OPENDIR). */
const O_PATH = 0o10000000;

/**
 * The connection ended before the kernel's INIT was answered: the mount was detached (or the
 * connection aborted) under a server still starting; nothing of the server itself failed.
 */
export class FuseConnectionEnded extends Error {
  constructor(mountpoint: string) {
    super(`the FUSE connection of ${mountpoint} ended before INIT was answered (the mount was detached or aborted)`);
    this.name = 'FuseConnectionEnded';
  }
}

/** What INIT settled on a connection: the minor answered, and the one the kernel offered. */
export interface FuseInit {
  minor: number;
  kernelMinor: number;
}

/**
 * A connection another process opened and mounted (the keeper of `sandbox procfs serve`), inherited
 * as a descriptor. The keeper's own copy keeps the connection alive when this server ends
 * (fs/fuse/dev.c fuse_dev_release aborts only at the last release of the file).
 */
export interface InheritedConnection {
  fd: number;
  /** The INIT an earlier server of this connection answered; null: this server answers it. */
  init: FuseInit | null;
  /** Resolves when this server may read requests (its predecessor has stopped); default: at once. */
  readFrom?: Promise<void>;
  /** Called once every worker has built its handler and waits to read (before readFrom is awaited). */
  onPrepared?: () => void;
  /** The keeper's request journal (journal.ts): each worker records the requests it reads there. */
  journal?: number;
  /** Requests a dead server had read and maybe not answered: the first worker answers them first. */
  replay?: Uint8Array[];
}

/** Options of a FuseServer. */
export interface FuseServerOptions extends FuseMountOptions {
  mountpoint: string;
  /** Serve this inherited connection instead of opening /dev/fuse and mounting. */
  connection?: InheritedConnection;
  /** Worker threads started with the mount (default 2, or 0 with mainThreadHandler). */
  workers?: number;
  /**
   * Serve from the main thread with this handler (serveFuseAsync: a read on libuv's pool, the
   * answer here) until a worker serves: no thread to start before the first answer.
   */
  mainThreadHandler?: FuseHandler;
  /** With mainThreadHandler: workers startDeferredWorkers() starts (default 2). */
  deferredWorkers?: number;
  /** With mainThreadHandler: start the deferred workers once the main thread answered this many requests (default 256). */
  workersAfterRequests?: number;
  /** The worker entry script (default: ./worker.js beside this module). */
  workerFile?: URL | string;
  /** URL of the handler module the generic worker entry imports (needed with the default workerFile). */
  handlerModule?: string;
  /** Passed to each worker's createHandler (plain data and SharedArrayBuffers). */
  handlerData?: unknown;
  /** Where handler errors and unexpected worker ends are reported (default: stderr). */
  log?: (line: string) => void;
}

/** A mounted FUSE filesystem served by worker threads. */
export class FuseServer {
  private root: FileHandle | null = null;
  /** Whether the workers were let read (after mount(8), or an inherited connection's readFrom). */
  private mounted = false;
  private readonly workers: Worker[] = [];
  private readonly exited: Promise<void>[] = [];
  /** Per worker: resolves once it built its handler (or ended). */
  private readonly started: Promise<void>[] = [];
  /** Per worker: resolves once its loop ended, i.e. it reads no more (or the thread exited). */
  private readonly ended: Promise<void>[] = [];
  private stopped: Promise<void> | null = null;
  private ready!: () => void;
  private failed!: (err: Error) => void;
  private readonly initAnswered = new Promise<void>(
    (resolve, reject) => ((this.ready = resolve), (this.failed = reject)),
  );
  private readonly log: (line: string) => void;
  /** The main thread's reader, while it reads (stop wakes it like a worker). */
  private mainReader: Promise<unknown> | null = null;
  private mainReading = false;
  private workerServing = false;
  private deferredStarted = false;

  private constructor(
    private readonly opts: FuseServerOptions,
    private readonly devFd: number,
    readonly control: Control,
  ) {
    this.initAnswered.catch(() => undefined);
    this.log = opts.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  }

  get mountpoint(): string {
    return this.opts.mountpoint;
  }

  /** Start the workers, mount, and resolve when INIT is answered (reject, leaving nothing, if any step fails). */
  static async start(opts: FuseServerOptions): Promise<FuseServer> {
    const conn = opts.connection;
    const server = new FuseServer(opts, conn ? conn.fd : openFuseDevice(), new Control());
    for (let i = 0; i < (opts.workers ?? (opts.mainThreadHandler ? 0 : 2)); i++) server.addWorker();
    try {
      if (!conn) await mountFuse(server.devFd, opts.mountpoint, opts);
      else {
        // A successor loads while its predecessor still serves: only the hand-over itself is a pause.
        await Promise.all(server.started);
        conn.onPrepared?.();
        await conn.readFrom;
      }
      // A successor never sees INIT again: the connection was initialised by its predecessor.
      if (conn?.init) server.control.setReady(conn.init.minor, conn.init.kernelMinor), server.ready();
      server.mounted = true;
      server.control.setMounted();
      // After the mount: read(2) of a /dev/fuse not yet mounted fails (fs/fuse/dev.c fuse_get_dev).
      if (opts.mainThreadHandler) server.serveOnMainThread(opts.mainThreadHandler);
      await server.initAnswered;
      // The root's own dentry is never revalidated: opening it with O_PATH sends no request.
      server.root = await open(opts.mountpoint, O_PATH | constants.O_DIRECTORY);
    } catch (err) {
      await server.stop(conn ? 'leave' : 'end');
      throw err;
    }
    return server;
  }

  /** Serve from the main thread until a worker serves (see mainThreadHandler). */
  private serveOnMainThread(handler: FuseHandler): void {
    const { opts, control } = this;
    const after = opts.workersAfterRequests ?? 256;
    let answered = 0;
    let reported = 0;
    this.mainReading = true;
    this.mainReader = serveFuseAsync(this.devFd, handler, control, {
      onReady: () => this.ready(),
      onHandlerError: (err, opcode) => {
        if (reported++ < 10)
          this.log(
            `fuse ${opts.mountpoint}: handler error (opcode ${opcode}): ${(err as Error)?.stack ?? String(err)}`,
          );
      },
      handOver: () => this.workerServing,
      onRequest: () => {
        if (++answered === after) this.startDeferredWorkers();
      },
    }).then(
      (end: LoopEnd | 'handed over') => {
        this.mainReading = false;
        if (end === 'unmounted' && !control.stopping()) this.failed(new FuseConnectionEnded(opts.mountpoint));
      },
      (err: Error) => {
        this.mainReading = false;
        this.log(`fuse ${opts.mountpoint}: main thread reader failed: ${err.stack ?? err.message}`);
        this.failed(err);
      },
    );
  }

  /** Start the deferred workers (mainThreadHandler), once; the main thread hands over when one serves. */
  startDeferredWorkers(): void {
    if (this.deferredStarted || !this.opts.mainThreadHandler) return;
    this.deferredStarted = true;
    for (let i = 0; i < (this.opts.deferredWorkers ?? 2); i++) this.addWorker();
  }

  /** Workers started so far (tests and the bench count them). */
  workerCount(): number {
    return this.workers.length;
  }

  /** Start one more worker (also after start: it goes straight to reading requests); ignored once stopping. */
  addWorker(): void {
    if (this.control.stopping()) return;
    const index = this.workers.length;
    const { opts, control } = this;
    const input: WorkerInput = {
      fd: this.devFd,
      index,
      control: control.buffer,
      handlerModule: opts.handlerModule ?? '',
      handlerData: opts.handlerData,
    };
    const conn = opts.connection;
    if (conn?.journal !== undefined && index < JOURNAL_SLOTS) input.journal = { fd: conn.journal, slot: index };
    if (conn?.replay && index === 0) input.replay = conn.replay;
    // Loaded here, not at the top: require('node:worker_threads') is a cost of the CLI's start
    // (docs/code-measurements.md), and `sandbox run -- true` starts no worker.
    const { Worker } = process.getBuiltinModule('node:worker_threads');
    const worker = new Worker(opts.workerFile ?? new URL('./worker.js', import.meta.url), {
      workerData: input,
      stdout: false,
      stderr: false,
    });
    let started!: () => void;
    let ended!: () => void;
    this.started.push(new Promise<void>((r) => (started = r)));
    this.ended.push(new Promise<void>((r) => (ended = r)));
    worker.once('exit', () => (started(), ended()));
    worker.on('message', (m: WorkerMessage) => {
      if (m.type === 'started') started();
      else if (m.type === 'ended') ended();
      if (m.type === 'ready') this.ready();
      else if (m.type === 'serving') this.workerServing = true;
      else if (m.type === 'ended' && m.why === 'unmounted' && !control.stopping())
        this.failed(new FuseConnectionEnded(opts.mountpoint));
      else if (m.type === 'stderr') process.stderr.write(m.text);
      else if (m.type === 'handler-error')
        this.log(`fuse ${opts.mountpoint}: handler error (opcode ${m.opcode}): ${m.message}`);
    });
    worker.on('error', (err) => {
      this.log(`fuse ${opts.mountpoint}: worker ${index} failed: ${err.stack ?? err.message}`);
      this.failed(new Error(`fuse worker ${index}: ${err.message}`));
    });
    this.exited.push(
      new Promise<void>((resolve) =>
        worker.once('exit', () => {
          if (!control.stopping()) this.failed(new Error(`fuse worker ${index} ended before the server was ready`));
          resolve();
        }),
      ),
    );
    this.workers.push(worker);
  }

  /** What INIT settled (null before it was answered). */
  init(): FuseInit | null {
    const minor = this.control.minor();
    return minor === 0 ? null : { minor, kernelMinor: this.control.kernelMinor() };
  }

  /** The server's counters (requests per opcode, ENOSYS answers, handler errors, interrupts). */
  counters(): FuseCounters {
    return this.control.counters();
  }

  /**
   * Stop serving and unmount (see the top of this file); idempotent. `leave`: stop serving but
   * leave the mount (an inherited connection's keeper ends it, or a successor serves it): every
   * request a worker read is answered, the rest wait in the kernel's queue.
   */
  stop(mode: 'end' | 'leave' = 'end'): Promise<void> {
    this.stopped ??= this.doStop(mode);
    return this.stopped;
  }

  private async doStop(mode: 'end' | 'leave'): Promise<void> {
    this.control.requestStop();
    // A worker still starting (addWorker shortly before) ends now instead of after its start; one in
    // read(2) ends once the LOOKUP below wakes it (its reply is then never written: the stat fails
    // when /dev/fuse closes). Not when leaving the connection to a successor: a worker terminated
    // between its read(2) and its reply would lose the request it read; each one answers it and
    // sees the flag (one still starting sees it in waitMounted). Wake-ups no worker of ours took are
    // answered by the successor.
    if (mode === 'end') for (const w of this.workers) void w.terminate();
    const root = this.root;
    if (this.mounted) {
      // One LOOKUP per worker; a name never cached (an error is not cached as a negative entry).
      // Lookups left unanswered (a worker took another request instead) fail when /dev/fuse closes.
      const dir = root !== null ? `/proc/self/fd/${root.fd}` : this.opts.mountpoint;
      const readers = this.workers.length + (this.mainReading ? 1 : 0);
      for (let i = 0; i < readers; i++) void stat(`${dir}/.fuse-stop-${process.pid}-${i}`).catch(() => undefined);
    }
    // Leaving: a worker whose loop ended reads no more; its thread's teardown need not be waited for.
    await Promise.all([...(mode === 'leave' ? this.ended : this.exited), this.mainReader]);
    const rootClosed = root?.close();
    this.root = null;
    // On this thread: release of /dev/fuse aborts the connection (when ours is the last copy) and
    // waits for no request.
    closeSync(this.devFd);
    await rootClosed;
    if (mode === 'end' && fuseMountedAt(this.opts.mountpoint)) await mountCommands.unmount(this.opts.mountpoint);
  }
}
