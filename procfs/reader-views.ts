// The reader-routed layout's side of a view worker: which cgroup a request is answered for, from the
// caller's pid the kernel puts in every FUSE request (fs/fuse/dev.c fuse_req_init_context: the pid
// as seen from the server's pid namespace). Looked up once per open, at OPEN: one pread of
// /proc/<pid>/cgroup through a descriptor kept per pid (PidCgroupFiles), so a process that opens
// again (a loop, a tool) costs no open(2). The open keeps the cgroup's table entry (procfs/view-handler.ts
// open words), so its reads, on whichever worker, render for that cgroup without a lookup, and a
// tool that keeps the file open and re-reads it (top, free -s) costs none. The cgroup is opened once
// per key and worker (procfs/reader-cgroup.ts), its shared state found through the table
// (procfs/reader-table.ts).
//
// A pid is only a name: the caller may exit and its pid be taken by another process between the
// OPEN request and the read of /proc/<pid>/cgroup. That open then gets renders of the other
// process's cgroup: figures it could not read otherwise (another container's memory use and CPU
// time). It cannot write anything (every view is read-only, the cgroups are opened read-only:
// procfs/daemon/foreign-cgroup.ts), nor pick whose figures it gets: it would have to exit and have
// its pid recycled into that cgroup within microseconds. docs/views-daemon.md says more.
import { closeSync, openSync, readFileSync, readSync } from 'node:fs';
import { CgroupFs, type CgroupMode, type CgroupReader } from '../supervisor/cgroup/index.js';
import { openCgroupOf } from './daemon/foreign-cgroup.js';
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

/** Texts and keys a thread remembers; past it the map starts over. */
const MAX_REMEMBERED = 4096;

/** One cgroup as a thread serves it. */
export interface ReaderCgroup {
  key: string;
  ref: ReaderEntryRef;
  /** Its slot in the shared views. */
  slot: number;
  cgroup: CgroupReader;
  /** The descriptors the cgroup's reads keep open: closed once its table entry is freed (the cgroup is gone). */
  files: CgroupFs;
  renders: RenderCache;
}

const buffer = Buffer.allocUnsafe(8192);
/** Descriptors of /proc/<pid>/cgroup a thread keeps; past it they are all closed. */
const MAX_KEPT = 256;

/**
 * /proc/<pid>/cgroup read through descriptors kept per pid: a pread at offset 0 regenerates the
 * text (fs/seq_file.c), under half the cost of open + pread + close (docs/code-measurements.md).
 * Safe across pid reuse: a
 * /proc/<pid> descriptor holds that process's struct pid, not the number, and once the process is
 * gone every read fails with ESRCH (fs/proc/base.c proc_single_show: get_pid_task returns NULL), so
 * a pid taken by a new process is opened afresh, never read through the old process's descriptor.
 */
export class PidCgroupFiles {
  private readonly fds = new Map<number, number>();

  constructor(private readonly procRoot = '/proc') {}

  /** The text, or null when the process is gone (or not in our pid namespace: pid 0). */
  read(pid: number): string | null {
    if (pid <= 0) return null;
    const kept = this.fds.get(pid);
    if (kept !== undefined) {
      const text = this.pread(kept);
      if (text !== null) return text;
      this.close(pid, kept); // that process is gone: the pid may be another's now
    }
    let fd: number;
    try {
      fd = openSync(`${this.procRoot}/${pid}/cgroup`, 'r');
    } catch {
      return null;
    }
    const text = this.pread(fd);
    if (text === null) {
      closeSync(fd);
      return null;
    }
    if (this.fds.size >= MAX_KEPT) this.closeAll();
    this.fds.set(pid, fd);
    return text;
  }

  /** Descriptors kept now. */
  get size(): number {
    return this.fds.size;
  }

  closeAll(): void {
    for (const [pid, fd] of this.fds) this.close(pid, fd);
  }

  private pread(fd: number): string | null {
    try {
      const n = readSync(fd, buffer, 0, buffer.length, 0);
      return n > 0 ? buffer.toString('utf8', 0, n) : null;
    } catch {
      return null;
    }
  }

  private close(pid: number, fd: number): void {
    this.fds.delete(pid);
    try {
      closeSync(fd);
    } catch {
      // already closed
    }
  }
}

/** Resolves readers to cgroups for one worker. */
export class ReaderViews {
  private readonly table: ReaderTable;
  private readonly reapers = new ReaperCache();
  private readonly cgroupFiles = new PidCgroupFiles();
  private readonly mountinfo = readFileSync('/proc/self/mountinfo', 'utf8');
  /** By raw /proc/<pid>/cgroup text: the host, or a cgroup. */
  private readonly byText = new Map<string, 'host' | ReaderCgroup>();
  /** By table entry index: the cgroup this thread opened for it. */
  private readonly byIndex = new Map<number, ReaderCgroup>();
  private readonly warned = new Set<string>();
  /** The table's count of frees when this thread last closed what it held for freed entries. */
  private freesSeen: number;

  constructor(
    private readonly data: ReaderViewsData,
    private readonly shared: SharedViews,
    private readonly warn: (line: string) => void,
  ) {
    this.table = new ReaderTable(data.table);
    this.freesSeen = this.table.frees();
  }

