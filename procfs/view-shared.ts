// What the view server's threads share (SharedArrayBuffers, handed to each worker at start): the
// registry of served sandboxes (a seqlocked JSON text and its generation), each sandbox's load
// averages (sampled on the main thread every 5 s), its ViewMemory (the counters /proc/stat and
// /proc/uptime carry between renders, which must never run backwards whichever worker renders; kept
// as float64 words, read and written in place: docs/bench/2026-12-07-render-cost.md),
// and which of its views already warned. A sandbox has a slot (reused) and a key (never reused:
// node ids are made of it, and the kernel may cache them).
import type { CgroupDescription } from './view-cgroup.js';
import type { LoadAverages } from './loadavg.js';
import type { ViewMemory } from './views/index.js';
import type { ViewName } from './views/index.js';
import type { TaskSample } from './tasks.js';
import type { CpuCounters } from './views/cpu-account.js';

/** Bytes of the registry's JSON text per sandbox slot (a description is ~0.5-1 KiB). */
const REGISTRY_BYTES_PER_SANDBOX = 4 << 10;
/** Bytes of one sandbox's ViewMemory (float64 words: 8 + 3 per visible and 3 per host CPU, so up to ~1360 CPUs). */
const MEMORY_BYTES = 32 << 10;
/** Float64 words of a ViewMemory's fixed part (M_* below), before the per-CPU triples. */
const M_FIXED = 8;
const M_STARTED = 0;
const M_LAST_NOW = 1;
const M_UPTIME_IDLE = 2;
const M_HAS_CPU = 3;
const M_SEEN_USER = 4;
const M_SEEN_SYSTEM = 5;
const M_CPUS = 6;
const M_PER_CPU = 7;

/** Int32 words of one sandbox's task record: lock, running, blocked, threads, lastPid, scans, open files. */
const TASK_WORDS = 8;
const T_LOCK = 0;
const T_RUNNING = 1;
const T_BLOCKED = 2;
const T_THREADS = 3;
const T_LAST_PID = 4;
const T_SCANS = 5;
const T_OPEN = 6;
/** BigInt64 words of one sandbox's task times (µs): when the last scan ended, when the next may start, time spent scanning. */
const TIME_WORDS = 3;
/**
 * A scan may take at most 1/(1 + this) of one CPU: the next starts no sooner than this many times
 * the last one's duration after it ended.
 */
export const TASK_SCAN_SPACING = 20;

/** Views counted by renderCounted (at least VIEWS.length). */
const RENDER_COUNTERS = 32;

/** One registered sandbox, as every thread sees it. */
export interface Registered {
  id: string;
  key: number;
  slot: number;
  cgroup: CgroupDescription;
  startedAtMs: number;
  views: ViewName[];
}

/** The shared buffers (workerData). */
export interface SharedViewData {
  registry: SharedArrayBuffer;
  loads: SharedArrayBuffer;
  memory: SharedArrayBuffer;
  warned: SharedArrayBuffer;
  /** Per sandbox: the task record (TASK_WORDS Int32) and its times (TIME_WORDS BigInt64). */
  tasks: SharedArrayBuffer;
  taskTimes: SharedArrayBuffer;
  /** Render cache hits, misses and refreshes per view (Int32 triples, every sandbox together). */
  renders: SharedArrayBuffer;
}

/** Allocate the shared buffers for `sandboxes` slots (memory is the kernel's zero pages until written). */
export function createSharedViewData(sandboxes: number): SharedViewData {
  return {
    registry: new SharedArrayBuffer(8 + sandboxes * REGISTRY_BYTES_PER_SANDBOX),
    loads: new SharedArrayBuffer(sandboxes * 3 * 4),
    memory: new SharedArrayBuffer(sandboxes * (8 + MEMORY_BYTES)),
    warned: new SharedArrayBuffer(sandboxes * 4),
    tasks: new SharedArrayBuffer(sandboxes * TASK_WORDS * 4),
    taskTimes: new SharedArrayBuffer(sandboxes * TIME_WORDS * 8),
    renders: new SharedArrayBuffer(RENDER_COUNTERS * 3 * 4),
  };
}

