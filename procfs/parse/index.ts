// The /proc parsers' one public module: supervisor/ and procfs/ import them from here only. Each
// parser is pure (text in, data out) and imports nothing of ours (.dependency-cruiser.cjs checks
// both), so the views, the reaper and the supervisor share one reading of each kernel format.

/** /proc/cpuinfo: blocks of "key\t: value" lines, and back to text (fs/proc/cpuinfo.c). */
export { formatCpuinfo, parseCpuinfo, type CpuinfoBlock, type CpuinfoLine } from './cpuinfo.js';
/** /proc/diskstats lines (block/genhd.c diskstats_show). */
export { parseDiskstats } from './diskstats.js';
/** /proc/<pid>/stat fields (fs/proc/array.c do_task_stat). */
export { parsePidStat } from './pid-stat.js';
/** /proc/<pid>/status keys, and the state and namespace pid in it (fs/proc/array.c task_state). */
export { ownNamespacePid, parsePidStatus, statusStateAndPid } from './pid-status.js';
/** /proc/stat lines and the cpu time fields (fs/proc/stat.c show_stat). */
export { CPU_FIELDS, parseStat, type CpuTimes } from './stat.js';
/** /proc/swaps entries (mm/swapfile.c swap_show). */
export { parseSwaps, type SwapEntry } from './swaps.js';
/** /proc/uptime (fs/proc/uptime.c). */
export { parseUptime } from './uptime.js';
