// The FUSE filesystem that serves the views: one mount served by procfs/fuse (worker threads, or
// the main thread until workers are wanted: lazyWorkers), routed by path (/<sandbox-id>/<view>), so one server serves many sandboxes. A sandbox's
// files are routed by path: the sandbox is known exactly, whoever reads. The daemon also serves
// lxcfs's layout routed by the reader (readerRouted: /proc/meminfo … at the top, rendered for the
// cgroup of the process that reads, procfs/reader-views.ts), for containers nobody registered.
//
// Read semantics are those of the kernel's own /proc files (fs/seq_file.c seq_read_iter): a read at
// offset 0 generates fresh text, a read further on continues the text of that open. So `cat` gets
// one consistent snapshot at any read size, and tools that keep a file open and re-read it from
// offset 0 on every refresh (procps top, free -s, vmstat keep /proc/stat, meminfo and loadavg open
// and lseek(fd, 0) before each read) see new figures each time.
//
// Round trips decide the cost (docs/bench/2026-12-07-fuse-transport.md), so:
// - direct_io: the kernel passes every read through instead of serving the page cache, which
//   would replay an old open's text to a re-read at offset 0 and clip a longer render at the
//   i_size a short read left behind.
// - sizes are not procfs's 0 but the text's length rounded up to a page, as lxcfs reports a size:
//   sendfile(2) and splice(2) go through the page cache even with direct_io (fs/fuse/file.c
//   fuse_splice_read -> filemap_splice_read), which stops at i_size, so busybox cat (sendfile) got
//   nothing from a size 0. Rounded up, the short read at the text's end trims i_size to it
//   (fuse_short_read -> fuse_read_update_size); a page multiple is also what coreutils wc and tail
//   treat as "/proc-like, read to EOF" instead of trusting the size. Reads through read(2) ignore it.
// - entries never change, so the kernel caches them for an hour: no lookup per open. Attributes
//   (the size) for a second: a stat(2) after that second gets a fresh size (one getattr per file
//   per second at most). Until then a trimmed i_size stays, so a sendfile reader may lose the last
//   bytes of a text that grew since (a /proc/stat counter gaining a digit); read(2) readers never.
// - FOPEN_NOFLUSH: no synchronous FLUSH on close.
// Renders run in the thread that reads the request (procfs/view-handler.ts), from what every thread
// can reach (procfs/view-shared.ts, docs/fuse-transport.md): no request crosses threads. The main
// thread also keeps the registry and samples the load averages; it never touches the mount
// synchronously. Kernel reads in a render are synchronous preads of procfs and cgroupfs text
// (supervisor/kept-files.ts says why and what they cost).
import { FuseConnectionEnded, FuseServer, type FuseInit, type InheritedConnection } from './fuse/server.js';
import { existsSync, readFileSync } from 'node:fs';
import { createOpenTable } from './fuse/open-table.js';
import { OPEN_WORDS, READER_KEY, createViewHandler } from './view-handler.js';
import { detectLayout } from '../supervisor/cgroup/index.js';
import { parseUptime } from './parse/index.js';
import { readerCgroupKey } from './reader-cgroup.js';
import { ReaderLoads } from './reader-loads.js';
import { createReaderTable, type ReaderTableData } from './reader-table.js';
import type { FuseCounters } from './fuse/control.js';
import type { FuseHandler } from './fuse/handler.js';
import { LoadSampler } from './load-sampler.js';
import { sampleTasks } from './tasks.js';
import { openDescribedCgroup, type CgroupDescription } from './view-cgroup.js';
import type { ViewHandlerData } from './view-handler.js';
import { SharedViews, createSharedViewData, type Registered } from './view-shared.js';
import { createSharedRenderData, type SharedRenderData } from './shared-renders.js';
import { VIEWS, viewsFor, type ViewName, type ViewSpec } from './views/index.js';

export { FuseConnectionEnded } from './fuse/server.js';

/** What the server needs to render one sandbox's views: plain data, opened again in every worker. */
export interface SandboxViewSpec {
  cgroup: CgroupDescription;
  /** Uptime 0 and /proc/stat's btime (epoch ms). */
  startedAtMs: number;
}

