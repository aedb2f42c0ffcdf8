// Pure parsers of the block I/O files of both cgroup versions, normalized to IoStats (types.ts).
// Every device line is kept in the kernel's order; devices with no byte and no request are dropped
// (a blkg exists for every disk the cgroup touched or was configured on, even with all zeros).
import type { IoDeviceStats, IoStats } from './types.js';

/** "MAJ:MIN" → [major, minor], or null when the field is not a device number. */
function parseDevice(field: string): [number, number] | null {
  const m = /^(\d+):(\d+)$/.exec(field);
  return m ? [Number(m[1]), Number(m[2])] : null;
}

/** A zeroed record for one device. */
function emptyDevice(major: number, minor: number): IoDeviceStats {
  return { major, minor, rbytes: 0, wbytes: 0, dbytes: 0, rios: 0, wios: 0, dios: 0 };
}

/** Whether a device saw any I/O. */
function active(d: IoDeviceStats): boolean {
  return d.rbytes + d.wbytes + d.dbytes + d.rios + d.wios + d.dios > 0;
}

/** The io.stat keys taken, by exact name (block/blk-cgroup.c blkcg_print_one_stat()). */
const IO_STAT_KEYS = ['rbytes', 'wbytes', 'rios', 'wios', 'dbytes', 'dios'] as const;

/**
 * v2 io.stat: one line per device, "MAJ:MIN rbytes=N wbytes=N rios=N wios=N dbytes=N dios=N",
 * possibly followed by policy keys (iocost "cost.usage=…", io.latency "depth=…") that are ignored.
 * A device line without any of the six keys is a device with no I/O: blkcg_print_one_stat() prints
 * "MAJ:MIN " and the counters only when rbytes, wbytes, rios or wios is non-zero (seen on a pure v2
 * 6.1 guest as "254:0 " once io.max had a rule for the disk). Throws on a line that isn't a device
 * line or has some of the six keys but not all.
 */
export function parseIoStat(text: string): IoStats {
  const devices: IoDeviceStats[] = [];
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    const [devField = '', ...pairs] = line.trim().split(/\s+/);
    const dev = parseDevice(devField);
    if (!dev) throw new Error(`io.stat: expected "MAJ:MIN key=value…", got "${line}"`);
    const values = new Map<string, number>();
    for (const pair of pairs) {
      const m = /^([a-z_.]+)=(\d+)$/.exec(pair);
      if (m) values.set(m[1] as string, Number(m[2]));
    }
    const d = emptyDevice(dev[0], dev[1]);
    if (IO_STAT_KEYS.every((key) => !values.has(key))) continue; // no I/O yet: nothing to show
    for (const key of IO_STAT_KEYS) {
      const value = values.get(key);
      if (value === undefined) throw new Error(`io.stat: no ${key}= on "${line}"`);
      d[key] = value;
    }
    if (active(d)) devices.push(d);
  }
  return { devices };
}

/** Rows of a v1 rwstat file taken into IoDeviceStats: row name → field, for bytes or for requests. */
const RWSTAT_BYTES = { Read: 'rbytes', Write: 'wbytes', Discard: 'dbytes' } as const;
const RWSTAT_IOS = { Read: 'rios', Write: 'wios', Discard: 'dios' } as const;

/**
 * v1 blkio.throttle.io_service_bytes[_recursive] and io_serviced[_recursive], as
 * block/blk-cgroup-rwstat.c __blkg_prfill_rwstat() prints them: per device the rows
 * "MAJ:MIN Read N", "Write", "Sync", "Async", "Discard" (Linux >= 4.19), "Total", and a last
 * "Total N" summed over devices. Sync/Async/Total are sums of the others and are not needed.
 */
export function parseBlkioRwstat(bytesText: string, iosText: string): IoStats {
  const byDev = new Map<string, IoDeviceStats>();
  const take = (text: string, rows: Record<string, keyof IoDeviceStats>, file: string): void => {
    for (const line of text.split('\n')) {
      const f = line.trim().split(/\s+/);
      if (f.length === 1 && f[0] === '') continue;
      if (f.length === 2 && f[0] === 'Total' && /^\d+$/.test(f[1] as string)) continue;
      const dev = f.length === 3 ? parseDevice(f[0] as string) : null;
      if (!dev || !/^\d+$/.test(f[2] as string)) throw new Error(`${file}: expected "MAJ:MIN Row N", got "${line}"`);
      const key = f[0] as string;
      let d = byDev.get(key);
      if (!d) byDev.set(key, (d = emptyDevice(dev[0], dev[1])));
      const field = rows[f[1] as string];
      if (field !== undefined && field !== 'major' && field !== 'minor') d[field] = Number(f[2]);
    }
  };
  take(bytesText, RWSTAT_BYTES, 'blkio io_service_bytes');
  take(iosText, RWSTAT_IOS, 'blkio io_serviced');
  return { devices: [...byDev.values()].filter(active) };
}
