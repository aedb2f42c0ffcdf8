// The views' filesystem as one FUSE reader serves it (procfs/fuse/handler.ts; a worker, or the main
// thread under lazyWorkers): routed by node id, rendered here, in the thread that reads the request. Node ids are made of the sandbox's key
// (never reused) and what the node is: key × 64 + 0 the sandbox's directory, 1 + i view i of VIEWS,
// 32 + j directory j of TARGET_DIRS (the daemon's by-target layout). So an id one worker answered a
// LOOKUP with means the same in every worker. Semantics are those of procfs/fs.ts's top comment.
// The daemon's reader-routed layout (lxcfs's: /proc/meminfo … at the top of the mount) is the
// pseudo key READER_KEY: its files are rendered for the cgroup of the process that reads
// (procfs/reader-views.ts), beside the registered sandboxes' directories.
import { EMPTY_TASKS, TaskScanner, sampleTasks } from './tasks.js';
import type { Entry, FuseHandler, RequestContext } from './fuse/handler.js';
import { DT_DIR, DT_REG, Errno, OpenFlag, type Attr } from './fuse/protocol.js';
import { OpenTable, type OpenTableData } from './fuse/open-table.js';
import { stderrLine } from './fuse/run-worker.js';
import { KeptFiles } from '../supervisor/kept-files.js';
import { REFRESH_AHEAD_MS, RENDER_TTL_MS, RenderCache } from './render-cache.js';
import { SharedRenders, type SharedRenderData } from './shared-renders.js';
import { openDescribedCgroup } from './view-cgroup.js';
import { SharedViews, type Registered, type SharedViewData } from './view-shared.js';
import { CgroupFs, type CgroupReader } from '../supervisor/cgroup/index.js';
import { ReaderViews, type ReaderCgroup, type ReaderViewsData } from './reader-views.js';
import { VIEWS, createViewMemory, readViewStats, renderView, type ViewName, type ViewSpec } from './views/index.js';

/** What each view worker gets. */
export interface ViewHandlerData {
  shared: SharedViewData;
  opens: OpenTableData;
  byTarget: boolean;
  mountedAtMs: number;
  /** View files one sandbox may hold open at once; the open past it gets EMFILE. */
  maxOpenPerSandbox: number;
  /** Which server of the connection this is (ViewServerOptions.handleEpoch): file handles carry it. */
  handleEpoch?: number;
  /** The render cache every worker shares (procfs/shared-renders.ts); absent: each worker's own only. */
  renders?: SharedRenderData;
  /** The reader-routed layout at the top of the mount (the daemon's), and the views it lists; absent: none. */
  reader?: ReaderViewsData & { views: ViewName[] };
}

const ROOT = 1;
const NODES_PER_KEY = 64;
const FIRST_DIR = 32;
const DIR_MODE = 0o40555;
const FILE_MODE = 0o100444;
/** Names below a sandbox never change while it is registered: cached for an hour. */
const ENTRY_MS = 3600_000;
/** A sandbox's own name may come back with a new key (re-registered): cached for a second. */
const SANDBOX_ENTRY_MS = 1000;
/** Attributes (the size follows the text) for a second. */
const ATTR_MS = 1000;
const PAGE = 4096;
const O_ACCMODE = 3;
/** The reader-routed layout's key: above any registered sandbox's (those count from 1), ids still exact doubles. */
export const READER_KEY = 2 ** 32;
/** File handles: epoch × HANDLE_EPOCH + open-table slot (tables hold at most 8192 slots by default). */
const HANDLE_EPOCH = 2 ** 24;
/** Words an open keeps (procfs/fs.ts sizes the open table with it): node id, counted slot + 1, reader entry generation. */
export const OPEN_WORDS = 3;
/** Refreshes one request may leave for after its reply (a read renders one view; a LOOKUP's size none). */
const MAX_PENDING_REFRESHES = 4;

