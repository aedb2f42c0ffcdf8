// `sandbox procfs serve` is a keeper: it opens /dev/fuse, mounts, and runs the daemon (serve.ts) as a
// child process that inherits the descriptor (Node hands a child a raw fd through spawn's stdio; it
// cannot pass one to an unrelated process). The keeper's own copy keeps the FUSE connection alive
// when the child ends (fs/fuse/dev.c fuse_dev_release aborts it only at the last release of the
// file), so requests wait in the kernel's queue until the next child reads them:
// - a child that dies (a crash, SIGKILL) is replaced at once. Requests it had read and not answered
//   sit on the file's processing list: where the kernel offers FUSE_NOTIFY_RESEND (7.40, Linux
//   6.9: fs/fuse/dev.c fuse_notify_resend) the keeper sends it first, which queues them again;
//   before that, the workers' request journal (procfs/fuse/journal.ts, an unnamed tmpfs file the
//   keeper holds) has the last request each worker read, and the next server answers those first.
// - SIGHUP (an upgrade: systemd's ExecReload) starts a new child from the CLI on disk, lets it load
//   and start its workers, then asks the old one to stop (each request a worker read is answered;
//   the mount stays) and tells the new one to read: requests wait only for that hand-over.
// - SIGUSR2 (an upgrade of the keeper itself): the child stops as for SIGHUP, every request it read
//   answered, then the keeper re-executes itself (reexec.ts: execve(2) in place, same pid, the
//   descriptor kept open across it); the new image adopts the connection without mounting and
//   starts a server. Requests wait in the kernel's queue meanwhile: a longer pause, no failed read.
// - SIGTERM/SIGINT: stop the child, close our copy (the connection ends: binds elsewhere answer
//   ENOTCONN), unmount, as the daemon did before.
// The keeper serves no request and opens no socket: the API socket is the child's.
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, writeSync } from 'node:fs';
import type { FuseInit } from '../fuse/server.js';
import { fuseMountedAt, mountFuse, openFuseDevice, unmountFuse } from '../fuse/mount.js';
import { VIEW_MOUNT } from '../fs.js';
import { OUT_HEADER_SIZE, writeOutHeader } from '../fuse/protocol.js';
import { KEEPER_ENV, type FromServer, type KeeperStart, type ToServer } from './keeper-link.js';
import { prepareServe } from './serve.js';
import { reexecKeeper, type AdoptedConnection } from './reexec.js';
import { openJournal, readJournal, uniqueOf } from '../fuse/journal.js';
import { MAX_REPLAY } from './keeper-link.js';

/** FUSE_NOTIFY_RESEND (include/uapi/linux/fuse.h, protocol 7.40): queue again the requests read and not answered. */
const FUSE_NOTIFY_RESEND = 7;
const RESEND_MINOR = 40;
/** Crashes within CRASH_WINDOW_MS that make the keeper give up (systemd's Restart= takes over). */
const MAX_CRASHES = 5;
const CRASH_WINDOW_MS = 30_000;
/** How long a child may take to stop before it is killed. */
const STOP_MS = 10_000;
/** The child's fd of the connection: after stdin, stdout, stderr and the IPC channel. */
const CHILD_FD = 4;
/** The child's fd of the request journal. */
const CHILD_JOURNAL_FD = 5;
/** Set to 0 to answer from the journal even where FUSE_NOTIFY_RESEND exists (tests of the pre-6.9 path). */
const RESEND_ENV = 'SANDBOX_PROCFS_RESEND';
/** How long a replay is kept to be answered again should its server die too. */
const REPLAY_KEPT_MS = 5000;

/** Options of the keeper. */
export interface KeeperOptions {
  mountDir: string;
  socketPath: string;
  log: (line: string) => void;
  /** Resolves when everything should stop (SIGTERM, SIGINT). */
  stop: Promise<void>;
  /** Registers the reload handler (SIGHUP). */
  onReload: (reload: () => void) => void;
  /** Registers the keeper's upgrade handler (SIGUSR2). */
  onUpgrade: (upgrade: () => void) => void;
  /** The connection an earlier image of this process mounted (an upgrade): served without mounting. */
  adopted?: AdoptedConnection | null;
}