/** Options of a ViewServer. */
export interface ViewServerOptions {
  /**
   * Serve each view at its target path under the sandbox's directory (/<id>/proc/meminfo,
   * /<id>/sys/devices/system/cpu/online) instead of by name (/<id>/meminfo): the daemon's layout.
   */
  byTarget?: boolean;
  /** Worker threads (default 2: one per CPU of the machines this was measured on). */
  workers?: number;
  /**
   * Serve from the main thread first and start the workers only on demand: after
   * `workersAfterRequests` requests, or startWorkersLater's delay (`sandbox run`: starting a worker
   * costs more than the whole launch, docs/fuse-transport.md "Where the first requests are served").
   * The main thread's read of /dev/fuse takes one of libuv's 4 pool threads: a process serving this
   * way must never hold all of them in reads of its own mount (`sandbox run` reads it not at all),
   * or the read that would answer them never runs.
   */
  lazyWorkers?: boolean;
  /** With lazyWorkers: requests the main thread answers before the workers start (default 256). */
  workersAfterRequests?: number;
  /** Sandboxes served at once (default 1024; `sandbox run` serves one). */
  maxSandboxes?: number;
  /** Files open at once across every sandbox (default 1024 per sandbox, at most 8192): a full table refuses opens with EMFILE. */
  maxOpenFiles?: number;
  /** View files one sandbox may hold open at once (default 256): the open past it gets EMFILE. */
  maxOpenFilesPerSandbox?: number;
  /**
   * Also serve lxcfs's layout at the top of the mount (/proc/meminfo, /sys/devices/system/cpu/online
   * …), each read rendered for the cgroup of the process that reads (the daemon; needs byTarget).
   */
  readerRouted?: boolean;
  /** With readerRouted: reader cgroups whose state is kept at once (default 1024); newer ones get the host files. */
  maxReaderCgroups?: number;
  /**
   * Which server of one connection this is (the keeper counts them from 1; default 0): file
   * handles carry it, so a handle an earlier server gave out is known as one (view-handler.ts).
   */
  handleEpoch?: number;
}

/**
 * How the views are mounted (also by the daemon's keeper, procfs/daemon/keeper.ts). Read-write, as
 * the fuse-native mount was: a write open gets the views' EACCES, not EROFS (one GETATTR per cat
 * more: mount.ts readOnly says why).
 */
export const VIEW_MOUNT = { fsname: 'sandbox-views', subtype: 'sandbox', readOnly: false } as const;

/** View files one sandbox may hold open by default: top keeps 5 open, the abuse test 200. */
const MAX_OPEN_PER_SANDBOX = 256;

/** Bytes of an open's text kept where every worker reads it (longer texts stay with their worker). */
const OPEN_TEXT_BYTES = 8 << 10;

/** The worker entry: the CLI bundle's sibling, tsc's output beside this module, or (tests run the sources) the build's. */
function workerFile(): URL {
  const here = import.meta.url;
  if (here.endsWith('.cjs')) return new URL('./view-worker.cjs', here);
  if (here.endsWith('.ts')) return new URL('../dist/procfs/view-worker.js', here);
  return new URL('./view-worker.js', here);
}

/** One sandbox as the main thread keeps it. */
interface Entry {
  reg: Registered;
  sampler: LoadSampler;
}

/** Serves every registered sandbox's views under one mountpoint. */
export class ViewServer {
  private readonly entries = new Map<string, Entry>();
  private readonly maxSandboxes: number;
  private readonly data: ReturnType<typeof createSharedViewData>;
  private readonly shared: SharedViews;
  private readonly freeSlots: number[];
  private nextKey = 1;
  private fuse: FuseServer | null = null;
  private workersTimer: NodeJS.Timeout | null = null;
  private readonly readerTable: ReaderTableData | null;
  private readonly renders: SharedRenderData;
  private readerLoads: ReaderLoads | null = null;

  constructor(
    readonly mountpoint: string,
    private readonly options: ViewServerOptions = {},
  ) {
    this.maxSandboxes = options.maxSandboxes ?? 1024;
    const readerCgroups = options.readerRouted ? (options.maxReaderCgroups ?? 1024) : 0;
    this.readerTable = readerCgroups > 0 ? createReaderTable(readerCgroups) : null;
    // Reader cgroups take the slots after the sandboxes' (procfs/reader-views.ts slotBase).
    this.data = createSharedViewData(this.maxSandboxes + readerCgroups);
    this.renders = createSharedRenderData(this.maxSandboxes + readerCgroups, VIEWS.length);
    this.shared = new SharedViews(this.data);
    this.freeSlots = Array.from({ length: this.maxSandboxes }, (_, i) => this.maxSandboxes - 1 - i);
  }

