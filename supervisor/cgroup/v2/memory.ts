// v2 memory controller (cgroup-v2.rst "Memory Interface Files"): memory.max and memory.swap.max
// ("max" = none; swap is limited separately from memory, unlike v1's memsw), memory.current,
// memory.swap.current, memory.stat (already in the v2 names CgroupStats uses) and memory.events,
// whose oom_kill counts OOM kills in the cgroup and its descendants.
import { UnsupportedFlagError } from '../../errors.js';
import { formatBytes } from '../../bytes.js';
import { minLimit } from '../ancestry.js';
import type { CgroupFs } from '../fs.js';
import { parseFlatKeyed, parseMaxOrInt } from '../keyed.js';
import type { CgroupLimits, MemoryStats } from '../types.js';

/**
 * The leaf's memory.swap.max, or null where the kernel does not account swap (mm/memcontrol.c
 * registers the swap files only with CONFIG_SWAP and without swapaccount=0); then asking for swap
 * is refused, naming --swap and its value. Called before any write, so a refused update changes nothing.
 */
export function swapLimitFile(fs: CgroupFs, dir: string, swapBytes: number): string | null {
  const file = `${dir}/memory.swap.max`;
  if (fs.readIfExists(file) !== null) return file;
  if (swapBytes > 0) {
    throw new UnsupportedFlagError(
      '--swap',
      formatBytes(swapBytes),
      `this kernel does not account swap for cgroups: no memory.swap.max in ${fs.resolve(dir)} (CONFIG_SWAP off or swapaccount=0; run without --swap)`,
    );
  }
  return null;
}

/** Write memory.max and memory.swap.max (swap 0 = none) where the kernel has it (swapLimitFile). */
export async function applyMemory(fs: CgroupFs, dir: string, limits: CgroupLimits): Promise<void> {
  const swapFile = swapLimitFile(fs, dir, limits.swapBytes);
  await fs.write(`${dir}/memory.max`, limits.memoryBytes === null ? 'max' : String(limits.memoryBytes));
  if (swapFile !== null) await fs.write(swapFile, String(limits.swapBytes));
}

/** A limit file's text ("max" or bytes), or null when absent (the root cgroup has none). */
function parseLimit(text: string | null): number | null {
  return text === null ? null : parseMaxOrInt(text);
}

/** Memory figures of the leaf (chain = [leaf, parent, …, root]); limits are the minimum over the chain ("Top-down Constraint"). */
export function readMemory(fs: CgroupFs, chain: readonly string[]): MemoryStats {
  const leaf = chain[0]!;
  const limits = chain.map((d) => fs.readIfExists(`${d}/memory.max`));
  const swapLimits = chain.map((d) => fs.readIfExists(`${d}/memory.swap.max`));
  const current = fs.readInt(`${leaf}/memory.current`);
  const swapCurrent = fs.readIfExists(`${leaf}/memory.swap.current`);
  const statText = fs.read(`${leaf}/memory.stat`);
  return {
    limitBytes: minLimit(limits.map(parseLimit)),
    usageBytes: current,
    swapLimitBytes: minLimit(swapLimits.map(parseLimit)),
    swapUsageBytes: swapCurrent === null ? 0 : Number(swapCurrent.trim()),
    stat: Object.fromEntries(parseFlatKeyed(statText)),
  };
}

/** OOM kills in the leaf and its descendants: memory.events oom_kill, 0 where the file or the key is absent. */
export function readOomKills(fs: CgroupFs, leaf: string): number {
  const text = fs.readIfExists(`${leaf}/memory.events`);
  return text === null ? 0 : (parseFlatKeyed(text).get('oom_kill') ?? 0);
}
