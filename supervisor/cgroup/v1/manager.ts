// The cgroup v1 manager: one leaf "sandbox-<id>" under the supervisor's own cgroup in each of the
// hierarchies that carry cpu, cpuacct, cpuset, memory and pids (and freezer when mounted, for a
// race-free kill; blkio when mounted, for /proc/diskstats). Co-mounted hierarchies ("cpu,cpuacct")
// get one directory.
import { posix } from 'node:path';
import { selfAndAncestors, tightestBandwidth } from '../ancestry.js';
import type { V1Hierarchy } from '../detect.js';
import { errnoCode, type CgroupFs } from '../fs.js';
import { withContext } from '../../errors.js';
import { parsePidList } from '../keyed.js';
import {
  allSteps,
  killUntilEmpty,
  rmdirWithRetry,
  settleAll,
  signalPids,
  undoCreate,
  type SignalFn,
} from '../lifecycle.js';
import { sleep } from '../../sleep.js';
import type {
  CgroupLimits,
  CgroupManager,
  CgroupStats,
  CpuAllotment,
  CpuStats,
  CpuThrottling,
  IoStats,
  MemoryStats,
  PressureStats,
} from '../types.js';
import { applyBlkio, blkioWeightFiles, enableIoAccounting, readBlkio } from './blkio.js';
import { applyCpu, readBandwidth, readThrottling } from './cpu.js';
import { readCpuacct } from './cpuacct.js';
import { applyCpuset, readCpusetCpus, seedCpuset } from './cpuset.js';
import { freeze, thaw } from './freezer.js';
import { applyMemory, memswLimitFile, readMemory, readOomKills } from './memory.js';
import { applyPids, readPids } from './pids.js';

/** Controllers the v1 manager needs; openCgroup fails if one has no mounted hierarchy. */
export const V1_REQUIRED = ['cpu', 'cpuacct', 'cpuset', 'memory', 'pids'] as const;
/** Controllers used when present. */
export const V1_OPTIONAL = ['freezer', 'blkio'] as const;

/** Order in which the hierarchies are listed and joined. */
const JOIN_ORDER: readonly string[] = ['cpuset', 'cpu', 'cpuacct', 'memory', 'pids', 'freezer', 'blkio'];

type V1Controller = (typeof V1_REQUIRED)[number] | (typeof V1_OPTIONAL)[number];

/** One hierarchy the sandbox lives in: its mount, the supervisor's own cgroup and the sandbox leaf. */
interface Placement {
  hierarchy: V1Hierarchy;
  /** Host-absolute leaf directory (fs maps it under its root). */
  leaf: string;
}

/** Manager of one sandbox's v1 cgroups. */
export class V1Manager implements CgroupManager {
  readonly mode = 'v1' as const;
  readonly dirs: readonly string[];
  readonly procsFiles: readonly string[];
  readonly hierarchies: readonly { dirName: string; controllers: string }[];
  private readonly placements: Placement[];
  private readonly byController = new Map<V1Controller, Placement>();

  constructor(
    private readonly fs: CgroupFs,
    hierarchies: readonly V1Hierarchy[],
    readonly leafName: string,
    private readonly send: SignalFn,
  ) {
    const wanted: readonly string[] = [...V1_REQUIRED, ...V1_OPTIONAL];
    const missing = V1_REQUIRED.filter((c) => !hierarchies.some((h) => h.controllers.includes(c)));
    if (missing.length > 0) {
      const mounted = hierarchies.map((h) => h.controllers.join(',')).join(' ');
      throw new Error(`cgroup v1: no mounted hierarchy for ${missing.join(', ')} (mounted: ${mounted || 'none'})`);
    }
    // A fixed order, cpuset first: a pid can only join a cpuset that already has CPUs and memory
    // nodes, so addPid() joins it before the others.
    const rankOf = (c: string): number => (JOIN_ORDER.includes(c) ? JOIN_ORDER.indexOf(c) : JOIN_ORDER.length);
    const rank = (h: V1Hierarchy): number => Math.min(...h.controllers.map(rankOf));
    const used = hierarchies
      .filter((h) => h.controllers.some((c) => wanted.includes(c)))
      .sort((a, b) => rank(a) - rank(b));
    this.placements = used.map((hierarchy) => ({ hierarchy, leaf: posix.join(hierarchy.ownDir, leafName) }));
    for (const p of this.placements)
      for (const c of p.hierarchy.controllers) if (wanted.includes(c)) this.byController.set(c as V1Controller, p);
    this.dirs = this.placements.map((p) => fs.resolve(p.leaf));
    this.procsFiles = this.dirs.map((d) => `${d}/cgroup.procs`);
    this.hierarchies = this.placements.map((p) => ({
      dirName: posix.basename(p.hierarchy.mountpoint),
      controllers: p.hierarchy.controllers.join(','),
    }));
  }

