// The views' filesystem as one FUSE reader serves it (procfs/fuse/handler.ts; a worker, or the main
// thread under lazyWorkers): routed by node id, rendered here, in the thread that reads the request. Node ids are made of the sandbox's key
// (never reused) and what the node is: key × 64 + 0 the sandbox's directory, 1 + i view i of VIEWS,
// 32 + j directory j of TARGET_DIRS (the daemon's by-target layout). So an id one worker answered a
// LOOKUP with means the same in every worker. Semantics are those of procfs/fs.ts's top comment.
// The daemon's reader-routed layout (lxcfs's: /proc/meminfo … at the top of the mount) is the
// pseudo key READER_KEY: its files are rendered for the cgroup of the process that reads
// (procfs/reader-views.ts), beside the registered sandboxes' directories.
import { EMPTY_TASKS, TaskScanner, sampleTasks } from './tasks.js';
import type { Entry, FuseHandler } from './fuse/handler.js';
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
  const shared = new SharedViews(data.shared);
  const opens = new OpenTable(data.opens);
  const hostFiles = new KeptFiles();
  const sharedRenders = data.renders ? new SharedRenders(data.renders, VIEWS.length) : null;
  /** Texts too long for a shared slot, kept by the worker that rendered them. */
  const local = new Map<number, Buffer>();
  let generation = -1;
  let byKey = new Map<number, Served>();
  let byId = new Map<string, Served>();
  /** Ids of keys no longer registered, for the warning of an open that outlived its sandbox. */
  const goneIds = new Map<number, string>();
  const readers = data.reader ? new ReaderViews(data.reader, shared, warn) : null;
  const readerViews = data.reader ? VIEWS.filter((v) => data.reader!.views.includes(v.name)) : [];
  /** Top-level names of the reader-routed layout ('proc', 'sys'). */
  const readerTop = [...new Set(readerViews.map((v) => v.target.split('/')[1]!))];

  const epochBase = (data.handleEpoch ?? 0) * HANDLE_EPOCH;
  /** The open-table slot of a handle this server gave out, or null for an earlier server's. */
  const ownSlot = (handle: number): number | null =>
    handle - epochBase >= 0 && handle - epochBase < HANDLE_EPOCH ? handle - epochBase : null;

  const sync = (): void => {
    readers?.sweep(); // reader cgroups gone: their descriptors close here (one atomic load otherwise)
    if (shared.generation() === generation) return;
    const { generation: g, entries } = shared.readRegistry();
    const next = new Map<number, Served>();
    for (const reg of entries)
      next.set(
        reg.key,
        byKey.get(reg.key) ?? {
          reg,
          views: VIEWS.filter((v) => reg.views.includes(v.name)),
          cgroup: null,
          files: new CgroupFs(reg.cgroup.root),
          renders: new RenderCache(),
          tasks: new TaskScanner(),
        },
      );
    for (const [key, s] of byKey) {
      if (next.has(key)) continue;
      goneIds.set(key, s.reg.id);
      s.tasks.close();
      s.files.closeAll();
    }
    if (goneIds.size > 10_000) goneIds.clear();
    byKey = next;
    byId = new Map([...next.values()].map((s) => [s.reg.id, s]));
    generation = g;
  };

  const attr = (ino: number, mode: number, size: number): Attr => ({
    ino,
    mode,
    size,
    nlink: mode === DIR_MODE ? 2 : 1,
    uid: 0,
    gid: 0,
    timeMs: data.mountedAtMs,
  });

  /** What a node id names: a sandbox dir ('' or a target dir) or a view file; null when unknown. */
  const decode = (
    nodeid: number,
  ): { served: Served | null; reader: boolean; key: number; spec: ViewSpec | null; dir: string | null } | null => {
    const key = Math.floor(nodeid / NODES_PER_KEY);
    const sub = nodeid % NODES_PER_KEY;
    const reader = key === READER_KEY && readers !== null;
    const served = byKey.get(key) ?? null;
    if (sub === 0) return reader ? null : { served, reader, key, spec: null, dir: '' };
    if (sub >= FIRST_DIR) {
      const dir = TARGET_DIRS[sub - FIRST_DIR];
      return dir === undefined ? null : { served, reader, key, spec: null, dir };
    }
    const spec = VIEWS[sub - 1];
    return spec === undefined || (reader && !readerViews.includes(spec))
      ? null
      : { served, reader, key, spec, dir: null };
  };

  const fileId = (key: number, spec: ViewSpec) => key * NODES_PER_KEY + 1 + VIEWS.indexOf(spec);
  const dirId = (key: number, dir: string) =>
    key * NODES_PER_KEY + (dir === '' ? 0 : FIRST_DIR + TARGET_DIRS.indexOf(dir));

  /** Children of a directory of a sandbox (or of the reader-routed layout): names, and whether each is a view (else a directory). */
  const children = (
    views: readonly ViewSpec[],
    dir: string,
  ): Array<{ name: string; spec: ViewSpec | null; path: string }> => {
    if (!data.byTarget) return dir === '' ? views.map((v) => ({ name: v.name, spec: v, path: v.name })) : [];
    const out = new Map<string, { name: string; spec: ViewSpec | null; path: string }>();
    for (const v of views) {
      if (!v.target.startsWith(`${dir}/`)) continue;
      const name = v.target.slice(dir.length + 1).split('/')[0]!;
      const path = `${dir}/${name}`;
      out.set(name, { name, spec: path === v.target ? v : null, path });
    }
    return [...out.values()];
  };

  /** The host's own file of a view (what a view degrades to); empty when even that is unreadable. */
  const hostFile = (spec: ViewSpec): Buffer => {
    try {
      return Buffer.from(hostFiles.read(spec.hostPath ?? spec.target));
    } catch {
      return Buffer.alloc(0); // the host's own /proc unreadable: an empty file, never an error
    }
  };

  /** Renders a read left for after its reply (REFRESH_AHEAD_MS): what to render again, keyed by slot, owner and view. */
  const pending = new Map<string, { state: RenderState; spec: ViewSpec }>();

  /**
   * A read was answered with a render made at `renderedAtMs`, `readGapMs` after the read before it: if
   * the render is old enough and the view read often enough (REFRESH_AHEAD_MS), make it again once the
   * reply is written (afterReply), unless another worker has claimed that already. Only a render the
   * shared table holds can be claimed (a text too long for it just renders at the TTL, as before).
   */
  const refreshLater = (
    state: RenderState,
    spec: ViewSpec,
    view: number,
    renderedAtMs: number,
    nowMs: number,
    readGapMs: number,
  ) => {
    if (nowMs - renderedAtMs < REFRESH_AHEAD_MS || readGapMs > RENDER_TTL_MS - REFRESH_AHEAD_MS) return;
    if (pending.size >= MAX_PENDING_REFRESHES) return;
    const key = `${state.slot}/${state.owner}/${view}`;
    if (pending.has(key)) return;
    if (sharedRenders && !sharedRenders.claimRefresh(state.slot, state.owner, view, renderedAtMs)) return;
    pending.set(key, { state, spec });
  };

  /** Render a view from a cgroup (or take the render cache's); throws what the cgroup's reads throw. */
  const renderFrom = (state: RenderState, spec: ViewSpec, why: RenderFor): Buffer => {
    const { cgroup, renders, slot, owner, startedAtMs, tasks: scanner } = state;
    const nowMs = Date.now();
    const counters = spec.name === 'stat' || spec.name === 'uptime';
    const limitsKey =
      (spec.cgroup === 'memory' || spec.cgroup === 'cpu' ? cgroup.limitsKey(spec.cgroup) : '') +
      (counters ? `@${startedAtMs}` : '');
    const view = VIEWS.indexOf(spec);
    if (why !== 'refresh') {
      let cached = renders.get(spec.name, limitsKey, nowMs);
      if (cached === null && sharedRenders !== null) {
        // Another worker's render of this window: kept here too, so the next hit costs no copy.
        cached = sharedRenders.get(slot, owner, view, limitsKey, nowMs);
        if (cached !== null && why === 'read') renders.set(spec.name, limitsKey, cached.renderedAtMs, cached.content);
      }
      if (why === 'read') {
        shared.renderCounted(view, cached ? 'hit' : 'miss');
        const gap = renders.readGap(spec.name, nowMs);
        if (cached) refreshLater(state, spec, view, cached.renderedAtMs, nowMs, gap);
      }
      if (cached) return cached.content;
    } else shared.renderCounted(view, 'refresh');
    const hostText = spec.hostPath ? hostFiles.read(spec.hostPath) : '';
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
  };

  const render = (key: number, served: Served | null, spec: ViewSpec, why: RenderFor): Buffer =>
    KeptFiles.batch(() => {
      try {
        if (!served) throw new Error(`sandbox ${goneIds.get(key) ?? key} is not registered`);
        served.cgroup ??= openDescribedCgroup(served.reg.cgroup, served.files);
        return renderFrom(
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
        const id = served?.reg.id ?? goneIds.get(key) ?? String(key);
        if (served && shared.firstWarning(served.reg.slot, VIEWS.indexOf(spec)))
          warn(`sandbox: view ${spec.target} of ${id} serves the host file: ${(err as Error).message}\n`);
        return hostFile(spec);
      }
    });

  /** Render a view of the reader-routed layout for the cgroup an open was resolved to (null: the host's file); `pid` reads now. */
  const renderForReader = (reader: ReaderCgroup | null, pid: number, spec: ViewSpec, why: RenderFor): Buffer => {
    if (reader === null) return hostFile(spec);
    try {
      const counters = spec.name === 'stat' || spec.name === 'uptime';
      const startedAtMs = (counters ? readers!.startedAtMs(pid) : null) ?? data.reader!.bootMs;
      return KeptFiles.batch(() =>
        renderFrom(
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
      if (shared.firstWarning(reader.slot, VIEWS.indexOf(spec)))
        warn(
          `sandbox: view ${spec.target} for readers in cgroup ${reader.key.replace(/\n/g, ' ')} serves the host file: ${(err as Error).message}\n`,
        );
      return hostFile(spec);
    }
  };

  /**
   * The size a view file reports: its text's, rounded up to a page (viewFileSize). The reader-routed
   * files report the host file's plus a page, with no lookup of the caller: a container's text is
   * never much longer than the host's (fewer CPUs, smaller figures), and a size above the text only
   * means one short read more (which trims i_size: procfs/fs.ts).
   */
  const sizeOf = (node: { served: Served | null; reader: boolean; key: number }, spec: ViewSpec): number =>
    node.reader
      ? viewFileSize(hostFile(spec).length + PAGE)
      : viewFileSize(render(node.key, node.served, spec, 'size').length);

  /** The cgroup a reader-routed open counted in (words 1 and 2), or null for the host or an entry gone since. */
  const openedFor = (fh: number): ReaderCgroup | null => {
    const counted = opens.word(fh, 1) - 1;
    return counted < 0 ? null : readers!.entry({ index: counted - data.reader!.slotBase, gen: opens.word(fh, 2) });
  };

  return {
    lookup(parent, name): Entry | number {
      sync();
      if (parent === ROOT) {
        if (readerTop.includes(name)) {
          const id = dirId(READER_KEY, `/${name}`);
          return { nodeid: id, attr: attr(id, DIR_MODE, 0), entryTtlMs: ENTRY_MS, attrTtlMs: ATTR_MS };
        }
        const served = byId.get(name);
        return served
          ? {
              nodeid: dirId(served.reg.key, ''),
              attr: attr(dirId(served.reg.key, ''), DIR_MODE, 0),
              entryTtlMs: SANDBOX_ENTRY_MS,
              attrTtlMs: ATTR_MS,
            }
          : -Errno.ENOENT;
      }
      const node = decode(parent);
      if (!node || (!node.served && !node.reader) || node.dir === null) return -Errno.ENOENT;
      const child = children(node.reader ? readerViews : node.served!.views, node.dir).find((c) => c.name === name);
      if (!child) return -Errno.ENOENT;
      if (child.spec) {
        const id = fileId(node.key, child.spec);
        return {
          nodeid: id,
          attr: attr(id, FILE_MODE, sizeOf(node, child.spec)),
          entryTtlMs: ENTRY_MS,
          attrTtlMs: ATTR_MS,
        };
      }
      const id = dirId(node.key, child.path);
      return { nodeid: id, attr: attr(id, DIR_MODE, 0), entryTtlMs: ENTRY_MS, attrTtlMs: ATTR_MS };
    },
    getattr(nodeid) {
      sync();
      if (nodeid === ROOT) return { attr: attr(ROOT, DIR_MODE, 0), ttlMs: ATTR_MS };
      const node = decode(nodeid);
      if (!node || (!node.served && !node.reader)) return -Errno.ENOENT;
      if (!node.spec) return { attr: attr(nodeid, DIR_MODE, 0), ttlMs: ATTR_MS };
      return { attr: attr(nodeid, FILE_MODE, sizeOf(node, node.spec)), ttlMs: ATTR_MS };
    },
    open(nodeid, flags, ctx) {
      sync();
      const node = decode(nodeid);
      if (!node || (!node.served && !node.reader) || !node.spec) return -Errno.ENOENT;
      if ((flags & O_ACCMODE) !== 0) return -Errno.EACCES;
      // EMFILE, the one errno of a refused open: the sandbox (or the reader's cgroup) holds its cap
      // of view files, or the server's table (every sandbox's opens) is full. Each open costs
      // 330-580 bytes here. The host's readers of the reader-routed layout have no cap but the table.
      // A reader-routed open is resolved here, once: its reads render for this cgroup (words 1 and 2).
      const reader = node.reader ? readers!.resolve(ctx.pid) : null;
      const counted = reader === null ? node.served!.reg.slot : reader === 'host' ? -1 : reader.slot;
      if (counted >= 0 && !shared.claimOpen(counted, data.maxOpenPerSandbox)) return -Errno.EMFILE;
      const slot = opens.alloc([nodeid, counted + 1, reader !== null && reader !== 'host' ? reader.ref.gen : 0]);
      if (slot < 0) {
        if (counted >= 0) shared.releaseOpen(counted);
        return -Errno.EMFILE;
      }
      return { fh: epochBase + slot, flags: OpenFlag.DIRECT_IO | OpenFlag.NOFLUSH };
    },
    read(nodeid, handle, offset, size, out, ctx) {
      const fh = ownSlot(handle);
      if (fh === null) {
        // An open from before a restart (an earlier server of this connection gave the handle): read
        // as an open of the node made now, each read rendered afresh. It holds no slot here, so it
        // costs nothing and counts against no cap (procfs/daemon/keeper.ts).
        sync();
        const node = decode(nodeid);
        if (!node?.spec) return -Errno.EBADF;
        const reader = node.reader ? readers!.resolve(ctx.pid) : null;
        const text = node.reader
          ? renderForReader(reader === 'host' ? null : reader, ctx.pid, node.spec, 'read')
          : render(node.key, node.served, node.spec, 'read');
        return offset >= text.length ? 0 : text.copy(out, 0, offset, Math.min(text.length, offset + size));
      }
      if (!opens.inUse(fh)) return -Errno.EBADF;
      sync();
      const node = decode(nodeid);
      if (!node?.spec) return -Errno.EBADF;
      let text = offset === 0 ? null : (opens.getBytes(fh) ?? local.get(fh) ?? null);
      if (text === null) {
        // Offset 0 regenerates, as seq_read_iter does; a read further on continues this open's text.
        // A reader-routed open renders for the cgroup its OPEN was resolved to (0: the host).
        text = node.reader
          ? renderForReader(openedFor(fh), ctx.pid, node.spec, 'read')
          : render(node.key, node.served, node.spec, 'read');
        if (opens.setBytes(fh, text)) local.delete(fh);
        else local.set(fh, text);
      }
      if (offset >= text.length) return 0;
      return text.copy(out, 0, offset, Math.min(text.length, offset + size));
    },
    release(nodeid, handle) {
      const fh = ownSlot(handle);
      if (fh === null || !opens.inUse(fh)) return; // an earlier server's handle: nothing held here
      const counted = opens.word(fh, 1) - 1;
      const gen = opens.word(fh, 2);
      opens.free(fh);
      local.delete(fh);
      const key = Math.floor(nodeid / NODES_PER_KEY);
      if (key === READER_KEY && readers !== null) {
        // Counted in a reader cgroup's slot: only while that entry is still the one counted (not freed and claimed since).
        if (counted >= 0 && readers.isLive({ index: counted - data.reader!.slotBase, gen }))
          shared.releaseOpen(counted);
        return;
      }
      // An open of a sandbox no longer registered was counted in a slot reset since (resetSlot).
      sync();
      const served = byKey.get(key);
      if (served) shared.releaseOpen(served.reg.slot);
    },
    readdir(nodeid) {
      sync();
      if (nodeid === ROOT)
        return [
          ...readerTop.map((name) => ({ name, ino: dirId(READER_KEY, `/${name}`), type: DT_DIR })),
          ...[...byId.values()].map((s) => ({ name: s.reg.id, ino: dirId(s.reg.key, ''), type: DT_DIR })),
        ];
      const node = decode(nodeid);
      if (!node || (!node.served && !node.reader) || node.dir === null) return -Errno.ENOTDIR;
      return children(node.reader ? readerViews : node.served!.views, node.dir).map((c) => ({
        name: c.name,
        ino: c.spec ? fileId(node.key, c.spec) : dirId(node.key, c.path),
        type: c.spec ? DT_REG : DT_DIR,
      }));
    },
    afterReply() {
      // A failed refresh leaves the kept render to expire: the next read renders, and warns, as ever.
      for (const { state, spec } of pending.values()) {
        try {
          KeptFiles.batch(() => renderFrom(state, spec, 'refresh'));
        } catch {}
      }
      pending.clear();
    },
    statfs: () => ({ blocks: 0, bfree: 0, bavail: 0, files: 0, ffree: 0, bsize: PAGE, namelen: 255, frsize: PAGE }),
  };
}