/** One child server. */
interface Child {
  proc: ChildProcess;
  epoch: number;
  /** Resolves true once it started its workers and waits for "go"; false if it exited first. */
  prepared: Promise<boolean>;
  /** Resolves when it reads no more: it said so ('left', every request it read answered) or exited. */
  done: Promise<void>;
  exited: Promise<void>;
  /** The keeper asked it to stop (a hand-over or the end): its exit is no crash. */
  asked: boolean;
}

/** Ask the kernel to queue again the requests a dead server read and never answered. */
function notifyResend(fd: number): void {
  const msg = Buffer.alloc(OUT_HEADER_SIZE);
  // A notification: unique 0, the code in the error field (fs/fuse/dev.c fuse_dev_do_write; writeOutHeader negates an errno).
  writeOutHeader(new DataView(msg.buffer, msg.byteOffset, msg.byteLength), OUT_HEADER_SIZE, -FUSE_NOTIFY_RESEND, 0n);
  writeSync(fd, msg);
}

/** Mount the views, or take the connection an earlier image of this process mounted; returns its /dev/fuse fd. */
async function openConnection(opts: KeeperOptions, adopted: AdoptedConnection | null): Promise<number> {
  const { mountDir, socketPath, log } = opts;
  if (adopted) {
    // Mounted by the image this one replaced (still ours: the socket's file went with its server).
    if (!fuseMountedAt(mountDir)) throw new Error(`adopted connection: nothing of ours is mounted at ${mountDir}`);
    log(`keeper: pid ${process.pid} re-executed; the connection kept`);
    return adopted.fd;
  }
  await prepareServe(mountDir, socketPath);
  const fd = openFuseDevice();
  try {
    await mountFuse(fd, mountDir, VIEW_MOUNT);
  } catch (err) {
    closeSync(fd);
    throw err;
  }
  return fd;
}

/** The request journal the servers share, or null (logged) where none can be made. */
function openJournalOrNone(log: (line: string) => void): number | null {
  try {
    return openJournal();
  } catch (err) {
    log(`keeper: ${(err as Error).message}: a crashed server's requests are lost before Linux 6.9`);
    return null;
  }
}

/** Tell `c` something, if it still listens. */
function send(c: Child | null, m: ToServer): void {
  if (c?.proc.connected) c.proc.send(m);
}

/** Run the keeper until opts.stop resolves (or children keep crashing); returns the exit code. */
export async function keepProcfs(opts: KeeperOptions): Promise<number> {
  const adopted = opts.adopted ?? null;
  const fd = await openConnection(opts, adopted);
  const journal = openJournalOrNone(opts.log);
  const useResend = process.env[RESEND_ENV] !== '0';
  delete process.env[RESEND_ENV];
  return new Keeper(opts, adopted, fd, journal, useResend).run();
}

/** The keeper's state: the connection, its servers, and what a crashed one left to answer. */
class Keeper {
  private readonly mountDir: string;
  private readonly log: (line: string) => void;
  /** Requests the next server answers first (after a crash), and those of the last replay, kept a while in case its server dies during it. */
  private replay: Buffer[] = [];
  private lastReplay: Buffer[] = [];
  private init: FuseInit | null;
  private epoch: number;
  private upgrading = false;
  private current: Child | null = null;
  private next: Child | null = null;
  private stopping = false;
  private code = 0;
  private readonly crashes: number[] = [];
  private finish: () => void = () => undefined;
  private readonly finished: Promise<void>;
  private finishStop: () => void = () => undefined;

  constructor(
    private readonly opts: KeeperOptions,
    private readonly adopted: AdoptedConnection | null,
    private readonly fd: number,
    private readonly journal: number | null,
    private readonly useResend: boolean,
  ) {
    this.mountDir = opts.mountDir;
    this.log = opts.log;
    this.init = adopted?.init ?? null;
    this.epoch = adopted?.epoch ?? 0;
    this.finished = new Promise<void>((resolve) => (this.finish = resolve));
  }

  /** Start the first server and serve until everything stopped; returns the exit code. */
  async run(): Promise<number> {
    const { opts, adopted } = this;
    opts.onReload(() => void this.reload());
    opts.onUpgrade(() => void this.upgrade());
    void opts.stop.then(() => this.stopAll());
    // A server that died during the upgrade (before it answered what it read): queue those again. With nothing read, a no-op.
    if (adopted && adopted.init.kernelMinor >= RESEND_MINOR) this.resend();
    this.current = this.startChild(adopted === null);
    await this.release(this.current);
    await this.finished;
    this.log('keeper: stopped');
    return this.code;
  }