  /** Leaf directory of the hierarchy carrying a controller. */
  private leaf(controller: V1Controller): string {
    return this.place(controller).leaf;
  }

  /** The placement of the hierarchy carrying a controller. */
  private place(controller: V1Controller): Placement {
    const p = this.byController.get(controller);
    if (!p) throw new Error(`cgroup v1: no hierarchy for ${controller}`);
    return p;
  }

  /** [leaf, parent, …, hierarchy root] of a controller's hierarchy. */
  private chain(controller: V1Controller): string[] {
    const p = this.place(controller);
    return selfAndAncestors(p.leaf, p.hierarchy.mountpoint);
  }

  async create(): Promise<void> {
    // The hierarchies are independent of each other, so their leaves are made together, and then
    // seeded together (the cpuset before any pid joins; blkio's accounting).
    const made: string[] = [];
    try {
      await settleAll(
        this.placements.map(async (p) => {
          await this.fs.mkdir(p.leaf);
          made.push(p.leaf);
        }),
      );
      const blkio = this.byController.get('blkio');
      await settleAll([
        seedCpuset(this.fs, this.leaf('cpuset'), this.place('cpuset').hierarchy.ownDir),
        blkio ? enableIoAccounting(this.fs, blkio.leaf) : Promise.resolve(),
      ]);
    } catch (err) {
      await undoCreate(this.fs, made, withContext('cgroup v1 create', err));
    }
  }

  async apply(limits: CgroupLimits): Promise<void> {
    const step = async (what: string, fn: () => Promise<void>): Promise<void> => {
      await fn().catch((err: unknown) => {
        throw withContext(`cgroup v1 apply ${what}`, err);
      });
    };
    const io = limits.io;
    // A weight or swap this kernel can't take fails before anything is written, so a refused `update`
    // leaves every limit as it was (the writes below run side by side).
    const blkioLeaf = this.byController.get('blkio')?.leaf;
    if (io && io.weight !== null && blkioLeaf !== undefined) blkioWeightFiles(this.fs, blkioLeaf, io.weight);
    memswLimitFile(this.fs, this.leaf('memory'), limits.swapBytes); // so does swap without swap accounting
    // One hierarchy each: written together; the order within a controller (memory before memsw or
    // after) stays in its own function.
    await settleAll([
      step('cpuset', () => applyCpuset(this.fs, this.leaf('cpuset'), limits.cpusetCpus)),
      step('cpu', () => applyCpu(this.fs, this.leaf('cpu'), limits)),
      step('memory', () => applyMemory(this.fs, this.leaf('memory'), limits)),
      step('pids', () => applyPids(this.fs, this.leaf('pids'), limits.pidsMax)),
      io && (io.weight !== null || io.devices.length > 0)
        ? step('blkio', async () => {
            const blkio = this.byController.get('blkio');
            if (!blkio) throw new Error("no blkio hierarchy is mounted, so I/O limits can't be set");
            await applyBlkio(this.fs, blkio.leaf, io);
          })
        : Promise.resolve(),
    ]);
  }

  async addPid(pid: number): Promise<void> {
    for (const p of this.placements) {
      await this.fs.write(`${p.leaf}/cgroup.procs`, String(pid)).catch((err: unknown) => {
        throw withContext(`cgroup v1 add pid ${pid}`, err);
      });
    }
  }