/** A thread's view of the shared buffers. */
export class SharedViews {
  private readonly regHead: Int32Array;
  private readonly regBytes: Buffer;
  private readonly loads: Int32Array;
  private readonly memHeads: Int32Array;
  private readonly memWords: Float64Array;
  private readonly warned: Int32Array;
  private readonly tasks: Int32Array;
  private readonly taskTimes: BigInt64Array;
  private readonly renderCounts: Int32Array;

  constructor(data: SharedViewData) {
    this.renderCounts = new Int32Array(data.renders);
    this.tasks = new Int32Array(data.tasks);
    this.taskTimes = new BigInt64Array(data.taskTimes);
    this.regHead = new Int32Array(data.registry, 0, 2);
    this.regBytes = Buffer.from(data.registry, 8);
    this.loads = new Int32Array(data.loads);
    this.memHeads = new Int32Array(data.memory);
    this.memWords = new Float64Array(data.memory);
    this.warned = new Int32Array(data.warned);
  }

  /** The registry's generation (even when stable); changes on every write. */
  generation(): number {
    return Atomics.load(this.regHead, 0);
  }

  /** Write the registry (main thread only: one writer). */
  writeRegistry(entries: readonly Registered[]): void {
    const text = Buffer.from(JSON.stringify(entries));
    if (text.length > this.regBytes.length)
      throw new Error(
        `view registry: ${entries.length} sandboxes take ${text.length} bytes, more than ${this.regBytes.length}`,
      );
    Atomics.add(this.regHead, 0, 1); // odd: being written
    text.copy(this.regBytes);
    Atomics.store(this.regHead, 1, text.length);
    Atomics.add(this.regHead, 0, 1);
  }

  /** Read the registry and the generation it was read at (retries while a write is under way). */
  readRegistry(): { generation: number; entries: Registered[] } {
    for (;;) {
      const before = Atomics.load(this.regHead, 0);
      if (before % 2 === 1) continue;
      const length = Atomics.load(this.regHead, 1);
      const text = this.regBytes.toString('utf8', 0, length);
      if (Atomics.load(this.regHead, 0) !== before) continue;
      return { generation: before, entries: before === 0 ? [] : (JSON.parse(text) as Registered[]) };
    }
  }

  /** Store a sandbox's load averages. */
  setLoad(slot: number, load: LoadAverages): void {
    Atomics.store(this.loads, slot * 3, load.load1);
    Atomics.store(this.loads, slot * 3 + 1, load.load5);
    Atomics.store(this.loads, slot * 3 + 2, load.load15);
  }

  /** A sandbox's load averages. */
  load(slot: number): LoadAverages {
    return {
      load1: Atomics.load(this.loads, slot * 3),
      load5: Atomics.load(this.loads, slot * 3 + 1),
      load15: Atomics.load(this.loads, slot * 3 + 2),
    };
  }

  /** Clear a slot for a new sandbox (main thread, before the registry names it). */
  resetSlot(slot: number): void {
    this.setLoad(slot, { load1: 0, load5: 0, load15: 0 });
    Atomics.store(this.warned, slot, 0);
    Atomics.store(this.memHeads, this.memHead(slot) + 1, 0);
    for (let i = 0; i < TASK_WORDS; i++) Atomics.store(this.tasks, slot * TASK_WORDS + i, 0);
    for (let i = 0; i < TIME_WORDS; i++) Atomics.store(this.taskTimes, slot * TIME_WORDS + i, 0n);
  }

