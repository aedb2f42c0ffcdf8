// /proc/diskstats of a sandbox: the host's lines of the whole disks the cgroup did I/O on, in the
// host's order and layout (block/genhd.c diskstats_show(): "%4d %7d %pg " then the counters), with
// the counters the cgroup tracks (v1 blkio.throttle.io_service_bytes/io_serviced, v2 io.stat) and 0
// for the rest: merges, times, in-flight and flushes have no per-cgroup figure. The kernel accounts
// a cgroup's I/O per disk (one blkg per request queue), so partitions are not listed; names come
// from the host's file. A disk the host no longer lists is left out (nothing names it).
import type { IoStats } from '../../supervisor/cgroup/index.js';
import { parseDiskstats } from '../parse/index.js';

/** Bytes per sector as diskstats counts them (always 512: include/linux/blk_types.h SECTOR_SHIFT). */
const SECTOR_BYTES = 512;

/** Indexes (0-based) of the counters a cgroup has, in Documentation/admin-guide/iostats.rst order. */
const READS = 0;
const SECTORS_READ = 2;
const WRITES = 4;
const SECTORS_WRITTEN = 6;
const DISCARDS = 11;
const SECTORS_DISCARDED = 13;

/** Render /proc/diskstats for a cgroup from the host's text. */
export function renderDiskstats(hostText: string, io: IoStats): string {
  const byDev = new Map(io.devices.map((d) => [`${d.major}:${d.minor}`, d]));
  let out = '';
  for (const line of parseDiskstats(hostText)) {
    const d = byDev.get(`${line.major}:${line.minor}`);
    if (!d) continue;
    // As many counters as this kernel prints (11, 15 or 17); those beyond it don't exist here.
    const fields = new Array<number>(line.fields.length).fill(0);
    const set = (i: number, value: number): void => {
      if (i < fields.length) fields[i] = value;
    };
    set(READS, d.rios);
    set(SECTORS_READ, Math.floor(d.rbytes / SECTOR_BYTES));
    set(WRITES, d.wios);
    set(SECTORS_WRITTEN, Math.floor(d.wbytes / SECTOR_BYTES));
    set(DISCARDS, d.dios);
    set(SECTORS_DISCARDED, Math.floor(d.dbytes / SECTOR_BYTES));
    out += `${line.prefix} ${fields.join(' ')}\n`;
  }
  return out;
}