  /** Path of one sandbox's view file on the host, to bind inside the sandbox. */
  viewPath(id: string, name: ViewName): string {
    if (!this.options.byTarget) return `${this.mountpoint}/${id}/${name}`;
    const spec = VIEWS.find((v) => v.name === name);
    if (!spec) throw new Error(`no view named ${name}`);
    return `${this.mountpoint}/${id}${spec.target}`;
  }

  /** The node-id key of a served sandbox (persisted so a successor keeps the ids), or null. */
  keyOf(id: string): number | null {
    return this.entries.get(id)?.reg.key ?? null;
  }

  /** Keys below this were given out (persisted so a successor never reuses one); raise it with a persisted floor. */
  keyFloor(floor?: number): number {
    if (floor !== undefined && Number.isSafeInteger(floor) && floor > this.nextKey && floor < READER_KEY)
      this.nextKey = floor;
    return this.nextKey;
  }

  /** Ids of the sandboxes served now. */
  ids(): string[] {
    return [...this.entries.keys()];
  }

  /**
   * Start serving a sandbox's views (all of VIEWS unless a subset is given) and sampling its load.
   * `key`: the node-id key an earlier server of this connection gave it (the kernel still caches
   * those ids); default a fresh one.
   */
  register(id: string, spec: SandboxViewSpec, views: readonly ViewSpec[] = VIEWS, key?: number): void {
    this.unregister(id);
    if (
      key !== undefined &&
      (!Number.isSafeInteger(key) ||
        key < 1 ||
        key >= READER_KEY ||
        [...this.entries.values()].some((e) => e.reg.key === key))
    )
      throw new Error(`views: key ${key} of ${id} is invalid or taken`);
    const slot = this.freeSlots.pop();
    if (slot === undefined) throw new Error(`views: ${this.maxSandboxes} sandboxes are served already`);
    this.shared.resetSlot(slot);
    if (key !== undefined) this.nextKey = Math.max(this.nextKey, key + 1);
    const reg: Registered = {
      id,
      key: key ?? this.nextKey++,
      slot,
      cgroup: spec.cgroup,
      startedAtMs: spec.startedAtMs,
      views: views.map((v) => v.name),
    };
    const cgroup = openDescribedCgroup(spec.cgroup);
    // The load's samples are the views' task samples: at most one scan for both (SharedViews.taskSample).
    const sampler = new LoadSampler(() => this.shared.taskSample(slot, () => sampleTasks(cgroup.threads())), {
      onFold: (load) => this.shared.setLoad(slot, load),
    });
    sampler.start();
    this.entries.set(id, { reg, sampler });
    this.publish();
  }

  /** Kept for callers of the former server: the workers compile the renderers on their first render. */
  warm(_id: string): void {}

  /** Render cache hits and misses per view since the mount (renders asked for reads at offset 0, every sandbox together). */
  renderCounts(): Record<string, { hits: number; misses: number; refreshes: number }> {
    return Object.fromEntries(VIEWS.map((v, i) => [v.name, this.shared.renderCount(i)]));
  }

  /** View files a sandbox holds open now, or null when not served. */
  openFiles(id: string): number | null {
    const entry = this.entries.get(id);
    return entry ? this.shared.openFiles(entry.reg.slot) : null;
  }

  /** Task scans made for a sandbox since it was registered (the views' and the load sampler's) and their time, or null when not served. */
  taskScans(id: string): { scans: number; busyMs: number; lastMs: number } | null {
    const entry = this.entries.get(id);
    return entry ? this.shared.taskScans(entry.reg.slot) : null;
  }

  /** Stop serving a sandbox's views. */
  unregister(id: string): void {
    const entry = this.entries.get(id);
    if (!entry) return;
    entry.sampler.stop();
    this.entries.delete(id);
    this.publish();
    this.freeSlots.push(entry.reg.slot);
  }

  private publish(): void {
    this.shared.writeRegistry([...this.entries.values()].map((e) => e.reg));
  }