  async primeAttach(untilMs = 500): Promise<void> {
    // A cgroup.procs write takes cgroup_threadgroup_rwsem for writing (kernel/cgroup/cgroup.c
    // cgroup_attach_lock -> percpu_down_write). The first writer of a per-CPU rwsem after a quiet
    // spell waits for an RCU grace period (kernel/rcu/sync.c rcu_sync_enter); later writers don't,
    // as long as each comes within about a grace period of the last one's exit
    // (docs/code-measurements.md). So our own pid is written to the cgroup we are already in (a
    // move to where we are: nothing changes) every few ms, in a libuv thread, until PID 1 has
    // joined (its leaf is populated) or untilMs passed: PID 1's own write (native/stage/pid1.c
    // join_cgroups) then finds the rwsem in its slow mode and needs no grace period.
    const own = `${this.placements[0]!.hierarchy.ownDir}/cgroup.procs`;
    const joined = `${this.placements[0]!.leaf}/cgroup.procs`;
    for (const deadline = Date.now() + untilMs; Date.now() < deadline; await sleep(4)) {
      try {
        await this.fs.write(own, String(process.pid));
        if (this.fs.read(joined).trim() !== '') return;
      } catch {
        return; // not ours to write, or the leaf is gone: nothing to speed up
      }
    }
  }

  stats(): CgroupStats {
    const memory = { ...this.memoryStats(), oomKills: this.oomKills() };
    const cpu = { ...this.cpuStats(), ...this.throttling() };
    try {
      return { memory, cpu, pids: readPids(this.fs, this.leaf('pids')) };
    } catch (err) {
      throw withContext('cgroup v1 stats', err);
    }
  }

  memoryStats(): MemoryStats {
    try {
      return readMemory(this.fs, this.chain('memory'));
    } catch (err) {
      throw withContext('cgroup v1 stats', err);
    }
  }

  oomKills(): number {
    try {
      return readOomKills(this.fs, this.leaf('memory'));
    } catch (err) {
      throw withContext('cgroup v1 stats', err);
    }
  }

  cpuStats(): CpuStats;
  cpuStats(part: 'allotment'): CpuAllotment;
  cpuStats(part?: 'allotment'): CpuStats | CpuAllotment {
    try {
      const bandwidths = this.chain('cpu').map((d) => readBandwidth(this.fs, d));
      const cpus = readCpusetCpus(this.fs, this.leaf('cpuset'));
      const allotment = { ...tightestBandwidth(bandwidths.filter((b) => b !== null)), cpus };
      return part === 'allotment' ? allotment : { ...allotment, ...readCpuacct(this.fs, this.leaf('cpuacct')) };
    } catch (err) {
      throw withContext('cgroup v1 stats', err);
    }
  }

  /** The cpu controller's cpu.stat (v1 has it apart from cpuacct's usage). */
  throttling(): CpuThrottling {
    try {
      return readThrottling(this.fs, this.leaf('cpu'));
    } catch (err) {
      throw withContext('cgroup v1 stats', err);
    }
  }

  /** blkio.throttle counters of the leaf; no devices when no blkio hierarchy is mounted. */
  ioStats(): IoStats {
    const blkio = this.byController.get('blkio');
    if (!blkio) return { devices: [] };
    try {
      return readBlkio(this.fs, blkio.leaf);
    } catch (err) {
      throw withContext('cgroup v1 stats', err);
    }
  }

  /** v1 has no per-cgroup pressure files (kernel/cgroup/cgroup.c creates them in cgroup2 only). */
  pressureStats(resource: string): PressureStats {
    throw new Error(
      `cgroup v1 stats: no ${resource}.pressure (pressure stall information per cgroup exists on cgroup v2 only)`,
    );
  }