/** Directories of the by-target layout: every proper prefix of a view's target. */
const TARGET_DIRS: readonly string[] = [
  ...new Set(
    VIEWS.flatMap((v) =>
      v.target
        .split('/')
        .slice(1, -1)
        .map((_, i, parts) => `/${parts.slice(0, i + 1).join('/')}`),
    ),
  ),
];

/** The size a view file reports for a text of `length` bytes: rounded up to a page (procfs/fs.ts says why). */
function viewFileSize(length: number): number {
  return Math.max(PAGE, Math.ceil(length / PAGE) * PAGE);
}

/** One sandbox as this worker serves it. */
interface Served {
  reg: Registered;
  views: readonly ViewSpec[];
  cgroup: CgroupReader | null;
  /** The descriptors the cgroup's reads keep open: closed when the sandbox is no longer registered. */
  files: CgroupFs;
  renders: RenderCache;
  tasks: TaskScanner;
}

/** Why a view is rendered: a file's size (LOOKUP, GETATTR), a read, or a refresh after a reply. */
type RenderFor = 'size' | 'read' | 'refresh';

/** What one render reads and keeps: a sandbox's or a reader cgroup's. */
interface RenderState {
  /** Its slot in the shared views. */
  slot: number;
  /** Who holds the slot now (a sandbox's key, a reader cgroup's table generation): tags its shared renders. */
  owner: number;
  cgroup: CgroupReader;
  renders: RenderCache;
  startedAtMs: number;
  /** A registered sandbox's scanner with its kept status files; null: scan afresh (a reader cgroup, which comes and goes). */
  tasks: TaskScanner | null;
}

/** Build one reader's handler; `warn` writes a line to stderr (a worker's goes through the main thread). */
export function createViewHandler(data: ViewHandlerData, warn: (line: string) => void = stderrLine): FuseHandler {
  const fs = new ViewFs(data, warn);
  // Plain functions, not the class's methods: callers wrap and call them unbound (procfs/fs.ts markingFirstRead).
  return {
    lookup: (parent, name) => fs.lookup(parent, name),
    getattr: (nodeid) => fs.getattr(nodeid),
    open: (nodeid, flags, ctx) => fs.open(nodeid, flags, ctx),
    read: (nodeid, handle, offset, size, out, ctx) => fs.read(nodeid, handle, offset, size, out, ctx),
    release: (nodeid, handle) => fs.release(nodeid, handle),
    readdir: (nodeid) => fs.readdir(nodeid),
    statfs: () => ({ blocks: 0, bfree: 0, bavail: 0, files: 0, ffree: 0, bsize: PAGE, namelen: 255, frsize: PAGE }),
    afterReply: () => fs.afterReply(),
  };
}

/** What a node id names: a sandbox dir ('' or a target dir) or a view file. */
interface ViewNode {
  served: Served | null;
  reader: boolean;
  key: number;
  spec: ViewSpec | null;
  dir: string | null;
}

const fileId = (key: number, spec: ViewSpec) => key * NODES_PER_KEY + 1 + VIEWS.indexOf(spec);
const dirId = (key: number, dir: string) =>
  key * NODES_PER_KEY + (dir === '' ? 0 : FIRST_DIR + TARGET_DIRS.indexOf(dir));

/** The views' filesystem of one reader: the registered sandboxes it knows, their renders, its opens. */
class ViewFs {
  private readonly shared: SharedViews;
  private readonly opens: OpenTable;
  private readonly hostFiles = new KeptFiles();
  private readonly sharedRenders: SharedRenders | null;
  /** Texts too long for a shared slot, kept by the worker that rendered them. */
  private readonly local = new Map<number, Buffer>();
  private generation = -1;
  private byKey = new Map<number, Served>();
  private byId = new Map<string, Served>();
  /** Ids of keys no longer registered, for the warning of an open that outlived its sandbox. */
  private readonly goneIds = new Map<number, string>();
  private readonly readers: ReaderViews | null;
  private readonly readerViews: ViewSpec[];
  /** Top-level names of the reader-routed layout ('proc', 'sys'). */
  private readonly readerTop: string[];
  private readonly epochBase: number;
  /** Renders a read left for after its reply (REFRESH_AHEAD_MS): what to render again, keyed by slot, owner and view. */
  private readonly pending = new Map<string, { state: RenderState; spec: ViewSpec }>();