  /**
   * Mount the filesystem (the mountpoint directory must exist); resolves when the kernel's INIT is
   * answered. With `connection`: serve a connection the keeper mounted (procfs/daemon/keeper.ts).
   */
  async mount(connection?: InheritedConnection): Promise<void> {
    const handlerData: ViewHandlerData = {
      handleEpoch: this.options.handleEpoch ?? 0,
      shared: this.data,
      renders: this.renders,
      opens: createOpenTable(
        this.options.maxOpenFiles ?? Math.min(8192, 1024 * this.maxSandboxes),
        OPEN_WORDS,
        OPEN_TEXT_BYTES,
      ),
      byTarget: this.options.byTarget === true,
      mountedAtMs: Date.now(),
      maxOpenPerSandbox: this.options.maxOpenFilesPerSandbox ?? MAX_OPEN_PER_SANDBOX,
    };
    if (this.readerTable) {
      handlerData.reader = readerViewsData(this.readerTable, this.maxSandboxes);
      this.readerLoads = new ReaderLoads(this.readerTable, this.shared, this.maxSandboxes);
      this.readerLoads.start();
    }
    this.fuse = await FuseServer.start({
      mountpoint: this.mountpoint,
      ...(connection ? { connection } : {}),
      ...VIEW_MOUNT,
      workers: this.options.lazyWorkers ? 0 : (this.options.workers ?? 2),
      workerFile: workerFile(),
      handlerData,
      ...(this.options.lazyWorkers
        ? {
            mainThreadHandler: markingFirstRead(createViewHandler(handlerData, (line) => process.stderr.write(line))),
            deferredWorkers: this.options.workers ?? 2,
            workersAfterRequests: this.options.workersAfterRequests ?? 256,
          }
        : {}),
    }).catch((err: Error) => {
      if (err instanceof FuseConnectionEnded) throw err;
      throw new Error(`mount FUSE ${this.mountpoint}: ${err.message}`);
    });
  }

  /** With lazyWorkers: start the workers after `ms` unless started before (the timer keeps nothing alive). */
  startWorkersLater(ms: number): void {
    if (this.workersTimer || !this.fuse) return;
    this.workersTimer = setTimeout(() => this.fuse?.startDeferredWorkers(), ms).unref();
  }

  /** Worker threads started so far (0 while the main thread serves alone). */
  workerCount(): number {
    return this.fuse?.workerCount() ?? 0;
  }

  /** What INIT settled (null before it was answered or when not mounted). */
  fuseInit(): FuseInit | null {
    return this.fuse?.init() ?? null;
  }

  /** The transport's counters (requests per opcode, errors), or null when not mounted. */
  counters(): FuseCounters | null {
    return this.fuse?.counters() ?? null;
  }

  /** Stop the workers and unmount (procfs/fuse/server.ts stop; `leave`: keep the mount for a successor); every sampler stops too. */
  async unmount(mode: 'end' | 'leave' = 'end'): Promise<void> {
    if (this.workersTimer) clearTimeout(this.workersTimer);
    for (const e of this.entries.values()) e.sampler.stop();
    this.readerLoads?.stop();
    const fuse = this.fuse;
    this.fuse = null;
    await fuse?.stop(mode);
  }
}

/**
 * The main thread's handler, which on its first READ tells the CLI's entry that this process
 * answered a view read (supervisor/main.cts: its code cache then keeps the read path), and then
 * reads as it is.
 */
function markingFirstRead(handler: FuseHandler): FuseHandler {
  const read = handler.read;
  handler.read = (...args) => {
    handler.read = read;
    (globalThis as { __sandboxViewReadServed?: boolean }).__sandboxViewReadServed = true;
    return read(...args);
  };
  return handler;
}

/**
 * What the reader-routed layout's workers need: the host's cgroup mode and the views it lists (the
 * pressure files on v2 with PSI), the cgroups that count as the host's (pid 1's and this process's),
 * and the host's boot in epoch ms (now − /proc/uptime: to 10 ms, where /proc/stat's btime is whole seconds).
 */
function readerViewsData(table: ReaderTableData, slotBase: number): NonNullable<ViewHandlerData['reader']> {
  const self = readFileSync('/proc/self/cgroup', 'utf8');
  const { mode } = detectLayout(self, readFileSync('/proc/self/mountinfo', 'utf8'));
  const hostKeys = [readFileSync('/proc/1/cgroup', 'utf8'), self]
    .map((t) => readerCgroupKey(t, mode))
    .filter((k): k is string => k !== null);
  const bootMs = Date.now() - parseUptime(readFileSync('/proc/uptime', 'utf8')).uptimeSec * 1000;
  const views = viewsFor(mode, mode === 'v2' && existsSync('/proc/pressure/cpu')).map((v) => v.name);
  return { table, slotBase, mode, hostKeys, bootMs, views };
}