  limitsKey(part: 'memory' | 'cpu'): string {
    if (part === 'memory') {
      const memory = this.leaf('memory');
      return `${this.fs.read(`${memory}/memory.limit_in_bytes`)}|${this.fs.readIfExists(`${memory}/memory.memsw.limit_in_bytes`) ?? ''}`;
    }
    const cpu = this.leaf('cpu');
    const cpuset = this.leaf('cpuset');
    const cpus = this.fs.readIfExists(`${cpuset}/cpuset.effective_cpus`) ?? this.fs.read(`${cpuset}/cpuset.cpus`);
    return `${this.fs.read(`${cpu}/cpu.cfs_quota_us`)}|${this.fs.read(`${cpu}/cpu.cfs_period_us`)}|${cpus}`;
  }

  /** Union of cgroup.procs over the hierarchies (a pid joins them one by one, so they can differ briefly). */
  pids(): number[] {
    return this.collectPids(false);
  }

  private collectPids(missingIsEmpty: boolean): number[] {
    const all = new Set<number>();
    for (const p of this.placements) {
      let text: string;
      try {
        text = this.fs.read(`${p.leaf}/cgroup.procs`);
      } catch (err) {
        if (missingIsEmpty && errnoCode(err) === 'ENOENT') continue;
        throw withContext('cgroup v1 pids', err);
      }
      for (const pid of parsePidList(text)) all.add(pid);
    }
    return [...all].sort((a, b) => a - b);
  }

  threads(): number[] {
    try {
      return parsePidList(this.fs.read(`${this.leaf('pids')}/tasks`));
    } catch (err) {
      throw withContext('cgroup v1 threads', err);
    }
  }

  async freeze(timeoutMs: number): Promise<void> {
    const freezer = this.byController.get('freezer');
    if (freezer === undefined)
      throw new Error('cgroup v1: no freezer hierarchy is mounted: the sandbox cannot be frozen');
    const stopped = await freeze(this.fs, freezer.leaf, timeoutMs).catch(async (err: unknown) => {
      await thaw(this.fs, freezer.leaf).catch(() => undefined);
      throw withContext('cgroup v1 freeze', err);
    });
    if (!stopped) {
      await thaw(this.fs, freezer.leaf);
      throw new Error(`cgroup v1 freeze: ${freezer.leaf}/freezer.state did not reach FROZEN within ${timeoutMs} ms`);
    }
  }

  async thaw(): Promise<void> {
    await thaw(this.fs, this.leaf('freezer')).catch((err: unknown) => {
      throw withContext('cgroup v1 thaw', err);
    });
  }

  /** Signal every process; SIGKILL goes through the freezer when mounted (freeze, kill, thaw) so nothing forks in between. */
  async killAll(signal: NodeJS.Signals): Promise<void> {
    return this.signalAll(signal, false);
  }

  private async signalAll(signal: NodeJS.Signals, missingIsEmpty: boolean): Promise<void> {
    const freezer = this.byController.get('freezer');
    const useFreezer =
      signal === 'SIGKILL' && freezer !== undefined && (!missingIsEmpty || (await this.fs.exists(freezer.leaf)));
    if (!useFreezer) {
      signalPids(this.send, this.collectPids(missingIsEmpty), signal);
      return;
    }
    try {
      await freeze(this.fs, freezer.leaf);
      signalPids(this.send, this.collectPids(missingIsEmpty), signal);
    } finally {
      await thaw(this.fs, freezer.leaf);
    }
  }

  async destroy(): Promise<void> {
    this.fs.closeAll(); // no descriptor of ours may outlive the directory
    // The hierarchies are independent: their leaves are checked and removed together (one round of
    // thread-pool trips instead of seven in a row; docs/bench/2026-11-23-launch.md).
    const exists = await Promise.all(this.placements.map((p) => this.fs.exists(p.leaf)));
    const present = this.placements.filter((_, i) => exists[i]);
    if (present.length === 0) return;
    await killUntilEmpty(
      () => this.collectPids(true),
      () => this.signalAll('SIGKILL', true),
    ).catch((err: unknown) => {
      throw withContext(`cgroup v1 destroy ${this.leafName}`, err);
    });
    await allSteps(
      `cgroup v1 destroy ${this.leafName}`,
      present.map((p) => () => rmdirWithRetry(this.fs, p.leaf)),
    );
  }
}