  constructor(
    private readonly data: ViewHandlerData,
    private readonly warn: (line: string) => void,
  ) {
    this.shared = new SharedViews(data.shared);
    this.opens = new OpenTable(data.opens);
    this.sharedRenders = data.renders ? new SharedRenders(data.renders, VIEWS.length) : null;
    this.readers = data.reader ? new ReaderViews(data.reader, this.shared, warn) : null;
    this.readerViews = data.reader ? VIEWS.filter((v) => data.reader!.views.includes(v.name)) : [];
    this.readerTop = [...new Set(this.readerViews.map((v) => v.target.split('/')[1]!))];
    this.epochBase = (data.handleEpoch ?? 0) * HANDLE_EPOCH;
  }

  /** The open-table slot of a handle this server gave out, or null for an earlier server's. */
  private ownSlot(handle: number): number | null {
    const slot = handle - this.epochBase;
    return slot >= 0 && slot < HANDLE_EPOCH ? slot : null;
  }

  /** Follow the registry: new sandboxes served, gone ones' descriptors closed. */
  private sync(): void {
    this.readers?.sweep(); // reader cgroups gone: their descriptors close here (one atomic load otherwise)
    if (this.shared.generation() === this.generation) return;
    const { generation: g, entries } = this.shared.readRegistry();
    const next = new Map<number, Served>();
    for (const reg of entries)
      next.set(
        reg.key,
        this.byKey.get(reg.key) ?? {
          reg,
          views: VIEWS.filter((v) => reg.views.includes(v.name)),
          cgroup: null,
          files: new CgroupFs(reg.cgroup.root),
          renders: new RenderCache(),
          tasks: new TaskScanner(),
        },
      );
    for (const [key, s] of this.byKey) {
      if (next.has(key)) continue;
      this.goneIds.set(key, s.reg.id);
      s.tasks.close();
      s.files.closeAll();
    }
    if (this.goneIds.size > 10_000) this.goneIds.clear();
    this.byKey = next;
    this.byId = new Map([...next.values()].map((s) => [s.reg.id, s]));
    this.generation = g;
  }

  private attr(ino: number, mode: number, size: number): Attr {
    return { ino, mode, size, nlink: mode === DIR_MODE ? 2 : 1, uid: 0, gid: 0, timeMs: this.data.mountedAtMs };
  }

  /** What a node id names, or null when unknown. */
  private decode(nodeid: number): ViewNode | null {
    const key = Math.floor(nodeid / NODES_PER_KEY);
    const sub = nodeid % NODES_PER_KEY;
    const reader = key === READER_KEY && this.readers !== null;
    const served = this.byKey.get(key) ?? null;
    if (sub === 0) return reader ? null : { served, reader, key, spec: null, dir: '' };
    if (sub >= FIRST_DIR) {
      const dir = TARGET_DIRS[sub - FIRST_DIR];
      return dir === undefined ? null : { served, reader, key, spec: null, dir };
    }
    const spec = VIEWS[sub - 1];
    return spec === undefined || (reader && !this.readerViews.includes(spec))
      ? null
      : { served, reader, key, spec, dir: null };
  }

  /** Children of a directory of a sandbox (or of the reader-routed layout): names, and whether each is a view (else a directory). */
  private children(
    views: readonly ViewSpec[],
    dir: string,
  ): Array<{ name: string; spec: ViewSpec | null; path: string }> {
    if (!this.data.byTarget) return dir === '' ? views.map((v) => ({ name: v.name, spec: v, path: v.name })) : [];
    const out = new Map<string, { name: string; spec: ViewSpec | null; path: string }>();
    for (const v of views) {
      if (!v.target.startsWith(`${dir}/`)) continue;
      const name = v.target.slice(dir.length + 1).split('/')[0]!;
      const path = `${dir}/${name}`;
      out.set(name, { name, spec: path === v.target ? v : null, path });
    }
    return [...out.values()];
  }

