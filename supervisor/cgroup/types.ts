// Types shared by the cgroup managers (v1 and v2), the supervisor and the /proc views.
// Stats are normalized here so that one view code serves both cgroup versions.

/** Which cgroup layout the host runs: v1 (legacy or hybrid) or pure v2 (unified). */
export type CgroupMode = 'v1' | 'v2';

/** Limits in kernel units, already validated by supervisor/limits.ts. */
export interface CgroupLimits {
  /** CFS quota per period in microseconds; null = no quota. */
  cpuQuotaUs: number | null;
  /** CFS period in microseconds (kernel default 100000). */
  cpuPeriodUs: number;
  /** CFS burst in microseconds; null = leave the kernel default (0). */
  cpuBurstUs: number | null;
  /** Relative weight on the v2 scale 1..10000 (v1 maps it to cpu.shares); null = default. */
  cpuWeight: number | null;
  /** Host CPU ids for cpuset.cpus; the supervisor always fills this in before apply(). */
  cpusetCpus: number[];
  /** Memory limit in bytes; null = no limit. */
  memoryBytes: number | null;
  /** Swap allowed on top of memory, in bytes; 0 = none. */
  swapBytes: number;
  /** Maximum number of tasks; null = no limit. */
  pidsMax: number | null;
  /** Block I/O weight and per-disk throttles; absent = none (and in states written before they existed). */
  io?: IoLimits;
}

/** Throttles on one whole disk; null = no limit for that direction and unit. */
export interface IoDeviceLimit {
  major: number;
  minor: number;
  readBps: number | null;
  writeBps: number | null;
  readIops: number | null;
  writeIops: number | null;
}

/** Block I/O limits (v1 blkio.bfq.weight and blkio.throttle.*_device; v2 io.weight/io.bfq.weight and io.max). */
export interface IoLimits {
  /** Proportional weight 1..1000 (default 100 in bfq and io.weight); null = leave the default. */
  weight: number | null;
  /** One entry per disk, in the order first given. */
  devices: IoDeviceLimit[];
}

/** Memory figures of a cgroup, normalized to cgroup v2 names: what the views print (no OOM count). */
export interface MemoryStats {
  /** Effective limit: minimum over the cgroup and its ancestors; null = unlimited. */
  limitBytes: number | null;
  /** Current usage (v1 memory.usage_in_bytes, v2 memory.current). */
  usageBytes: number;
  /** Swap allowed beyond memory (v1 memsw.limit − limit, v2 memory.swap.max); null = unlimited. */
  swapLimitBytes: number | null;
  /** Swap in use (v1 memsw.usage − usage, v2 memory.swap.current). */
  swapUsageBytes: number;
  /**
   * memory.stat in bytes with v2 key names (anon, file, active_anon, inactive_anon, active_file,
   * inactive_file, unevictable, shmem, file_mapped, file_dirty, file_writeback, anon_thp,
   * slab_reclaimable, slab_unreclaimable, kernel_stack, pagetables, …). v1's hierarchical total_*
   * keys are mapped onto these names; keys a version lacks are absent.
   */
  stat: Record<string, number>;
}

/** OOM kills in the cgroup so far (v1 memory.oom_control oom_kill, v2 memory.events oom_kill). */
interface OomCount {
  oomKills: number;
}

/** Per-CPU usage of a cgroup (v1 cpuacct.usage_percpu_{user,sys}); v2 has no per-CPU figures. */
export interface PerCpuUsage {
  /** Host CPU id. */
  cpu: number;
  userUs: number;
  systemUs: number;
}

/** The CPUs a cgroup may use: what /proc/cpuinfo and cpu/online print (no usage counters). */
export interface CpuAllotment {
  /** Effective quota: the tightest quota/period ratio over the cgroup and ancestors, as quota per periodUs; null = none. */
  quotaUs: number | null;
  periodUs: number;
  /** Effective cpuset (host CPU ids, ascending). */
  cpus: number[];
}

/** CPU figures of a cgroup: its allotment and usage, what /proc/stat and uptime print (no throttling). */
export interface CpuStats extends CpuAllotment {
  /** Total user and system time of the cgroup in microseconds. */
  userUs: number;
  systemUs: number;
  /** Per-CPU split where the kernel offers it (v1), else null. */
  perCpu: PerCpuUsage[] | null;
}

/** CFS bandwidth throttling of a cgroup (cpu.stat nr_periods, nr_throttled, throttled_time or throttled_usec). */
export interface CpuThrottling {
  nrPeriods: number;
  nrThrottled: number;
  throttledUs: number;
}

/** Task counts of a cgroup. */
export interface PidsStats {
  current: number;
  /** pids.max; null = "max". */
  max: number | null;
}

/**
 * Block I/O of a cgroup on one device (v2 io.stat; v1 blkio.throttle.io_service_bytes_recursive and
 * io_serviced_recursive). Bytes and completed requests since the cgroup was made, its descendants
 * included. The device is a whole disk: the kernel accounts per request queue (blk-cgroup.c blkg).
 */
export interface IoDeviceStats {
  major: number;
  minor: number;
  /** Bytes read / written / discarded (v1 rows Read, Write, Discard; v2 rbytes, wbytes, dbytes). */
  rbytes: number;
  wbytes: number;
  dbytes: number;
  /** Requests (bios) read / written / discarded (v1 io_serviced rows; v2 rios, wios, dios). */
  rios: number;
  wios: number;
  dios: number;
}

