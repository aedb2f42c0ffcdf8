// The cgroup v2 manager: one leaf "sandbox-<id>" in the unified hierarchy, beside the supervisor
// (see delegate.ts for how the parent gets its controllers enabled).
import { posix } from 'node:path';
import { selfAndAncestors, tightestBandwidth } from '../ancestry.js';
import { errnoCode, type CgroupFs } from '../fs.js';
import { withContext } from '../../errors.js';
import { parsePidList } from '../keyed.js';
import { killUntilEmpty, rmdirWithRetry, signalPids, undoCreate, type SignalFn } from '../lifecycle.js';
import type {
  CgroupLimits,
  CgroupManager,
  CgroupStats,
  CpuAllotment,
  CpuStats,
  CpuThrottling,
  IoStats,
  MemoryStats,
  PressureResource,
  PressureStats,
} from '../types.js';
import { applyCpu, cpuThrottling, cpuUsage, readBandwidth, readCpuStat } from './cpu.js';
import { applyCpuset, readEffectiveCpus } from './cpuset.js';
import { freeze, thaw } from './freezer.js';
import { applyIo, ioWeightFiles, readIoStat } from './io.js';
import { readPressure } from './pressure.js';
import { enableControllers, sandboxParent } from './delegate.js';
import { applyMemory, readMemory, readOomKills, swapLimitFile } from './memory.js';
import { applyPids, readPids } from './pids.js';

/** Manager of one sandbox's v2 cgroup. */
export class V2Manager implements CgroupManager {
  readonly mode = 'v2' as const;
  readonly dirs: readonly string[];
  readonly procsFiles: readonly string[];
  readonly hierarchies: readonly { dirName: string; controllers: string }[] = [];
  /** Host-absolute parent of the leaf (the supervisor's own cgroup, or its parent; see delegate.ts). */
  readonly parent: string;
  /** Host-absolute leaf directory. */
  readonly leaf: string;

  constructor(
    private readonly fs: CgroupFs,
    private readonly mountpoint: string,
    ownDir: string,
    readonly leafName: string,
    private readonly send: SignalFn,
  ) {
    this.parent = sandboxParent(ownDir, mountpoint);
    this.leaf = posix.join(this.parent, leafName);
    this.dirs = [fs.resolve(this.leaf)];
    this.procsFiles = [`${fs.resolve(this.leaf)}/cgroup.procs`];
  }

  async create(): Promise<void> {
    try {
      await enableControllers(this.fs, this.parent, this.parent === this.mountpoint);
    } catch (err) {
      throw withContext('cgroup v2 create', err);
    }
    try {
      await this.fs.mkdir(this.leaf);
    } catch (err) {
      throw withContext('cgroup v2 create', err);
    }
    // Nothing to seed: an empty v2 cpuset.cpus inherits the parent's. Check the leaf got the controllers.
    try {
      const have = (await this.fs.read(`${this.leaf}/cgroup.controllers`)).trim().split(/\s+/);
      const lacking = ['cpu', 'cpuset', 'memory', 'pids'].filter((c) => !have.includes(c));
      if (lacking.length > 0)
        throw new Error(`${this.fs.resolve(this.leaf)} lacks controller(s) ${lacking.join(', ')}`);
    } catch (err) {
      await undoCreate(this.fs, [this.leaf], withContext('cgroup v2 create', err));
    }
  }

  async apply(limits: CgroupLimits): Promise<void> {
    const step = async (what: string, fn: () => Promise<void>): Promise<void> => {
      await fn().catch((err: unknown) => {
        throw withContext(`cgroup v2 apply ${what}`, err);
      });
    };
    // A weight or swap this kernel can't take fails before anything is written, so a refused `update`
    // leaves every limit as it was.
    if (limits.io && limits.io.weight !== null) ioWeightFiles(this.fs, this.leaf, limits.io.weight);
    swapLimitFile(this.fs, this.leaf, limits.swapBytes);
    await step('cpuset', () => applyCpuset(this.fs, this.leaf, limits.cpusetCpus));
    await step('cpu', () => applyCpu(this.fs, this.leaf, limits));
    await step('memory', () => applyMemory(this.fs, this.leaf, limits));
    await step('pids', () => applyPids(this.fs, this.leaf, limits.pidsMax));
    const io = limits.io;
    if (io && (io.weight !== null || io.devices.length > 0)) await step('io', () => applyIo(this.fs, this.leaf, io));
  }

  async addPid(pid: number): Promise<void> {
    await this.fs.write(`${this.leaf}/cgroup.procs`, String(pid)).catch((err: unknown) => {
      throw withContext(`cgroup v2 add pid ${pid}`, err);
    });
  }

  /** Nothing to prime: PID 1 is born in the leaf by clone3(CLONE_INTO_CGROUP) (native/stage/clone.c), which takes cgroup_threadgroup_rwsem for reading only (kernel/cgroup/cgroup.c cgroup_css_set_fork). */
  async primeAttach(): Promise<void> {}

