// What a view's render reads of its cgroup, counted file by file on the captured v1 and v2 trees:
// each view reads only what it prints (no OOM count, no throttling; cpuinfo and cpu/online no usage
// at all), and the OOM watch's re-read is one file.
import { posix } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CgroupFs, openCgroup } from '../../../supervisor/cgroup/index.js';
import type { CgroupManager } from '../../../supervisor/cgroup/types.js';
import { readViewStats, VIEWS, viewsFor, type ViewName } from '../../../procfs/views/index.js';
import { V2_MOUNTINFO, V2_OWN_CGROUP, v1Scenario, v2Scenario } from '../supervisor/cgroup/fixture-files.js';

/** A CgroupFs that lists the control files read through it (by name, in order). */
class CountingFs extends CgroupFs {
  readonly names: string[] = [];

  override read(path: string): string {
    this.names.push(posix.basename(path));
    return super.read(path);
  }

  /** The names read by fn, sorted. */
  during(fn: () => unknown): string[] {
    this.names.length = 0;
    fn();
    return [...this.names].sort();
  }
}

const V1 = v1Scenario('busy-256M');
const V2 = v2Scenario('busy-256M');

async function v1Manager(fs: CountingFs): Promise<CgroupManager> {
  return openCgroup({ id: 'fixture', root: V1, fs });
}

async function v2Manager(fs: CountingFs): Promise<CgroupManager> {
  return openCgroup({ id: 'test', root: V2, procSelfCgroup: V2_OWN_CGROUP, mountinfo: V2_MOUNTINFO, fs });
}

/** `name` n times (one read per level of a chain). */
const times = (n: number, name: string): string[] => Array<string>(n).fill(name);

/** v1 busy-256M: memory chain 4 levels deep (leaf to root), cpu chain 2. */
const V1_MEMORY = [
  ...times(4, 'memory.limit_in_bytes'),
  ...times(4, 'memory.memsw.limit_in_bytes'),
  'memory.memsw.usage_in_bytes',
  'memory.stat',
  'memory.usage_in_bytes',
];
const V1_ALLOTMENT = [...times(2, 'cpu.cfs_period_us'), ...times(2, 'cpu.cfs_quota_us'), 'cpuset.effective_cpus'];
const V1_USAGE = ['cpuacct.usage_percpu', 'cpuacct.usage_percpu_sys', 'cpuacct.usage_percpu_user'];
const V1_READS: Partial<Record<ViewName, string[]>> = {
  meminfo: V1_MEMORY,
  swaps: V1_MEMORY,
  cpuinfo: V1_ALLOTMENT,
  'cpu-online': V1_ALLOTMENT,
  stat: [...V1_ALLOTMENT, ...V1_USAGE].sort(),
  uptime: [...V1_ALLOTMENT, ...V1_USAGE].sort(),
  diskstats: ['blkio.throttle.io_service_bytes_recursive', 'blkio.throttle.io_serviced_recursive'],
};

/** v2 busy-256M: chain of 3 (leaf, /parent, root: the root has no limit files, read all the same). */
const V2_MEMORY = [
  'memory.current',
  ...times(3, 'memory.max'),
  'memory.stat',
  'memory.swap.current',
  ...times(3, 'memory.swap.max'),
];
const V2_ALLOTMENT = [...times(3, 'cpu.max'), 'cpuset.cpus.effective'];
const V2_READS: Partial<Record<ViewName, string[]>> = {
  meminfo: V2_MEMORY,
  swaps: V2_MEMORY,
  cpuinfo: V2_ALLOTMENT,
  'cpu-online': V2_ALLOTMENT,
  stat: [...V2_ALLOTMENT, 'cpu.stat'].sort(),
  uptime: [...V2_ALLOTMENT, 'cpu.stat'].sort(),
  diskstats: ['io.stat'],
  'pressure-cpu': ['cpu.pressure'],
  'pressure-memory': ['memory.pressure'],
  'pressure-io': ['io.pressure'],
};

describe.each([
  { mode: 'v1' as const, open: v1Manager, root: V1, expected: V1_READS, oom: 'memory.oom_control' },
  { mode: 'v2' as const, open: v2Manager, root: V2, expected: V2_READS, oom: 'memory.events' },
])('the cgroup files a view render reads ($mode busy-256M)', ({ mode, open, root, expected, oom }) => {
  it('are only those of what the view prints: never the OOM count or throttling', async () => {
    const fs = new CountingFs(root);
    const cg = await open(fs);
    const views = viewsFor(mode, true).filter((v) => v.cgroup !== null);
    expect(views.map((v) => v.name).sort()).toEqual(Object.keys(expected).sort());
    for (const v of views)
      expect(
        fs.during(() => readViewStats(cg, v)),
        v.name,
      ).toEqual(expected[v.name]);
    expect(VIEWS.filter((v) => v.cgroup === null).map((v) => v.name)).toEqual(['loadavg']);
  });

  it('reads the OOM count from one file, the throttling from cpu.stat alone, and both in stats()', async () => {
    const fs = new CountingFs(root);
    const cg = await open(fs);
    expect(fs.during(() => cg.oomKills())).toEqual([oom]);
    expect(fs.during(() => cg.throttling())).toEqual(['cpu.stat']);
    const all = fs.during(() => cg.stats());
    expect(all).toContain(oom);
    expect(all).toContain('cpu.stat');
    const stats = cg.stats();
    expect(stats.memory.oomKills).toBe(cg.oomKills());
    expect(stats.cpu).toEqual({ ...cg.cpuStats(), ...cg.throttling() });
    expect(stats.memory).toEqual({ ...cg.memoryStats(), oomKills: cg.oomKills() });
  });
});
