// The reader-routed layout's side of a view worker: which cgroup a request is answered for, from the
// caller's pid the kernel puts in every FUSE request (fs/fuse/dev.c fuse_req_init_context: the pid
// as seen from the server's pid namespace). One open + pread + close of /proc/<pid>/cgroup per
// request at most (11 µs here), none for a pid looked up less than PID_CACHE_MS ago; the cgroup is
// opened once per key and thread (procfs/reader-cgroup.ts), its shared state found through the
// table (procfs/reader-table.ts).
//
// A pid is only a name: the caller may exit and its pid be taken by another process between the
// request and the read of /proc/<pid>/cgroup (or within PID_CACHE_MS of an earlier lookup). That
// reader then gets one render of the other process's cgroup: figures it could not read otherwise
// (another container's memory use and CPU time), for that one read. It cannot write anything (every
// view is read-only, the cgroups are opened read-only: procfs/daemon/foreign-cgroup.ts), nor pick
// whose figures it gets: it would have to exit and have its pid recycled to that cgroup within
// microseconds. docs/views-daemon.md says more.
import { closeSync, openSync, readFileSync, readSync } from 'node:fs';
import type { CgroupMode } from '../supervisor/cgroup/types.js';
import { openCgroupOf, type ReadOnlyCgroup } from './daemon/foreign-cgroup.js';
import { RenderCache } from './render-cache.js';
import { ReaperCache } from './reaper.js';
import { isHostReader, readerCgroupKey } from './reader-cgroup.js';
import { ReaderTable, type ReaderEntryRef, type ReaderTableData } from './reader-table.js';
import type { SharedViews } from './view-shared.js';
import { USER_HZ } from './views/stat.js';

/** What every worker gets for the reader-routed layout (plain data). */
export interface ReaderViewsData {
  table: ReaderTableData;
  /** Slot of table entry 0 in the shared views (entries follow the registered sandboxes' slots). */
  slotBase: number;
  mode: CgroupMode;
  /** Cgroup keys that are the host's (pid 1's, the server's own). */
  hostKeys: string[];
  /** The host's boot in epoch ms (from /proc/uptime at mount): reapers' start ticks count from it. */
  bootMs: number;
}

/** How long a pid's cgroup text is reused: a getattr and the read of one `cat` share one lookup. */
export const PID_CACHE_MS = 5;
/** Pids and keys a thread remembers; past it the map starts over. */
const MAX_REMEMBERED = 4096;

/** One cgroup as a thread serves it. */
export interface ReaderCgroup {
  key: string;
  ref: ReaderEntryRef;
  /** Its slot in the shared views. */
  slot: number;
  cgroup: ReadOnlyCgroup;
  renders: RenderCache;
}

const buffer = Buffer.allocUnsafe(8192);

/** /proc/<pid>/cgroup's text, or null when the process is gone (or not in our pid namespace: pid 0). */
function cgroupTextOf(pid: number): string | null {
  if (pid <= 0) return null;
  let fd: number;
  try {
    fd = openSync(`/proc/${pid}/cgroup`, 'r');
  } catch {
    return null;
  }
  try {
    return buffer.toString('utf8', 0, readSync(fd, buffer, 0, buffer.length, 0));
  } catch {
    return null;
  } finally {
    closeSync(fd);
  }
}

/** Resolves readers to cgroups for one worker. */
export class ReaderViews {
  private readonly table: ReaderTable;
  private readonly reapers = new ReaperCache();
  private readonly mountinfo = readFileSync('/proc/self/mountinfo', 'utf8');
  private readonly byPid = new Map<number, { text: string | null; atMs: number }>();
  /** By raw /proc/<pid>/cgroup text: the host, or a cgroup. */
  private readonly byText = new Map<string, 'host' | ReaderCgroup>();
  private readonly warned = new Set<string>();

  constructor(
    private readonly data: ReaderViewsData,
    private readonly shared: SharedViews,
    private readonly warn: (line: string) => void,
  ) {
    this.table = new ReaderTable(data.table);
  }

  /** The cgroup a request of `pid` is answered for, or 'host' (the host's files). */
  resolve(pid: number, nowMs = performance.now()): 'host' | ReaderCgroup {
    let seen = this.byPid.get(pid);
    if (!seen || nowMs - seen.atMs >= PID_CACHE_MS) {
      if (this.byPid.size >= MAX_REMEMBERED) this.byPid.clear();
      seen = { text: cgroupTextOf(pid), atMs: nowMs };
      this.byPid.set(pid, seen);
    }
    if (seen.text === null) return 'host';
    const known = this.byText.get(seen.text);
    if (known === 'host') return known;
    if (known && this.table.isLive(known.ref)) return known;
    const resolved = this.open(seen.text, known?.cgroup ?? null);
    if (resolved !== null) {
      if (this.byText.size >= MAX_REMEMBERED) this.byText.clear();
      this.byText.set(seen.text, resolved);
    }
    return resolved ?? 'host';
  }

  /** Epoch ms the container of `pid` started at (its pid namespace's init), or null (host uptime). */
  startedAtMs(pid: number): number | null {
    const ticks = this.reapers.reaperStartTicks(pid);
    return ticks === null ? null : this.data.bootMs + (ticks * 1000) / USER_HZ;
  }

  /** Which cgroup a text names; null when it can't be served now (the table is full: try again next read). */
  private open(text: string, reopened: ReadOnlyCgroup | null): 'host' | ReaderCgroup | null {
    const key = readerCgroupKey(text, this.data.mode);
    if (key === null || isHostReader(key, this.data.hostKeys)) return 'host';
    let cgroup = reopened;
    try {
      cgroup ??= openCgroupOf(text, this.mountinfo, 'a reader');
    } catch (err) {
      this.warnOnce(key, `sandbox: views: a reader in cgroup ${key.replace(/\n/g, ' ')} gets the host files: ${(err as Error).message}\n`);
      return 'host';
    }
    const ref = this.table.findOrClaim(key, (index) => this.shared.resetSlot(this.data.slotBase + index));
    if (ref === null) {
      this.warnOnce('\0full', `sandbox: views: ${this.table.size} reader cgroups are served already: newer ones get the host files until one is gone\n`);
      return null;
    }
    return { key, ref, slot: this.data.slotBase + ref.index, cgroup, renders: new RenderCache() };
  }

  private warnOnce(what: string, line: string): void {
    if (this.warned.has(what)) return;
    if (this.warned.size >= MAX_REMEMBERED) this.warned.clear();
    this.warned.add(what);
    this.warn(line);
  }

  /** Whether an entry counted in an open is still the one it was (for the open's release). */
  isLive(ref: ReaderEntryRef): boolean {
    return this.table.isLive(ref);
  }
}