  /** The host's own file of a view (what a view degrades to); empty when even that is unreadable. */
  private hostFile(spec: ViewSpec): Buffer {
    try {
      return Buffer.from(this.hostFiles.read(spec.hostPath ?? spec.target));
    } catch {
      return Buffer.alloc(0); // the host's own /proc unreadable: an empty file, never an error
    }
  }

  /**
   * A read was answered with a render made at `renderedAtMs`, `readGapMs` after the read before it: if
   * the render is old enough and the view read often enough (REFRESH_AHEAD_MS), make it again once the
   * reply is written (afterReply), unless another worker has claimed that already. Only a render the
   * shared table holds can be claimed (a text too long for it just renders at the TTL, as before).
   */
  private refreshLater(
    state: RenderState,
    spec: ViewSpec,
    view: number,
    renderedAtMs: number,
    nowMs: number,
    readGapMs: number,
  ) {
    if (nowMs - renderedAtMs < REFRESH_AHEAD_MS || readGapMs > RENDER_TTL_MS - REFRESH_AHEAD_MS) return;
    if (this.pending.size >= MAX_PENDING_REFRESHES) return;
    const key = `${state.slot}/${state.owner}/${view}`;
    if (this.pending.has(key)) return;
    if (this.sharedRenders && !this.sharedRenders.claimRefresh(state.slot, state.owner, view, renderedAtMs)) return;
    this.pending.set(key, { state, spec });
  }

  /** Make the renders the last request's reads left for after its reply (FuseHandler.afterReply). */
  afterReply(): void {
    // A failed refresh leaves the kept render to expire: the next read renders, and warns, as ever.
    for (const { state, spec } of this.pending.values()) {
      try {
        KeptFiles.batch(() => this.renderFrom(state, spec, 'refresh'));
      } catch {}
    }
    this.pending.clear();
  }

  /** The render cache's text for a read or a size, or null to render; a read is counted and may queue a refresh. */
  private cachedRender(state: RenderState, spec: ViewSpec, why: RenderFor, limitsKey: string, nowMs: number) {
    const { renders, slot, owner } = state;
    const view = VIEWS.indexOf(spec);
    let cached = renders.get(spec.name, limitsKey, nowMs);
    if (cached === null && this.sharedRenders !== null) {
      // Another worker's render of this window: kept here too, so the next hit costs no copy.
      cached = this.sharedRenders.get(slot, owner, view, limitsKey, nowMs);
      if (cached !== null && why === 'read') renders.set(spec.name, limitsKey, cached.renderedAtMs, cached.content);
    }
    if (why === 'read') {
      this.shared.renderCounted(view, cached ? 'hit' : 'miss');
      const gap = renders.readGap(spec.name, nowMs);
      if (cached) this.refreshLater(state, spec, view, cached.renderedAtMs, nowMs, gap);
    }
    return cached?.content ?? null;
  }