  /**
   * The sandbox's task counts, scanned by `scan` only when the last scan is old enough: it ended
   * TASK_SCAN_SPACING times its own duration ago. So the scans a sandbox causes cost at most ~5% of
   * one CPU whatever its reads: a small sandbox is scanned fresh for nearly every render, one of
   * thousands of threads about once a second (figures: docs/code-measurements.md). Reads between
   * scans get the last counts; one thread scans while the others answer with the last counts (only
   * the very first scan is waited for).
   */
  taskSample(slot: number, scan: () => TaskSample): TaskSample {
    const base = slot * TASK_WORDS;
    const times = slot * TIME_WORDS;
    // CLOCK_MONOTONIC, the same in every thread; not the global `performance`, whose first use
    // loads perf_hooks on the main thread during the launch (the stage's LOOKUPs render).
    const nowUs = (): number => Number(process.hrtime.bigint() / 1000n);
    for (;;) {
      const never = Atomics.load(this.taskTimes, times) === 0n;
      if (!never && BigInt(nowUs()) < Atomics.load(this.taskTimes, times + 1)) return this.storedTasks(base);
      if (Atomics.compareExchange(this.tasks, base + T_LOCK, 0, 1) === 0) break;
      if (!never) return this.storedTasks(base);
      Atomics.wait(this.tasks, base + T_LOCK, 1, 5);
    }
    try {
      const started = nowUs();
      const t = scan();
      const ended = nowUs();
      Atomics.store(this.tasks, base + T_RUNNING, t.running);
      Atomics.store(this.tasks, base + T_BLOCKED, t.blocked);
      Atomics.store(this.tasks, base + T_THREADS, t.threads);
      Atomics.store(this.tasks, base + T_LAST_PID, t.lastPid);
      Atomics.add(this.tasks, base + T_SCANS, 1);
      Atomics.add(this.taskTimes, times + 2, BigInt(ended - started));
      Atomics.store(this.taskTimes, times, BigInt(ended));
      Atomics.store(this.taskTimes, times + 1, BigInt(ended + TASK_SCAN_SPACING * (ended - started)));
      return t;
    } finally {
      Atomics.store(this.tasks, base + T_LOCK, 0);
      Atomics.notify(this.tasks, base + T_LOCK);
    }
  }

  private storedTasks(base: number): TaskSample {
    return {
      running: Atomics.load(this.tasks, base + T_RUNNING),
      blocked: Atomics.load(this.tasks, base + T_BLOCKED),
      threads: Atomics.load(this.tasks, base + T_THREADS),
      lastPid: Atomics.load(this.tasks, base + T_LAST_PID),
    };
  }

  /** Count a render of view `index`: for a read, answered by the render cache (hit) or rendered; or a refresh after a reply. */
  renderCounted(index: number, how: 'hit' | 'miss' | 'refresh'): void {
    Atomics.add(this.renderCounts, index * 3 + (how === 'hit' ? 0 : how === 'miss' ? 1 : 2), 1);
  }

  /** Render cache hits, misses and refreshes of view `index` since the server started. */
  renderCount(index: number): { hits: number; misses: number; refreshes: number } {
    return {
      hits: Atomics.load(this.renderCounts, index * 3),
      misses: Atomics.load(this.renderCounts, index * 3 + 1),
      refreshes: Atomics.load(this.renderCounts, index * 3 + 2),
    };
  }

  /** Count one more open view file of the sandbox in `slot`; false (nothing counted) when it holds `cap` already. */
  claimOpen(slot: number, cap: number): boolean {
    const at = slot * TASK_WORDS + T_OPEN;
    if (Atomics.add(this.tasks, at, 1) < cap) return true;
    Atomics.sub(this.tasks, at, 1);
    return false;
  }

  /** Count one open view file of the sandbox in `slot` less (its release). */
  releaseOpen(slot: number): void {
    Atomics.sub(this.tasks, slot * TASK_WORDS + T_OPEN, 1);
  }

  /** View files the sandbox in `slot` holds open. */
  openFiles(slot: number): number {
    return Atomics.load(this.tasks, slot * TASK_WORDS + T_OPEN);
  }

  /** Task scans of the sandbox in `slot` since it was registered, the time they took and the last one took (ms). */
  taskScans(slot: number): { scans: number; busyMs: number; lastMs: number } {
    const at = slot * TIME_WORDS;
    const lastUs = Number(Atomics.load(this.taskTimes, at + 1) - Atomics.load(this.taskTimes, at)) / TASK_SCAN_SPACING;
    return {
      scans: Atomics.load(this.tasks, slot * TASK_WORDS + T_SCANS),
      busyMs: Number(Atomics.load(this.taskTimes, at + 2)) / 1000,
      lastMs: lastUs / 1000,
    };
  }

  /** Whether this call is the first to warn about view `index` of the sandbox in `slot`. */
  firstWarning(slot: number, index: number): boolean {
    const bit = 1 << index;
    return (Atomics.or(this.warned, slot, bit) & bit) === 0;
  }

  private memHead(slot: number): number {
    return (slot * (8 + MEMORY_BYTES)) / 4;
  }

