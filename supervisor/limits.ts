// Limits as users type them ("20%", "256M", "100ms") turned into kernel values, strictly: anything
// that is not clearly meant is rejected with a one-line error naming the flag and the value, before
// any cgroup, mount or process exists. Surrounding whitespace is ignored (" 20% " from a script's
// quoting is clearly meant), inner whitespace is not. ASCII digits only (without the u flag \d
// never matches "١٢" or "２"), no sign, no exponent.
import { formatBytes } from './bytes.js';
import { UsageError } from './errors.js';
import { formatCpuList, parseCpuList, type CgroupLimits } from './cgroup/index.js';
import { mergeIoLimits, type IoFlags } from './io-limits.js';

/** Flags as commander hands them over: raw strings, undefined when not given. */
export interface LimitFlags extends IoFlags {
  cpu?: string;
  mem?: string;
  swap?: string;
  pids?: string;
  cpuPeriod?: string;
  cpuBurst?: string;
  cpusetCpus?: string;
  cpuWeight?: string;
}

/** What the limits are checked against: the host's online CPUs and its RAM. */
export interface HostFacts {
  onlineCpus: number[];
  memTotalBytes: number;
}

/** Validated limits: the cgroup values plus what the supervisor needs to choose a cpuset. */
export interface ResolvedLimits extends Omit<CgroupLimits, 'cpusetCpus'> {
  /** The quota as a number of CPUs (0.2 for 20%); null when there is no quota. */
  cpus: number | null;
  /** CPUs the user pinned with --cpuset-cpus; null = the supervisor chooses. */
  cpusetCpus: number[] | null;
}

/**
 * Smallest memory limit accepted: 6 MiB, docker's floor too. Measured here: the stage's PID 1 and a
 * shell fit in it; below it the workload is OOM-killed before it runs a line.
 */
export const MEMORY_FLOOR_BYTES = 6 * 1024 * 1024;
/** Smallest pids limit a sandbox starts with: its PID 1 and the command. */
const MIN_PIDS = 2;
/** Default pids.max: enough for builds and test runners, too few for a fork bomb to hurt the host. */
const DEFAULT_PIDS_MAX = 4096;
/** Kernel default CFS period (kernel/sched/fair.c: default_cfs_period() = 100 ms). */
const DEFAULT_CPU_PERIOD_US = 100_000;
// kernel/sched/core.c: min_cfs_quota_period = 1 ms, max_cfs_quota_period = 1 s; quota >= 1 ms.
const MIN_PERIOD_US = 1_000;
const MAX_PERIOD_US = 1_000_000;
const MIN_QUOTA_US = 1_000;
const PAGE_SIZE = 4096;

const SIZE_UNITS: Record<string, number> = { '': 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3, T: 1024 ** 4 };
const DURATION_UNITS: Record<string, number> = { us: 1, ms: 1_000, s: 1_000_000 };

/** "20%" (of one CPU) or "0.5" (CPUs) -> number of CPUs. */
export function parseCpu(text: string, hostCpuCount: number): number {
  const m = /^(\d+(?:\.\d+)?)(%?)$/.exec(text.trim());
  if (!m) throw new UsageError('--cpu', `expected a share like 20%, 150% or 0.5 (CPUs), got "${text}"`);
  const cpus = m[2] ? Number(m[1]) / 100 : Number(m[1]);
  if (cpus <= 0) throw new UsageError('--cpu', `must be more than 0, got "${text}"`);
  if (cpus > hostCpuCount) {
    throw new UsageError(
      '--cpu',
      `"${text}" is more than this host's ${hostCpuCount} CPU${hostCpuCount === 1 ? '' : 's'} (${hostCpuCount * 100}%)`,
    );
  }
  return cpus;
}

