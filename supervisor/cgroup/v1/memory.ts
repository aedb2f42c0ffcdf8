// v1 memory controller (Documentation/admin-guide/cgroup-v1/memory.rst). memory.limit_in_bytes
// caps memory; memory.memsw.limit_in_bytes (present when swap accounting is on) caps memory+swap
// and must always be >= memory.limit_in_bytes (the kernel refuses either write with EINVAL
// otherwise), so the two writes are ordered. Lowering a limit below the usage makes the kernel
// reclaim and, if it can't, refuse with EBUSY.
import { UnsupportedFlagError } from '../../errors.js';
import { formatBytes } from '../../bytes.js';
import { minLimit } from '../ancestry.js';
import type { CgroupFs } from '../fs.js';
import { parseFlatKeyed } from '../keyed.js';
import type { CgroupLimits, MemoryStats } from '../types.js';
import { mapV1MemoryStat } from './memory-stat.js';

/**
 * v1 prints "no limit" as PAGE_COUNTER_MAX pages in bytes: LONG_MAX rounded down to a page,
 * 9223372036854771712 with 4 KiB pages (other page sizes give other values). Anything above 2^53
 * bytes (8 PiB) is no real limit: report it as null.
 */
export function v1Limit(bytes: number): number | null {
  return bytes > Number.MAX_SAFE_INTEGER ? null : bytes;
}

/** Parse a v1 limit file's text (bytes, possibly the "unlimited" sentinel). */
function parseLimit(text: string | null): number | null {
  if (text === null) return null;
  return v1Limit(Number(text.trim()));
}

/**
 * The leaf's memory.memsw.limit_in_bytes, or null where the kernel does not account swap
 * (CONFIG_SWAP off or swapaccount=0); then asking for swap is refused, naming --swap and its
 * value. Called before any write, so a refused update changes nothing.
 */
export function memswLimitFile(fs: CgroupFs, dir: string, swapBytes: number): string | null {
  const file = `${dir}/memory.memsw.limit_in_bytes`;
  if (fs.readIfExists(file) !== null) return file;
  if (swapBytes > 0) {
    throw new UnsupportedFlagError(
      '--swap',
      formatBytes(swapBytes),
      `this kernel does not account swap for cgroups: no memory.memsw.limit_in_bytes in ${fs.resolve(dir)} (boot with swapaccount=1, or run without --swap)`,
    );
  }
  return null;
}

/**
 * Write memory.limit_in_bytes and, when memsw exists, memory.memsw.limit_in_bytes = memory + swap
 * (-1 = unlimited for both when there is no memory limit). memsw is written first when the new
 * memsw value is >= the current memory limit (raising), else memory first (lowering), so memsw >=
 * memory holds after each write. Without memsw files (swap accounting off) swap can't be limited:
 * asking for swap is then an error; asking for none leaves swap unrestricted, which only matters
 * on a host that has swap.
 */
export async function applyMemory(fs: CgroupFs, dir: string, limits: CgroupLimits): Promise<void> {
  const memFile = `${dir}/memory.limit_in_bytes`;
  const memswFile = memswLimitFile(fs, dir, limits.swapBytes);
  const mem = limits.memoryBytes === null ? '-1' : String(limits.memoryBytes);
  if (memswFile === null) {
    await fs.write(memFile, mem);
    return;
  }
  const memsw = limits.memoryBytes === null ? -1 : limits.memoryBytes + limits.swapBytes;
  const currentMem = fs.readInt(memFile);
  if (memsw === -1 || memsw >= currentMem) {
    await fs.write(memswFile, String(memsw));
    await fs.write(memFile, mem);
  } else {
    await fs.write(memFile, mem);
    await fs.write(memswFile, String(memsw));
  }
}

/**
 * Memory figures of the leaf (chain = [leaf, parent, …, hierarchy root]). Effective limits are the
 * minimum of memory.limit_in_bytes over the chain and of memory.stat's hierarchical_memory_limit,
 * which the kernel computes as exactly that minimum over all ancestors (mm/memcontrol-v1.c,
 * memcg1_stat_format), including ancestors above a cgroup-namespace or container mount root that
 * the chain can't see; hierarchical_memsw_limit likewise. Usage is memory.usage_in_bytes
 * (memory.rst 5.5: a slightly fuzzy but cheap figure).
 */
export function readMemory(fs: CgroupFs, chain: readonly string[]): MemoryStats {
  const leaf = chain[0]!;
  const limits = chain.map((d) => fs.readIfExists(`${d}/memory.limit_in_bytes`));
  const memswLimits = chain.map((d) => fs.readIfExists(`${d}/memory.memsw.limit_in_bytes`));
  const usage = fs.readInt(`${leaf}/memory.usage_in_bytes`);
  const memswUsage = fs.readIfExists(`${leaf}/memory.memsw.usage_in_bytes`);
  const statText = fs.read(`${leaf}/memory.stat`);
  const stat = parseFlatKeyed(statText);
  const hierMem = stat.get('hierarchical_memory_limit');
  const hierMemsw = stat.get('hierarchical_memsw_limit');
  const limitBytes = minLimit([...limits.map(parseLimit), hierMem === undefined ? null : v1Limit(hierMem)]);

  let swapLimitBytes: number | null = null;
  let swapUsageBytes = 0;
  if (memswUsage !== null) {
    const memswLimit = minLimit([...memswLimits.map(parseLimit), hierMemsw === undefined ? null : v1Limit(hierMemsw)]);
    if (memswLimit !== null) swapLimitBytes = limitBytes === null ? memswLimit : Math.max(0, memswLimit - limitBytes);
    swapUsageBytes = Math.max(0, Number(memswUsage.trim()) - usage);
  }
  return { limitBytes, usageBytes: usage, swapLimitBytes, swapUsageBytes, stat: mapV1MemoryStat(stat) };
}

/** OOM kills in the leaf: memory.oom_control's oom_kill (kernel >= 4.13), 0 where the file or the key is absent. */
export function readOomKills(fs: CgroupFs, leaf: string): number {
  const text = fs.readIfExists(`${leaf}/memory.oom_control`);
  return text === null ? 0 : (parseFlatKeyed(text).get('oom_kill') ?? 0);
}