/** Block I/O figures of a cgroup: only devices with at least one byte or request, in the kernel's order. */
export interface IoStats {
  devices: IoDeviceStats[];
}

/** A resource with pressure stall information (kernel/sched/psi.c; v2 cpu/memory/io.pressure). */
export type PressureResource = 'cpu' | 'memory' | 'io';

/** One line of a PSI file: "some|full avg10=A avg60=B avg300=C total=T". */
export interface PressureLine {
  /** Running averages in hundredths of a percent (psi_show() prints "%lu.%02lu": 0.31 → 31). */
  avg10: number;
  avg60: number;
  avg300: number;
  /** Total stall time in microseconds. */
  totalUs: number;
}

/** A PSI file: the "some" line and the "full" line (absent in cpu.pressure before Linux 5.13). */
export interface PressureStats {
  some: PressureLine;
  full: PressureLine | null;
}

/** Everything the supervisor and the views read from a sandbox's cgroup at one moment. */
export interface CgroupStats {
  memory: MemoryStats & OomCount;
  cpu: CpuStats & CpuThrottling;
  pids: PidsStats;
}

/**
 * What can be read of one cgroup, across every hierarchy the host has (v1) or in the unified tree
 * (v2): its figures and members, never a change. All the views, `sandbox stats` and `ps` need;
 * openCgroupReader opens a cgroup as only this.
 */
export interface CgroupReader {
  readonly mode: CgroupMode;
  /** Absolute directories of the cgroup (one per v1 hierarchy, one on v2). */
  readonly dirs: readonly string[];
  /** Read the normalized stats, every figure (reads are synchronous: see kept-files.ts for why and what they cost). */
  stats(): CgroupStats;
  /** Memory figures only: what /proc/meminfo and /proc/swaps print (no OOM count), in fewer reads than stats(). */
  memoryStats(): MemoryStats;
  /** The OOM-kill counter alone: one file (the OOM watch's re-read). */
  oomKills(): number;
  /** CPU allotment and usage: what /proc/stat and /proc/uptime print (no throttling), in fewer reads than stats(). */
  cpuStats(): CpuStats;
  /** The allotment alone (quota, period, cpuset): what cpuinfo and cpu/online print; no usage file is read. */
  cpuStats(part: 'allotment'): CpuAllotment;
  /** Throttling counters alone (cpu.stat): what `sandbox stats` adds to cpuStats(). */
  throttling(): CpuThrottling;
  /** Block I/O per device: what /proc/diskstats needs (v1 blkio, v2 io.stat); no devices without the controller. */
  ioStats(): IoStats;
  /** The cgroup's own PSI file (v2 <resource>.pressure); throws on v1, which has none. */
  pressureStats(resource: PressureResource): PressureStats;
  /**
   * The leaf's own limit files of one kind as one string, which changes whenever such a limit
   * changes: memory (memory and swap limits) or cpu (CPU bandwidth and cpuset). Two or three small
   * preads: cheap enough for every open of a view.
   */
  limitsKey(part: 'memory' | 'cpu'): string;
  /** Pids in the cgroup (cgroup.procs). */
  pids(): number[];
  /** Thread ids in the cgroup (v1 tasks, v2 cgroup.threads), for load averages. */
  threads(): number[];
}

/** One sandbox's cgroup: its readers, and what creates, limits, joins, freezes, signals and removes it. */
export interface CgroupManager extends CgroupReader {
  /** cgroup.procs files a process writes its own pid into to join this cgroup everywhere. */
  readonly procsFiles: readonly string[];
  /**
   * v1 only: the hierarchies the sandbox should see inside its cgroup namespace, as the directory
   * name under /sys/fs/cgroup and the mount options naming its controllers (e.g. "cpu,cpuacct").
   * Empty on v2.
   */
  readonly hierarchies: readonly { dirName: string; controllers: string }[];
  /** Create the leaf directories (and on v1 seed cpuset.cpus/mems before any pid joins). */
  create(): Promise<void>;
  /** Write the limits. Strict: a limit the kernel refuses is an error naming file, value and errno. */
  apply(limits: CgroupLimits): Promise<void>;
  /** Move a pid into the cgroup in every hierarchy. */
  addPid(pid: number): Promise<void>;
  /**
   * Keep, off the launch path, the RCU grace period that a cgroup migration after a quiet spell
   * waits for out of PID 1's way until PID 1 has joined (v1; a v2 PID 1 is born in the cgroup).
   * Moves nothing; never rejects.
   */
  primeAttach(): Promise<void>;
  /**
   * Stop every task of the cgroup and resolve once the kernel reports them stopped (v1
   * freezer.state FROZEN, v2 "frozen 1" in cgroup.events); thaws again and throws if that does not
   * happen within timeoutMs, or when there is no freezer (v1 without the freezer hierarchy).
   */
  freeze(timeoutMs: number): Promise<void>;
  /** Let the tasks run again (v1 THAWED, v2 cgroup.freeze 0). */
  thaw(): Promise<void>;
  /** Send a signal to every process in the cgroup (v2 may use cgroup.kill for SIGKILL). */
  killAll(signal: NodeJS.Signals): Promise<void>;
  /** Kill what is left, wait until empty, rmdir every leaf with a short retry on EBUSY. Idempotent. */
  destroy(): Promise<void>;
}