  /** Render a view from a cgroup (or take the render cache's); throws what the cgroup's reads throw. */
  private renderFrom(state: RenderState, spec: ViewSpec, why: RenderFor): Buffer {
    const { cgroup, renders, slot, owner, startedAtMs, tasks: scanner } = state;
    const { shared, sharedRenders } = this;
    const nowMs = Date.now();
    const counters = spec.name === 'stat' || spec.name === 'uptime';
    const limitsKey =
      (spec.cgroup === 'memory' || spec.cgroup === 'cpu' ? cgroup.limitsKey(spec.cgroup) : '') +
      (counters ? `@${startedAtMs}` : '');
    const view = VIEWS.indexOf(spec);
    if (why === 'refresh') shared.renderCounted(view, 'refresh');
    else {
      const cached = this.cachedRender(state, spec, why, limitsKey, nowMs);
      if (cached) return cached;
    }
    const hostText = spec.hostPath ? this.hostFiles.read(spec.hostPath) : '';
    const scan = () => (scanner ? scanner.sample(cgroup.threads()) : sampleTasks(cgroup.threads()));
    const tasks = spec.liveTasks ? shared.taskSample(slot, scan) : EMPTY_TASKS;
    const stats = readViewStats(cgroup, spec);
    const load = shared.load(slot);
    // Only stat and uptime carry counters between renders: those render under the sandbox's lock.
    const text = counters
      ? shared.withMemory(slot, startedAtMs, (memory) =>
          renderView(spec.name, hostText, stats, load, tasks, memory, nowMs),
        )
      : renderView(spec.name, hostText, stats, load, tasks, createViewMemory(startedAtMs), nowMs);
    const content = Buffer.from(text);
    if (why !== 'size') {
      renders.set(spec.name, limitsKey, nowMs, content);
      sharedRenders?.set(slot, owner, view, limitsKey, nowMs, content);
    }
    return content;
  }

  /** Render a sandbox's view; the host's file (and a warning, once) when its cgroup can't be read. */
  private render(key: number, served: Served | null, spec: ViewSpec, why: RenderFor): Buffer {
    return KeptFiles.batch(() => {
      try {
        if (!served) throw new Error(`sandbox ${this.goneIds.get(key) ?? key} is not registered`);
        served.cgroup ??= openDescribedCgroup(served.reg.cgroup, served.files);
        return this.renderFrom(
          {
            slot: served.reg.slot,
            owner: served.reg.key,
            cgroup: served.cgroup,
            renders: served.renders,
            startedAtMs: served.reg.startedAtMs,
            tasks: served.tasks,
          },
          spec,
          why,
        );
      } catch (err) {
        const id = served?.reg.id ?? this.goneIds.get(key) ?? String(key);
        if (served && this.shared.firstWarning(served.reg.slot, VIEWS.indexOf(spec)))
          this.warn(`sandbox: view ${spec.target} of ${id} serves the host file: ${(err as Error).message}\n`);
        return this.hostFile(spec);
      }
    });
  }

  /** Render a view of the reader-routed layout for the cgroup an open was resolved to (null: the host's file); `pid` reads now. */
  private renderForReader(reader: ReaderCgroup | null, pid: number, spec: ViewSpec, why: RenderFor): Buffer {
    if (reader === null) return this.hostFile(spec);
    try {
      const counters = spec.name === 'stat' || spec.name === 'uptime';
      const startedAtMs = (counters ? this.readers!.startedAtMs(pid) : null) ?? this.data.reader!.bootMs;
      return KeptFiles.batch(() =>
        this.renderFrom(
          {
            slot: reader.slot,
            owner: reader.ref.gen,
            cgroup: reader.cgroup,
            renders: reader.renders,
            startedAtMs,
            tasks: null,
          },
          spec,
          why,
        ),
      );
    } catch (err) {
      if (this.shared.firstWarning(reader.slot, VIEWS.indexOf(spec)))
        this.warn(
          `sandbox: view ${spec.target} for readers in cgroup ${reader.key.replace(/\n/g, ' ')} serves the host file: ${(err as Error).message}\n`,
        );
      return this.hostFile(spec);
    }
  }

  /**
   * The size a view file reports: its text's, rounded up to a page (viewFileSize). The reader-routed
   * files report the host file's plus a page, with no lookup of the caller: a container's text is
   * never much longer than the host's (fewer CPUs, smaller figures), and a size above the text only
   * means one short read more (which trims i_size: procfs/fs.ts).
   */
  private sizeOf(node: ViewNode, spec: ViewSpec): number {
    return node.reader
      ? viewFileSize(this.hostFile(spec).length + PAGE)
      : viewFileSize(this.render(node.key, node.served, spec, 'size').length);
  }

