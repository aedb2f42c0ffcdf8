// v1 memory.stat -> the cgroup v2 key names that CgroupStats uses (types.ts MemoryStats.stat).
// v1 prints each counter twice: the cgroup's own ("cache") and, prefixed "total_", the
// hierarchical sum over the cgroup and its descendants (cgroup-v1/memory.rst section 5.2). v2's
// memory.stat is hierarchical, so only total_* keys are used. Meanings per memory.rst 5.2 and
// cgroup-v2.rst "memory.stat":
//   total_cache               -> file            page cache incl. tmpfs/shmem (v2 "file" includes them too)
//   total_rss                 -> anon            anonymous + swap cache (incl. THP)
//   total_rss_huge            -> anon_thp        anonymous transparent huge pages
//   total_shmem               -> shmem
//   total_mapped_file         -> file_mapped
//   total_dirty               -> file_dirty
//   total_writeback           -> file_writeback
//   total_swapcached          -> swapcached
//   total_active_anon, total_inactive_anon, total_active_file, total_inactive_file,
//   total_unevictable         -> same names without "total_"
//   total_pgfault, total_pgmajfault,
//   total_workingset_refault_anon, total_workingset_refault_file -> same names (event counts, as on v2)
// Not mapped: total_swap (v2 reports swap in memory.swap.current, used for MemoryStats.swapUsageBytes),
// total_pgpgin/total_pgpgout (no v2 counterpart), and the hierarchical_*_limit lines (limits, not usage).
// v1 has no slab_*, kernel_stack or pagetables keys: they stay absent.

/** The exact v1 key for each v2 name (documented above). */
const V1_TO_V2_STAT: Readonly<Record<string, string>> = {
  total_cache: 'file',
  total_rss: 'anon',
  total_rss_huge: 'anon_thp',
  total_shmem: 'shmem',
  total_mapped_file: 'file_mapped',
  total_dirty: 'file_dirty',
  total_writeback: 'file_writeback',
  total_swapcached: 'swapcached',
  total_active_anon: 'active_anon',
  total_inactive_anon: 'inactive_anon',
  total_active_file: 'active_file',
  total_inactive_file: 'inactive_file',
  total_unevictable: 'unevictable',
  total_pgfault: 'pgfault',
  total_pgmajfault: 'pgmajfault',
  total_workingset_refault_anon: 'workingset_refault_anon',
  total_workingset_refault_file: 'workingset_refault_file',
};

/** Rename a parsed v1 memory.stat to v2 names; keys outside the table are dropped. */
export function mapV1MemoryStat(v1: ReadonlyMap<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [v1Key, v2Key] of Object.entries(V1_TO_V2_STAT)) {
    const value = v1.get(v1Key);
    if (value !== undefined) out[v2Key] = value;
  }
  return out;
}
