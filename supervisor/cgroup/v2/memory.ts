// v2 memory controller (cgroup-v2.rst "Memory Interface Files"): memory.max and memory.swap.max
// ("max" = none; swap is limited separately from memory, unlike v1's memsw), memory.current,
// memory.swap.current, memory.stat (already in the v2 names CgroupStats uses) and memory.events,
// whose oom_kill counts OOM kills in the cgroup and its descendants.
import { minLimit } from '../ancestry.js';
import type { CgroupFs } from '../fs.js';
import { parseFlatKeyed, parseMaxOrInt } from '../keyed.js';
import type { CgroupLimits, MemoryStats } from '../types.js';

/** Write memory.max and memory.swap.max (swap 0 = none). Without memory.swap.max (no swap accounting) asking for swap is an error. */
export async function applyMemory(fs: CgroupFs, dir: string, limits: CgroupLimits): Promise<void> {
  await fs.write(`${dir}/memory.max`, limits.memoryBytes === null ? 'max' : String(limits.memoryBytes));
  const swapFile = `${dir}/memory.swap.max`;
  if (!(await fs.exists(swapFile))) {
    if (limits.swapBytes > 0) throw new Error(`${fs.resolve(swapFile)} does not exist: this kernel has no swap accounting, so --swap can't be honoured`);
    return;
  }
  await fs.write(swapFile, String(limits.swapBytes));
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
  const eventsText = fs.readIfExists(`${leaf}/memory.events`);
  return {
    limitBytes: minLimit(limits.map(parseLimit)),
    usageBytes: current,
    swapLimitBytes: minLimit(swapLimits.map(parseLimit)),
    swapUsageBytes: swapCurrent === null ? 0 : Number(swapCurrent.trim()),
    stat: Object.fromEntries(parseFlatKeyed(statText)),
    oomKills: eventsText === null ? 0 : (parseFlatKeyed(eventsText).get('oom_kill') ?? 0),
  };
}