  /** The cgroup a reader-routed open counted in (words 1 and 2), or null for the host or an entry gone since. */
  private openedFor(fh: number): ReaderCgroup | null {
    const counted = this.opens.word(fh, 1) - 1;
    return counted < 0
      ? null
      : this.readers!.entry({ index: counted - this.data.reader!.slotBase, gen: this.opens.word(fh, 2) });
  }

  lookup(parent: number, name: string): Entry | number {
    this.sync();
    if (parent === ROOT) {
      if (this.readerTop.includes(name)) {
        const id = dirId(READER_KEY, `/${name}`);
        return { nodeid: id, attr: this.attr(id, DIR_MODE, 0), entryTtlMs: ENTRY_MS, attrTtlMs: ATTR_MS };
      }
      const served = this.byId.get(name);
      return served
        ? {
            nodeid: dirId(served.reg.key, ''),
            attr: this.attr(dirId(served.reg.key, ''), DIR_MODE, 0),
            entryTtlMs: SANDBOX_ENTRY_MS,
            attrTtlMs: ATTR_MS,
          }
        : -Errno.ENOENT;
    }
    const node = this.decode(parent);
    if (!node || (!node.served && !node.reader) || node.dir === null) return -Errno.ENOENT;
    const child = this.children(node.reader ? this.readerViews : node.served!.views, node.dir).find(
      (c) => c.name === name,
    );
    if (!child) return -Errno.ENOENT;
    if (child.spec) {
      const id = fileId(node.key, child.spec);
      return {
        nodeid: id,
        attr: this.attr(id, FILE_MODE, this.sizeOf(node, child.spec)),
        entryTtlMs: ENTRY_MS,
        attrTtlMs: ATTR_MS,
      };
    }
    const id = dirId(node.key, child.path);
    return { nodeid: id, attr: this.attr(id, DIR_MODE, 0), entryTtlMs: ENTRY_MS, attrTtlMs: ATTR_MS };
  }

  getattr(nodeid: number): { attr: Attr; ttlMs: number } | number {
    this.sync();
    if (nodeid === ROOT) return { attr: this.attr(ROOT, DIR_MODE, 0), ttlMs: ATTR_MS };
    const node = this.decode(nodeid);
    if (!node || (!node.served && !node.reader)) return -Errno.ENOENT;
    if (!node.spec) return { attr: this.attr(nodeid, DIR_MODE, 0), ttlMs: ATTR_MS };
    return { attr: this.attr(nodeid, FILE_MODE, this.sizeOf(node, node.spec)), ttlMs: ATTR_MS };
  }

  open(nodeid: number, flags: number, ctx: RequestContext): { fh: number; flags: number } | number {
    this.sync();
    const node = this.decode(nodeid);
    if (!node || (!node.served && !node.reader) || !node.spec) return -Errno.ENOENT;
    if ((flags & O_ACCMODE) !== 0) return -Errno.EACCES;
    // EMFILE, the one errno of a refused open: the sandbox (or the reader's cgroup) holds its cap
    // of view files, or the server's table (every sandbox's opens) is full. Each open costs
    // 330-580 bytes here. The host's readers of the reader-routed layout have no cap but the table.
    // A reader-routed open is resolved here, once: its reads render for this cgroup (words 1 and 2).
    const reader = node.reader ? this.readers!.resolve(ctx.pid) : null;
    const counted = reader === null ? node.served!.reg.slot : reader === 'host' ? -1 : reader.slot;
    if (counted >= 0 && !this.shared.claimOpen(counted, this.data.maxOpenPerSandbox)) return -Errno.EMFILE;
    const slot = this.opens.alloc([nodeid, counted + 1, reader !== null && reader !== 'host' ? reader.ref.gen : 0]);
    if (slot < 0) {
      if (counted >= 0) this.shared.releaseOpen(counted);
      return -Errno.EMFILE;
    }
    return { fh: this.epochBase + slot, flags: OpenFlag.DIRECT_IO | OpenFlag.NOFLUSH };
  }

