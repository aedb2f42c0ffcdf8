// The start of a reader's container: the start time of the init (reaper, pid 1) of the reader's pid
// namespace, as lxcfs serves uptime (src/proc_fuse.c get_reaper_start_time: field 22 of
// /proc/<init>/stat). lxcfs finds the init by forking a child that setns()es into the namespace and
// sends pid 1 over SCM_CREDENTIALS (src/bindings.c scm_init_pid); a FUSE worker thread cannot
// fork, so here the reader's ancestors are walked: NSpid (fs/proc/array.c task_state) ends in 1 for
// the init, and an orphan is re-parented to the init of its own namespace (kernel/exit.c
// find_child_reaper), so a process of the namespace whose ancestors are of it too leads there. A
// process that joined with setns() (nsenter, docker exec) has its parent outside: then /proc is
// scanned once for the namespace's pid 1. Found inits are cached per namespace (its nsfs inode, as
// lxcfs keys its store) and checked again after CHECK_MS (a dead init ends its namespace).
import { closeSync, openSync, readdirSync, readlinkSync, readSync } from 'node:fs';
import { ownNamespacePid, parsePidStat, parsePidStatus } from './parse/index.js';

/** How long a found init is trusted before its start time is read again. */
const CHECK_MS = 1000;
/** Ancestors walked before falling back to a scan (nesting is rarely deeper than a few). */
const MAX_WALK = 64;
/** Namespaces remembered; past it the cache starts over. */
const MAX_NAMESPACES = 4096;

const buffer = Buffer.allocUnsafe(4096);

/** A small /proc file's text (open + pread + close), or null when the process is gone. */
function readSmall(path: string): string | null {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch {
    return null;
  }
  try {
    return buffer.toString('latin1', 0, readSync(fd, buffer, 0, buffer.length, 0));
  } catch {
    return null;
  } finally {
    closeSync(fd);
  }
}

function nsOf(procRoot: string, pid: number): string | null {
  try {
    return readlinkSync(`${procRoot}/${pid}/ns/pid`);
  } catch {
    return null;
  }
}

/** Field 22 of /proc/<pid>/stat (starttime, clock ticks after boot), or null when gone. */
function startTicksOf(procRoot: string, pid: number): number | null {
  const text = readSmall(`${procRoot}/${pid}/stat`);
  if (text === null) return null;
  const ticks = Number(parsePidStat(text).rest[22 - 4]);
  return Number.isFinite(ticks) ? ticks : null;
}

interface Found {
  pid: number;
  startTicks: number;
  checkedAtMs: number;
}

/** Finds and caches the init of readers' pid namespaces (one per thread). */
export class ReaperCache {
  private readonly byNs = new Map<string, Found>();
  private readonly ownNs: string | null;

  constructor(private readonly procRoot = '/proc') {
    this.ownNs = nsOf(procRoot, process.pid);
  }

  /**
   * Start time (clock ticks after boot) of the init of `pid`'s pid namespace; in our own namespace,
   * of our pid 1. Null when `pid` is gone or no init is found (the caller serves the host's uptime).
   */
  reaperStartTicks(pid: number, nowMs = Date.now()): number | null {
    const ns = nsOf(this.procRoot, pid);
    if (ns === null) return null;
    const known = this.byNs.get(ns);
    if (known && nowMs - known.checkedAtMs < CHECK_MS) return known.startTicks;
    if (known && startTicksOf(this.procRoot, known.pid) === known.startTicks && nsOf(this.procRoot, known.pid) === ns) {
      known.checkedAtMs = nowMs;
      return known.startTicks;
    }
    const initPid = ns === this.ownNs ? 1 : (this.walk(pid, ns) ?? this.scan(ns));
    const startTicks = initPid === null ? null : startTicksOf(this.procRoot, initPid);
    if (initPid === null || startTicks === null) {
      this.byNs.delete(ns);
      return null;
    }
    if (this.byNs.size >= MAX_NAMESPACES) this.byNs.clear();
    this.byNs.set(ns, { pid: initPid, startTicks, checkedAtMs: nowMs });
    return startTicks;
  }

  /** The init reached through pid and its ancestors of namespace `ns`, or null when the chain leaves it. */
  private walk(pid: number, ns: string): number | null {
    let current = pid;
    for (let step = 0; step < MAX_WALK && current > 0; step++) {
      const text = readSmall(`${this.procRoot}/${current}/status`);
      if (text === null || nsOf(this.procRoot, current) !== ns) return null;
      const status = parsePidStatus(text);
      if (ownNamespacePid(status) === 1) return current;
      current = Number(status.get('PPid') ?? 0);
    }
    return null;
  }

  /** The process of namespace `ns` whose id inside it is 1, by a scan of /proc. */
  private scan(ns: string): number | null {
    for (const name of readdirSync(this.procRoot)) {
      if (!/^\d+$/.test(name) || nsOf(this.procRoot, Number(name)) !== ns) continue;
      const text = readSmall(`${this.procRoot}/${name}/status`);
      if (text !== null && ownNamespacePid(parsePidStatus(text)) === 1) return Number(name);
    }
    return null;
  }
}