/** "256M", "256MiB", "1.5G", "512k", "1048576" (bytes); base 1024 whatever the suffix. */
export function parseSize(flag: string, text: string, hostMemBytes?: number): number {
  const t = text.trim();
  const pct = /^(\d+(?:\.\d+)?)%$/.exec(t);
  if (pct && hostMemBytes !== undefined) {
    const share = Number(pct[1]);
    if (share <= 0 || share > 100)
      throw new UsageError(flag, `a share of host memory must be in (0%, 100%], got "${text}"`);
    return Math.floor((hostMemBytes * share) / 100 / PAGE_SIZE) * PAGE_SIZE;
  }
  const m = /^(\d+(?:\.\d+)?)([kmgt]?)(?:i?b)?$/i.exec(t);
  if (!m) {
    const example = hostMemBytes === undefined ? '256M or 1.5G' : '256M, 1.5G or 25%';
    throw new UsageError(flag, `expected a size like ${example}, got "${text}"`);
  }
  const bytes = Math.floor(Number(m[1]) * (SIZE_UNITS[(m[2] ?? '').toUpperCase()] ?? 1));
  if (!Number.isSafeInteger(bytes)) throw new UsageError(flag, `size "${text}" is too large`);
  return bytes;
}

/** "100ms", "0.1s", "500us" -> microseconds (a unit is required: a bare number is ambiguous). */
export function parseDuration(flag: string, text: string): number {
  const m = /^(\d+(?:\.\d+)?)(us|ms|s)$/.exec(text.trim());
  if (!m) throw new UsageError(flag, `expected a duration like 100ms or 0.1s, got "${text}"`);
  return Math.round(Number(m[1]) * (DURATION_UNITS[m[2] as string] as number));
}

/** A whole number in [min, max], or null for "max" when allowed. */
export function parseInteger(flag: string, text: string, min: number, max: number, allowMax = false): number | null {
  const t = text.trim();
  if (allowMax && t === 'max') return null;
  if (!/^\d+$/.test(t)) {
    throw new UsageError(
      flag,
      `expected a whole number from ${min} to ${max}${allowMax ? ' or "max"' : ''}, got "${text}"`,
    );
  }
  const n = Number(t);
  if (n < min || n > max) throw new UsageError(flag, `must be from ${min} to ${max}, got "${text}"`);
  return n;
}

/** Validate every limit flag against the host; throws UsageError on the first bad one. */
export function resolveLimits(flags: LimitFlags, host: HostFacts): ResolvedLimits {
  const cpuPeriodUs =
    flags.cpuPeriod === undefined ? DEFAULT_CPU_PERIOD_US : parseDuration('--cpu-period', flags.cpuPeriod);
  if (cpuPeriodUs < MIN_PERIOD_US || cpuPeriodUs > MAX_PERIOD_US) {
    throw new UsageError('--cpu-period', `must be from 1ms to 1s, got "${flags.cpuPeriod}"`);
  }

  const cpus = flags.cpu === undefined ? null : parseCpu(flags.cpu, host.onlineCpus.length);
  const cpuQuotaUs = cpus === null ? null : Math.round(cpus * cpuPeriodUs);
  if (cpuQuotaUs !== null && cpuQuotaUs < MIN_QUOTA_US) {
    throw new UsageError(
      '--cpu',
      `"${flags.cpu}" gives a quota below the kernel's minimum of 1ms per ${cpuPeriodUs / 1000}ms period`,
    );
  }
  const cpuBurstUs = resolveCpuBurst(flags, cpuQuotaUs);
  const cpuWeight = flags.cpuWeight === undefined ? null : parseInteger('--cpu-weight', flags.cpuWeight, 1, 10_000);
  const cpusetCpus = resolveCpuset(flags, host, cpus);
  const { memoryBytes, swapBytes } = resolveMemory(flags, host);
  const pidsMax = resolvePids(flags);
  const io = mergeIoLimits(undefined, flags);
  return {
    cpus,
    cpuQuotaUs,
    cpuPeriodUs,
    cpuBurstUs,
    cpuWeight,
    cpusetCpus,
    memoryBytes,
    swapBytes,
    pidsMax,
    ...(io ? { io } : {}),
  };
}