  read(nodeid: number, handle: number, offset: number, size: number, out: Buffer, ctx: RequestContext): number {
    const fh = this.ownSlot(handle);
    if (fh === null) return this.readUnopened(nodeid, offset, size, out, ctx);
    if (!this.opens.inUse(fh)) return -Errno.EBADF;
    this.sync();
    const node = this.decode(nodeid);
    if (!node?.spec) return -Errno.EBADF;
    let text = offset === 0 ? null : (this.opens.getBytes(fh) ?? this.local.get(fh) ?? null);
    if (text === null) {
      // Offset 0 regenerates, as seq_read_iter does; a read further on continues this open's text.
      // A reader-routed open renders for the cgroup its OPEN was resolved to (0: the host).
      text = node.reader
        ? this.renderForReader(this.openedFor(fh), ctx.pid, node.spec, 'read')
        : this.render(node.key, node.served, node.spec, 'read');
      if (this.opens.setBytes(fh, text)) this.local.delete(fh);
      else this.local.set(fh, text);
    }
    if (offset >= text.length) return 0;
    return text.copy(out, 0, offset, Math.min(text.length, offset + size));
  }

  /**
   * A read of an open from before a restart (an earlier server of this connection gave the handle):
   * read as an open of the node made now, each read rendered afresh. It holds no slot here, so it
   * costs nothing and counts against no cap (procfs/daemon/keeper.ts).
   */
  private readUnopened(nodeid: number, offset: number, size: number, out: Buffer, ctx: RequestContext): number {
    this.sync();
    const node = this.decode(nodeid);
    if (!node?.spec) return -Errno.EBADF;
    const reader = node.reader ? this.readers!.resolve(ctx.pid) : null;
    const text = node.reader
      ? this.renderForReader(reader === 'host' ? null : reader, ctx.pid, node.spec, 'read')
      : this.render(node.key, node.served, node.spec, 'read');
    return offset >= text.length ? 0 : text.copy(out, 0, offset, Math.min(text.length, offset + size));
  }

  release(nodeid: number, handle: number): void {
    const fh = this.ownSlot(handle);
    if (fh === null || !this.opens.inUse(fh)) return; // an earlier server's handle: nothing held here
    const counted = this.opens.word(fh, 1) - 1;
    const gen = this.opens.word(fh, 2);
    this.opens.free(fh);
    this.local.delete(fh);
    const key = Math.floor(nodeid / NODES_PER_KEY);
    if (key === READER_KEY && this.readers !== null) {
      // Counted in a reader cgroup's slot: only while that entry is still the one counted (not freed and claimed since).
      if (counted >= 0 && this.readers.isLive({ index: counted - this.data.reader!.slotBase, gen }))
        this.shared.releaseOpen(counted);
      return;
    }
    // An open of a sandbox no longer registered was counted in a slot reset since (resetSlot).
    this.sync();
    const served = this.byKey.get(key);
    if (served) this.shared.releaseOpen(served.reg.slot);
  }

  readdir(nodeid: number): Array<{ name: string; ino: number; type: number }> | number {
    this.sync();
    if (nodeid === ROOT)
      return [
        ...this.readerTop.map((name) => ({ name, ino: dirId(READER_KEY, `/${name}`), type: DT_DIR })),
        ...[...this.byId.values()].map((s) => ({ name: s.reg.id, ino: dirId(s.reg.key, ''), type: DT_DIR })),
      ];
    const node = this.decode(nodeid);
    if (!node || (!node.served && !node.reader) || node.dir === null) return -Errno.ENOTDIR;
    return this.children(node.reader ? this.readerViews : node.served!.views, node.dir).map((c) => ({
      name: c.name,
      ino: c.spec ? fileId(node.key, c.spec) : dirId(node.key, c.path),
      type: c.spec ? DT_REG : DT_DIR,
    }));
  }
}