  /** Send FUSE_NOTIFY_RESEND; a failure is logged, the requests then wait. */
  private resend(): void {
    try {
      notifyResend(this.fd);
    } catch (err) {
      this.log(`keeper: FUSE_NOTIFY_RESEND: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
  }

  /** Spawn a server on the connection (fresh: it mounted nothing yet); it reads once released. */
  private startChild(fresh: boolean): Child {
    const { journal } = this;
    const start: KeeperStart = {
      fd: CHILD_FD,
      epoch: ++this.epoch,
      init: this.init,
      fresh,
      journal: journal === null ? null : CHILD_JOURNAL_FD,
      replay: this.replay.map((r) => r.toString('base64')),
    };
    this.replay = [];
    const proc = spawn(process.execPath, [...process.execArgv, ...process.argv.slice(1)], {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc', this.fd, ...(journal === null ? [] : [journal])],
      env: { ...process.env, [KEEPER_ENV]: JSON.stringify(start) },
    });
    let prepared!: (ok: boolean) => void;
    let done!: () => void;
    const exited = new Promise<void>((r) => proc.once('exit', () => r()));
    const child: Child = {
      proc,
      epoch: start.epoch,
      prepared: new Promise((r) => (prepared = r)),
      done: new Promise((r) => (done = r)),
      exited,
      asked: false,
    };
    proc.on('message', (m: FromServer) => {
      if (m?.type === 'prepared') prepared(true);
      else if (m?.type === 'init' && this.init === null) this.init = m.init;
      else if (m?.type === 'left') {
        done();
        void this.handOff(child, 'left');
      }
    });
    proc.once('exit', (status, signal) => {
      prepared(false);
      done();
      void this.handOff(child, signal ?? `exit ${status}`);
    });
    proc.on('error', (err) => this.log(`keeper: server #${child.epoch}: ${err.message}`));
    const kept = fresh ? '' : this.init ? ', the connection kept' : '';
    this.log(`keeper: server pid ${proc.pid} (#${child.epoch}) started${kept}`);
    return child;
  }

  /** Let `child` read once it is prepared; a child that dies first is handled by onExit. */
  private async release(child: Child): Promise<void> {
    if ((await child.prepared) && !this.stopping) send(child, { type: 'go' });
  }

  /** `child` reads no more (it left when asked, or exited): let the next one read, after a crash at once. */
  private async handOff(child: Child, why: string): Promise<void> {
    if (child === this.next) this.next = null;
    if (child !== this.current || this.stopping || this.upgrading) return;
    this.current = null;
    if (why === 'left' && !child.asked)
      this.log(`keeper: server pid ${child.proc.pid} (#${child.epoch}) left unasked (SIGTERM)`);
    else if (why !== 'left') {
      this.log(`keeper: server pid ${child.proc.pid} (#${child.epoch}) ended (${why})${child.asked ? '' : ' unasked'}`);
      const crashes = this.countCrash();
      const { init } = this;
      if (init === null || crashes >= MAX_CRASHES) {
        this.log(
          init === null
            ? 'keeper: the first server ended before INIT was answered: giving up'
            : `keeper: ${crashes} servers ended within ${CRASH_WINDOW_MS / 1000} s: giving up`,
        );
        this.code = 1;
        return void this.stopAll();
      }
      this.requeueUnanswered(init.kernelMinor);
    }
    // A SIGHUP successor started before the crash has no replay: a new server answers it instead.
    if (this.next && this.replay.length > 0) {
      this.next.asked = true;
      this.next.proc.kill('SIGKILL'); // it was never let read
      this.next = null;
    }
    this.current = this.next ?? this.startChild(false);
    this.next = null;
    await this.release(this.current);
  }

  /** Note a server's crash now; returns the crashes within CRASH_WINDOW_MS. */
  private countCrash(): number {
    const { crashes } = this;
    const now = Date.now();
    crashes.push(now);
    while (crashes.length > 0 && crashes[0]! < now - CRASH_WINDOW_MS) crashes.shift();
    return crashes.length;
  }

  /** Have the requests a crashed server read and never answered answered by the next one. */
  private requeueUnanswered(kernelMinor: number): void {
    const { journal } = this;
    if (kernelMinor >= RESEND_MINOR && this.useResend) this.resend();
    else if (journal !== null) {
      // The last request each worker read, answered or not (an answered one's reply finds nothing:
      // ENOENT), and those of an earlier replay that may have died with this server.
      const seen = new Set<bigint>();
      this.replay = [...readJournal(journal), ...this.lastReplay]
        .filter((r) => !seen.has(uniqueOf(r)) && seen.add(uniqueOf(r)))
        .slice(0, MAX_REPLAY);
      this.lastReplay = this.replay;
      setTimeout(() => (this.lastReplay = []), REPLAY_KEPT_MS).unref();
      this.log(
        `keeper: answering ${this.replay.length} requests again from the journal (FUSE 7.${kernelMinor}${this.useResend ? ' has no FUSE_NOTIFY_RESEND' : `, ${RESEND_ENV}=0`})`,
      );
    } else
      this.log(
        `keeper: this kernel (FUSE 7.${kernelMinor}) has no FUSE_NOTIFY_RESEND and there is no journal: requests the server had read wait until the daemon stops`,
      );
  }

  /** SIGHUP: start a new server from the CLI on disk; once it is ready, the old one stops and it reads. */
  private async reload(): Promise<void> {
    if (this.stopping || this.next || !this.current || this.init === null)
      return this.log('keeper: SIGHUP ignored (starting, stopping or already reloading)');
    const old = this.current;
    const successor = this.startChild(false);
    this.next = successor;
    if (!(await successor.prepared))
      return this.log(`keeper: the new server ended before it was ready: #${old.epoch} serves on`);
    if (this.stopping || this.current !== old) return; // the old one crashed meanwhile: onExit let the successor read
    old.asked = true;
    send(old, { type: 'stop' });
    const timer = setTimeout(() => old.proc.kill('SIGKILL'), STOP_MS);
    await old.done;
    clearTimeout(timer);
  }

  /** Stop the server (every request it read answered), then replace this program with the CLI on disk. */
  private async upgrade(): Promise<void> {
    if (this.stopping || this.next || this.upgrading || !this.current || this.init === null)
      return this.log('keeper: SIGUSR2 ignored (starting, stopping or reloading)');
    const init = this.init;
    this.upgrading = true;
    const old = this.current;
    old.asked = true;
    send(old, { type: 'stop' });
    const timer = setTimeout(() => old.proc.kill('SIGKILL'), STOP_MS);
    await old.done;
    // It read its last request and answered it; what keeps it alive are its stop's wake-up stat(2)s,
    // which wait unread in the kernel's pending list: a fatal signal takes them out of it
    // (fs/fuse/dev.c request_wait_answer), so nothing is left for a server to answer.
    old.proc.kill('SIGKILL');
    await old.exited;
    clearTimeout(timer);
    if (this.stopping) return void this.finishStop();
    this.log(`keeper: pid ${process.pid} re-executing ${process.argv[1] ?? process.execPath} (the connection kept)`);
    const err = reexecKeeper({ fd: this.fd, init, epoch: this.epoch });
    this.log(`keeper: ${err.message}: serving on with this program`);
    this.upgrading = false;
    this.current = this.startChild(false);
    await this.release(this.current);
  }

  /** SIGTERM/SIGINT or too many crashes: stop the servers, end the connection, unmount. */
  private async stopAll(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    if (this.upgrading) await new Promise<void>((r) => (this.finishStop = r)); // the server is leaving already
    const children = [this.current, this.next].filter(
      (c): c is Child => c !== null && c.proc.exitCode === null && c.proc.signalCode === null,
    );
    for (const c of children) {
      c.asked = true;
      send(c, { type: 'stop' });
    }
    const timer = setTimeout(() => {
      for (const c of children) c.proc.kill('SIGKILL');
    }, STOP_MS);
    await Promise.all(children.map((c) => c.done));
    // The last copy: the connection ends (fs/fuse/dev.c fuse_dev_release -> fuse_abort_conn), and
    // the children's wake-ups nobody took fail, so they can exit.
    closeSync(this.fd);
    await Promise.all(children.map((c) => c.exited));
    clearTimeout(timer);
    const { mountDir, log } = this;
    if (fuseMountedAt(mountDir)) await unmountFuse(mountDir).catch((err: Error) => log(`keeper: ${err.message}`));
    this.finish();
  }
}