  stats(): CgroupStats {
    const memory = { ...this.memoryStats(), oomKills: this.oomKills() };
    try {
      // cpu.stat holds both the usage and the throttling: read once.
      const stat = readCpuStat(this.fs, this.leaf);
      const cpu = { ...this.allotment(), ...cpuUsage(stat), perCpu: null, ...cpuThrottling(stat) };
      return { memory, cpu, pids: readPids(this.fs, this.leaf) };
    } catch (err) {
      throw withContext('cgroup v2 stats', err);
    }
  }

  memoryStats(): MemoryStats {
    try {
      return readMemory(this.fs, selfAndAncestors(this.leaf, this.mountpoint));
    } catch (err) {
      throw withContext('cgroup v2 stats', err);
    }
  }

  oomKills(): number {
    try {
      return readOomKills(this.fs, this.leaf);
    } catch (err) {
      throw withContext('cgroup v2 stats', err);
    }
  }

  cpuStats(): CpuStats;
  cpuStats(part: 'allotment'): CpuAllotment;
  cpuStats(part?: 'allotment'): CpuStats | CpuAllotment {
    try {
      const allotment = this.allotment();
      return part === 'allotment'
        ? allotment
        : { ...allotment, ...cpuUsage(readCpuStat(this.fs, this.leaf)), perCpu: null };
    } catch (err) {
      throw withContext('cgroup v2 stats', err);
    }
  }

  throttling(): CpuThrottling {
    try {
      return cpuThrottling(readCpuStat(this.fs, this.leaf));
    } catch (err) {
      throw withContext('cgroup v2 stats', err);
    }
  }

  /** The tightest cpu.max over the leaf and its ancestors, and the effective cpuset. */
  private allotment(): CpuAllotment {
    const chain = selfAndAncestors(this.leaf, this.mountpoint);
    const bandwidths = chain.map((d) => readBandwidth(this.fs, d));
    return { ...tightestBandwidth(bandwidths.filter((b) => b !== null)), cpus: readEffectiveCpus(this.fs, chain) };
  }

  /** io.stat of the leaf (its descendants included); no devices when the io controller is off. */
  ioStats(): IoStats {
    try {
      return readIoStat(this.fs, this.leaf);
    } catch (err) {
      throw withContext('cgroup v2 stats', err);
    }
  }

  /** The leaf's own <resource>.pressure: stalls of the sandbox's tasks only. */
  pressureStats(resource: PressureResource): PressureStats {
    try {
      return readPressure(this.fs, this.leaf, resource);
    } catch (err) {
      throw withContext('cgroup v2 stats', err);
    }
  }

  limitsKey(part: 'memory' | 'cpu'): string {
    const files = part === 'memory' ? ['memory.max', 'memory.swap.max'] : ['cpu.max', 'cpuset.cpus.effective'];
    return files.map((f) => this.fs.readIfExists(`${this.leaf}/${f}`) ?? '').join('|');
  }

  pids(): number[] {
    return this.readList('cgroup.procs', false);
  }

  threads(): number[] {
    return this.readList('cgroup.threads', false);
  }

  private readList(file: string, missingIsEmpty: boolean): number[] {
    try {
      return parsePidList(this.fs.read(`${this.leaf}/${file}`));
    } catch (err) {
      if (missingIsEmpty && errnoCode(err) === 'ENOENT') return [];
      throw withContext(`cgroup v2 ${file}`, err);
    }
  }

  async freeze(timeoutMs: number): Promise<void> {
    const stopped = await freeze(this.fs, this.leaf, timeoutMs).catch(async (err: unknown) => {
      await thaw(this.fs, this.leaf).catch(() => undefined);
      throw withContext('cgroup v2 freeze', err);
    });
    if (!stopped) {
      await thaw(this.fs, this.leaf);
      throw new Error(`cgroup v2 freeze: ${this.leaf}/cgroup.events did not show "frozen 1" within ${timeoutMs} ms`);
    }
  }

  async thaw(): Promise<void> {
    await thaw(this.fs, this.leaf).catch((err: unknown) => {
      throw withContext('cgroup v2 thaw', err);
    });
  }

  /** SIGKILL through cgroup.kill (kernel >= 5.14: kills every process, forks included, atomically); other signals, or older kernels, pid by pid. */
  async killAll(signal: NodeJS.Signals): Promise<void> {
    if (signal === 'SIGKILL' && (await this.fs.exists(`${this.leaf}/cgroup.kill`))) {
      await this.fs.write(`${this.leaf}/cgroup.kill`, '1').catch((err: unknown) => {
        throw withContext('cgroup v2 kill', err);
      });
      return;
    }
    signalPids(this.send, this.pids(), signal);
  }

  async destroy(): Promise<void> {
    this.fs.closeAll(); // no descriptor of ours may outlive the directory
    if (!(await this.fs.exists(this.leaf))) return;
    try {
      await killUntilEmpty(
        () => this.readList('cgroup.procs', true),
        async () => {
          if (await this.fs.exists(this.leaf)) await this.killAll('SIGKILL');
        },
      );
      await rmdirWithRetry(this.fs, this.leaf);
    } catch (err) {
      throw withContext(`cgroup v2 destroy ${this.leafName}`, err);
    }
  }
}