  /**
   * Run `render` with the sandbox's ViewMemory, under the sandbox's lock: load it (or start it at
   * startedAtMs, also when the stored one started elsewhen), let the render advance it, store it
   * back (when it fits: it always does below ~1360 CPUs; else the next render starts from the last
   * stored). Every field is a JS number, so float64 words keep it exactly, the per-CPU Map in its order.
   */
  withMemory<T>(slot: number, startedAtMs: number, render: (memory: ViewMemory) => T): T {
    const head = this.memHead(slot);
    while (Atomics.compareExchange(this.memHeads, head, 0, 1) !== 0) Atomics.wait(this.memHeads, head, 1, 5);
    try {
      const words = Atomics.load(this.memHeads, head + 1);
      const from = (slot * (8 + MEMORY_BYTES) + 8) / 8;
      const kept = words === 0 ? null : decodeMemory(this.memWords, from);
      // Another start (a reader cgroup read from another pid namespace, procfs/reader-views.ts) starts afresh.
      const memory =
        kept !== null && kept.startedAtMs === startedAtMs
          ? kept
          : { startedAtMs, lastNowMs: startedAtMs, cpu: null, uptimeIdleSec: 0 };
      const result = render(memory);
      const stored = encodeMemory(memory, this.memWords, from, MEMORY_BYTES / 8);
      if (stored > 0) Atomics.store(this.memHeads, head + 1, stored);
      return result;
    } finally {
      Atomics.store(this.memHeads, head, 0);
      Atomics.notify(this.memHeads, head, 1);
    }
  }
}

/** Write `m` at word `at` of `w` (at most `room` words); the words written, or 0 when it does not fit. */
function encodeMemory(m: ViewMemory, w: Float64Array, at: number, room: number): number {
  const cpu = m.cpu;
  const words = M_FIXED + (cpu ? 3 * (cpu.cpus.length + cpu.seenPerCpu.size) : 0);
  if (words > room) return 0;
  w[at + M_STARTED] = m.startedAtMs;
  w[at + M_LAST_NOW] = m.lastNowMs;
  w[at + M_UPTIME_IDLE] = m.uptimeIdleSec;
  w[at + M_HAS_CPU] = cpu ? 1 : 0;
  if (!cpu) return words;
  w[at + M_SEEN_USER] = cpu.seenUserUs;
  w[at + M_SEEN_SYSTEM] = cpu.seenSystemUs;
  w[at + M_CPUS] = cpu.cpus.length;
  w[at + M_PER_CPU] = cpu.seenPerCpu.size;
  let i = at + M_FIXED;
  for (const c of cpu.cpus) {
    w[i++] = c.userUs;
    w[i++] = c.systemUs;
    w[i++] = c.idleUs;
  }
  for (const [id, p] of cpu.seenPerCpu) {
    w[i++] = id;
    w[i++] = p.userUs;
    w[i++] = p.systemUs;
  }
  return words;
}

/** Read the ViewMemory encodeMemory wrote at word `at` of `w`. */
function decodeMemory(w: Float64Array, at: number): ViewMemory {
  const memory: ViewMemory = {
    startedAtMs: w[at + M_STARTED]!,
    lastNowMs: w[at + M_LAST_NOW]!,
    cpu: null,
    uptimeIdleSec: w[at + M_UPTIME_IDLE]!,
  };
  if (w[at + M_HAS_CPU] !== 1) return memory;
  const cpus: CpuCounters[] = [];
  const seenPerCpu = new Map<number, { userUs: number; systemUs: number }>();
  let i = at + M_FIXED;
  for (let n = w[at + M_CPUS]!; n > 0; n--, i += 3)
    cpus.push({ userUs: w[i]!, systemUs: w[i + 1]!, idleUs: w[i + 2]! });
  for (let n = w[at + M_PER_CPU]!; n > 0; n--, i += 3)
    seenPerCpu.set(w[i]!, { userUs: w[i + 1]!, systemUs: w[i + 2]! });
  memory.cpu = { cpus, seenUserUs: w[at + M_SEEN_USER]!, seenSystemUs: w[at + M_SEEN_SYSTEM]!, seenPerCpu };
  return memory;
}
