// /proc/meminfo of a sandbox. Layout: the host's file line by line (fs/proc/meminfo.c order and
// show_val_kb() columns); the lines that describe memory the cgroup is charged for get the cgroup's
// figure, every other line is copied byte for byte. `free`, `top` and `htop` (procps
// proc/meminfo.c) compute used = MemTotal − MemFree − Buffers − (Cached + SReclaimable), so every line
// in such a sum must come from the cgroup: a host value there shows gigabytes of cache in a 256 MiB
// sandbox.
import type { MemoryStats } from '../../supervisor/cgroup/index.js';
import { replaceMatched } from './columns.js';

/** Bytes to kB as the kernel prints pages: K(x) = x << (PAGE_SHIFT - 10), so whole kB, rounded down. */
function kb(bytes: number): number {
  return Math.max(0, Math.floor(bytes / 1024));
}

/**
 * memory.stat keys (v2 names) that make up each line charged to the cgroup. A key a cgroup version
 * lacks counts 0 (v1 has no slab_*, kernel_stack, …), never the host's value.
 */
export const MEMINFO_FROM_STAT: Readonly<Record<string, readonly string[]>> = {
  Cached: ['file'],
  SwapCached: ['swapcached'],
  Active: ['active_anon', 'active_file'],
  Inactive: ['inactive_anon', 'inactive_file'],
  'Active(anon)': ['active_anon'],
  'Inactive(anon)': ['inactive_anon'],
  'Active(file)': ['active_file'],
  'Inactive(file)': ['inactive_file'],
  Unevictable: ['unevictable'],
  Zswap: ['zswap'],
  Zswapped: ['zswapped'],
  Dirty: ['file_dirty'],
  Writeback: ['file_writeback'],
  AnonPages: ['anon'],
  Mapped: ['file_mapped'],
  Shmem: ['shmem'],
  KReclaimable: ['slab_reclaimable'],
  Slab: ['slab_reclaimable', 'slab_unreclaimable'],
  SReclaimable: ['slab_reclaimable'],
  SUnreclaim: ['slab_unreclaimable'],
  KernelStack: ['kernel_stack'],
  PageTables: ['pagetables'],
  SecPageTables: ['sec_pagetables'],
  Percpu: ['percpu'],
  AnonHugePages: ['anon_thp'],
  ShmemHugePages: ['shmem_thp'],
  FileHugePages: ['file_thp'],
};

const FROM_STAT = Object.entries(MEMINFO_FROM_STAT);

/** The kB values of every virtualized line, from the host's MemTotal/SwapTotal and the cgroup. */
function meminfoValues(
  hostMemTotalKb: number,
  hostSwapTotalKb: number,
  hostMlockedKb: number,
  mem: MemoryStats,
): Map<string, number> {
  const stat = (key: string): number => kb(mem.stat[key] ?? 0);
  const values = new Map<string, number>();
  for (const [line, keys] of FROM_STAT) {
    values.set(
      line,
      keys.reduce((sum, key) => sum + stat(key), 0),
    );
  }
  const memTotal = mem.limitBytes === null ? hostMemTotalKb : Math.min(kb(mem.limitBytes), hostMemTotalKb);
  const memFree = Math.max(0, memTotal - kb(mem.usageBytes)); // usage > limit happens (kmem, races): clamp
  // Reclaimable = page cache on the file LRUs + reclaimable slab (v1: no slab keys, 0).
  const reclaimable = stat('active_file') + stat('inactive_file') + stat('slab_reclaimable');
  values.set('MemTotal', memTotal);
  values.set('MemFree', memFree);
  values.set('MemAvailable', Math.min(memTotal, memFree + reclaimable));
  values.set('Buffers', 0); // block-device page cache is not split out per cgroup
  // Mlocked pages are a subset of the unevictable LRU (mm/mlock.c): the cgroup's unevictable bounds it.
  values.set('Mlocked', Math.min(hostMlockedKb, stat('unevictable')));
  // Swap: the sandbox's allowance (null = unlimited), never more than the host has (0 with no swap).
  const swapTotal = mem.swapLimitBytes === null ? hostSwapTotalKb : Math.min(kb(mem.swapLimitBytes), hostSwapTotalKb);
  values.set('SwapTotal', swapTotal);
  values.set('SwapFree', Math.max(0, swapTotal - kb(mem.swapUsageBytes)));
  return values;
}

/** A meminfo line: parse/meminfo.ts's grammar (label, blanks, digits, optional " kB"). */
const LINE = /^([^\s:]+):(\s*)(\d+)(?: (kB))?$/;

/** The value of the first line of `key` that parses (what meminfoValue of parseMeminfo gives), looking at that key's lines only. */
function hostValue(raws: readonly string[], key: string): number | undefined {
  const label = `${key}:`;
  for (const raw of raws) {
    if (!raw.startsWith(label)) continue;
    const m = LINE.exec(raw);
    if (m) return Number(m[3]);
  }
  return undefined;
}

/**
 * Render /proc/meminfo for a cgroup from the host's text. Only lines whose label names a
 * virtualized key are matched against the line grammar (parse/meminfo.ts's), once each; the
 * others are copied as they are. A render runs cold (reads seconds apart), where each line's
 * regex match and object cost several times what they cost hot (docs/bench/2026-12-07-render-cost.md).
 */
export function renderMeminfo(hostText: string, mem: MemoryStats): string {
  const body = hostText.endsWith('\n') ? hostText.slice(0, -1) : hostText;
  if (body === '') return '';
  const raws = body.split('\n');
  const hostTotal = hostValue(raws, 'MemTotal') ?? Number.MAX_SAFE_INTEGER;
  const values = meminfoValues(hostTotal, hostValue(raws, 'SwapTotal') ?? 0, hostValue(raws, 'Mlocked') ?? 0, mem);
  for (let i = 0; i < raws.length; i++) {
    const raw = raws[i]!;
    const colon = raw.indexOf(':');
    const value = colon > 0 ? values.get(raw.slice(0, colon)) : undefined;
    if (value === undefined) continue;
    const m = LINE.exec(raw);
    if (m && m[4] === 'kB')
      raws[i] = replaceMatched(raw, colon + 1, (m[2] as string).length, (m[3] as string).length, ' kB', value);
  }
  return raws.join('\n') + '\n';
}