  /**
   * Close the descriptors this thread keeps for cgroups whose table entries were freed (the main
   * thread frees an entry once its cgroup's directories are gone: procfs/reader-loads.ts), and
   * forget them. One atomic load when nothing was freed since the last call: run it per request.
   * A kept descriptor of a removed cgroup would keep the kernel's cgroup from being freed.
   */
  sweep(): void {
    const frees = this.table.frees();
    if (frees === this.freesSeen) return;
    this.freesSeen = frees;
    for (const [index, held] of this.byIndex) {
      if (this.table.isLive(held.ref)) continue;
      held.files.closeAll();
      this.byIndex.delete(index);
    }
    for (const [text, held] of this.byText) {
      if (held === 'host' || this.table.isLive(held.ref)) continue;
      held.files.closeAll();
      this.byText.delete(text);
    }
  }

  /** The cgroup a request of `pid` is answered for, or 'host' (the host's files): one read of /proc/<pid>/cgroup. */
  resolve(pid: number): 'host' | ReaderCgroup {
    const text = this.cgroupFiles.read(pid);
    if (text === null) return 'host';
    const known = this.byText.get(text);
    if (known === 'host') return known;
    if (known && this.table.isLive(known.ref)) return known;
    if (known) known.files.closeAll(); // its entry was freed (a sweep to come would close it too)
    const resolved = this.open(text);
    if (resolved !== null) {
      if (this.byText.size >= MAX_REMEMBERED) this.byText.clear();
      this.byText.set(text, resolved);
      if (resolved !== 'host') this.hold(resolved);
    }
    return resolved ?? 'host';
  }

  /** The cgroup of table entry `ref` (an open's), or null once that entry is gone or reused. */
  entry(ref: ReaderEntryRef): ReaderCgroup | null {
    const known = this.byIndex.get(ref.index);
    if (known && known.ref.gen === ref.gen && this.table.isLive(ref)) return known;
    const key = this.table.keyOf(ref);
    if (key === null) return null;
    const files = new CgroupFs();
    let cgroup: CgroupReader;
    try {
      cgroup = openCgroupOf(key, this.mountinfo, 'a reader', '/', files);
    } catch {
      return null; // opened by the worker that claimed it, so only a cgroup gone meanwhile fails here
    }
    return this.hold({ key, ref, slot: this.data.slotBase + ref.index, cgroup, files, renders: new RenderCache() });
  }

  /**
   * Keep `opened` as the cgroup of its entry. The one it replaces (an earlier generation of the
   * entry, freed since) has its descriptors closed unless it is still named by a text of byText
   * (the same generation reached through another /proc/<pid>/cgroup text: its sweep closes it).
   */
  private hold(opened: ReaderCgroup): ReaderCgroup {
    const before = this.byIndex.get(opened.ref.index);
    if (before !== undefined && before !== opened && !this.table.isLive(before.ref)) before.files.closeAll();
    this.byIndex.set(opened.ref.index, opened);
    return opened;
  }

  /** Epoch ms the container of `pid` started at (its pid namespace's init), or null (host uptime). */
  startedAtMs(pid: number): number | null {
    const ticks = this.reapers.reaperStartTicks(pid);
    return ticks === null ? null : this.data.bootMs + (ticks * 1000) / USER_HZ;
  }

  /** Whether an entry counted in an open is still the one it was (for the open's release). */
  isLive(ref: ReaderEntryRef): boolean {
    return this.table.isLive(ref);
  }

  /** Which cgroup a text names; null when it can't be served now (the table is full: try again next open). */
  private open(text: string): 'host' | ReaderCgroup | null {
    const key = readerCgroupKey(text, this.data.mode);
    if (key === null || isHostReader(key, this.data.hostKeys)) return 'host';
    const files = new CgroupFs();
    let cgroup: CgroupReader;
    try {
      cgroup = openCgroupOf(text, this.mountinfo, 'a reader', '/', files);
    } catch (err) {
      this.warnOnce(
        key,
        `sandbox: views: a reader in cgroup ${key.replace(/\n/g, ' ')} gets the host files: ${(err as Error).message}\n`,
      );
      return 'host';
    }
    const ref = this.table.findOrClaim(key, (index) => this.shared.resetSlot(this.data.slotBase + index));
    if (ref === null) {
      this.warnOnce(
        '\0full',
        `sandbox: views: ${this.table.size} reader cgroups are served already: newer ones get the host files until one is gone\n`,
      );
      return null;
    }
    // Another text of a cgroup this thread serves (a reader whose other hierarchies' lines differ):
    // the same entry, so the same descriptors and render cache.
    const held = this.byIndex.get(ref.index);
    if (held !== undefined && held.ref.gen === ref.gen) return held;
    return { key, ref, slot: this.data.slotBase + ref.index, cgroup, files, renders: new RenderCache() };
  }

  private warnOnce(what: string, line: string): void {
    if (this.warned.has(what)) return;
    if (this.warned.size >= MAX_REMEMBERED) this.warned.clear();
    this.warned.add(what);
    this.warn(line);
  }
}