/** --cpu-burst in µs, or null: credit on top of the quota, never more than it. */
function resolveCpuBurst(flags: LimitFlags, cpuQuotaUs: number | null): number | null {
  if (flags.cpuBurst === undefined) return null;
  const cpuBurstUs = parseDuration('--cpu-burst', flags.cpuBurst);
  // kernel/sched/core.c tg_set_cfs_bandwidth(): burst needs a quota and may not exceed it.
  if (cpuQuotaUs === null)
    throw new UsageError('--cpu-burst', `needs --cpu (a burst is credit on top of a quota), got "${flags.cpuBurst}"`);
  if (cpuBurstUs > cpuQuotaUs) {
    throw new UsageError(
      '--cpu-burst',
      `"${flags.cpuBurst}" is more than the quota of ${cpuQuotaUs / 1000}ms per period`,
    );
  }
  return cpuBurstUs;
}

/** --cpuset-cpus as online CPUs, or null; refused when fewer than the quota's CPUs. */
function resolveCpuset(flags: LimitFlags, host: HostFacts, cpus: number | null): number[] | null {
  if (flags.cpusetCpus === undefined) return null;
  let cpusetCpus: number[];
  try {
    cpusetCpus = parseCpuList(flags.cpusetCpus);
  } catch {
    throw new UsageError('--cpuset-cpus', `expected a CPU list like 0-1 or 0,2, got "${flags.cpusetCpus}"`);
  }
  if (cpusetCpus.length === 0)
    throw new UsageError('--cpuset-cpus', `expected at least one CPU, got "${flags.cpusetCpus}"`);
  const offline = cpusetCpus.find((c) => !host.onlineCpus.includes(c));
  if (offline !== undefined) {
    throw new UsageError(
      '--cpuset-cpus',
      `CPU ${offline} is not online on this host (online: ${formatCpuList(host.onlineCpus)})`,
    );
  }
  // A quota above the pinned CPUs' capacity could never be used: the two flags contradict.
  if (cpus !== null && cpus > cpusetCpus.length) {
    throw new UsageError(
      '--cpuset-cpus',
      `"${flags.cpusetCpus}" is ${cpusetCpus.length} CPU${cpusetCpus.length === 1 ? '' : 's'}, fewer than --cpu "${flags.cpu}" asks for`,
    );
  }
  return cpusetCpus;
}

/** --mem (at least the floor) and --swap (only on top of --mem). */
function resolveMemory(flags: LimitFlags, host: HostFacts): { memoryBytes: number | null; swapBytes: number } {
  let memoryBytes: number | null = null;
  if (flags.mem !== undefined) {
    memoryBytes = parseSize('--mem', flags.mem, host.memTotalBytes);
    if (memoryBytes < MEMORY_FLOOR_BYTES) {
      throw new UsageError(
        '--mem',
        `"${flags.mem}" is too low: a sandbox needs at least ${formatBytes(MEMORY_FLOOR_BYTES)} to start`,
      );
    }
  }
  let swapBytes = 0;
  if (flags.swap !== undefined) {
    swapBytes = parseSize('--swap', flags.swap);
    if (memoryBytes === null && swapBytes > 0)
      throw new UsageError('--swap', `needs --mem (swap is allowed on top of a memory limit), got "${flags.swap}"`);
  }
  return { memoryBytes, swapBytes };
}

/** --pids (default DEFAULT_PIDS_MAX; null for "max"), at least MIN_PIDS. */
function resolvePids(flags: LimitFlags): number | null {
  const pidsMax = flags.pids === undefined ? DEFAULT_PIDS_MAX : parseInteger('--pids', flags.pids, 1, 4_194_304, true);
  // The sandbox's PID 1 is in the cgroup when it forks the command: with pids.max 1 that fork fails.
  if (pidsMax !== null && pidsMax < MIN_PIDS) {
    throw new UsageError(
      '--pids',
      `"${flags.pids}" is too low: the sandbox's init and the command need at least ${MIN_PIDS}`,
    );
  }
  return pidsMax;
}
