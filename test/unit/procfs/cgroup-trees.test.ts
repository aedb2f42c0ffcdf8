// End to end on real captured cgroup trees, v1 and v2 side by side: fixture tree → openCgroup(...)
// → readViewStats (the CgroupManager reads the server makes) → renderView. The v1 busy-256M tree
// (test/fixtures/cgroup-v1, this machine) has no /proc files of its own, so it pairs with this
// machine's captures (test/fixtures/proc/host-2cpu, same day; no diskstats there); the io-8M trees
// carry the /proc files of the same moment, and the v2 trees (test/fixtures/cgroup-v2, a 6.1
// guest) the guest's own. Every sandbox is 20% of CPU 1 with 256 MiB and no swap.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { CgroupFs, openCgroup } from '../../../supervisor/cgroup/index.js';
import { V2Manager } from '../../../supervisor/cgroup/v2/manager.js';
import type { CgroupManager, CgroupStats } from '../../../supervisor/cgroup/types.js';
import { nextLoad, ZERO_LOAD } from '../../../procfs/loadavg.js';
import { parseCpuinfo } from '../../../procfs/parse/cpuinfo.js';
import { meminfoValue, parseMeminfo } from '../../../procfs/parse/meminfo.js';
import { parseStat } from '../../../procfs/parse/stat.js';
import {
  createViewMemory,
  readViewStats,
  renderView,
  viewsFor,
  type ViewName,
  type ViewSpec,
} from '../../../procfs/views/index.js';
import { expectGolden } from './golden.js';
import { hostFile, NOW_MS, STARTED_AT_MS } from './scenarios.js';

const FIXTURES = fileURLToPath(new URL('../../fixtures/', import.meta.url));
const V1 = `${FIXTURES}cgroup-v1/busy-256M`;
const V2 = `${FIXTURES}cgroup-v2/busy-256M`;
const V1_IO = `${FIXTURES}cgroup-v1/io-8M`;
const V2_IO = `${FIXTURES}cgroup-v2/io-8M`;
const MiB = 1024 * 1024;
const TASKS = { running: 1, blocked: 0, threads: 7, lastPid: 9 };
const LOAD = [1, 1, 1].reduce((l, a) => nextLoad(l, a), ZERO_LOAD);

interface Tree {
  label: string;
  manager: () => Promise<CgroupManager>;
  host: (file: string) => string;
  /** The views this capture covers: all a sandbox on its host binds, minus those with no captured host file. */
  views: (specs: readonly ViewSpec[]) => readonly ViewSpec[];
}

/** A v2 capture's manager: the supervisor's own cgroup is /parent (the leaf goes under it), as in the guest. */
function v2Manager(root: string, id: string): Promise<CgroupManager> {
  return openCgroup({
    id,
    root,
    procSelfCgroup: '0::/parent\n',
    mountinfo: readFileSync(`${root}/proc/self/mountinfo`, 'utf8'),
  });
}

const ALL = (specs: readonly ViewSpec[]) => specs;
const BUSY_TREES: Tree[] = [
  {
    label: 'cgroup-v1-busy-256M',
    manager: () => openCgroup({ id: 'fixture', root: V1 }),
    host: (file) => hostFile(file),
    views: (specs) => specs.filter((v) => v.name !== 'diskstats'), // host-2cpu has no diskstats
  },
  {
    label: 'cgroup-v2-busy-256M',
    manager: () => v2Manager(V2, 'test'),
    host: (file) => readFileSync(`${V2}/proc/${file}`, 'utf8'),
    views: (specs) => specs.filter((v) => v.name !== 'diskstats'), // no diskstats captured (and no disk)
  },
];
const IO_TREES: Tree[] = [
  {
    label: 'cgroup-v1-io-8M',
    manager: () => openCgroup({ id: 'fixture', root: V1_IO }),
    host: (file) => readFileSync(`${V1_IO}/proc/${file}`, 'utf8'),
    views: ALL,
  },
  {
    label: 'cgroup-v2-io-8M',
    manager: () => v2Manager(V2_IO, 'io'),
    host: (file) => readFileSync(`${V2_IO}/proc/${file}`, 'utf8'),
    views: ALL,
  },
];
const TREES = [...BUSY_TREES, ...IO_TREES];

async function renderAll(tree: Tree): Promise<Partial<Record<ViewName, string>>> {
  const cg = await tree.manager();
  const memory = createViewMemory(STARTED_AT_MS);
  const out: Partial<Record<ViewName, string>> = {};
  for (const v of tree.views(viewsFor(cg.mode, true))) {
    const hostText = v.hostPath ? tree.host(v.hostPath.replace('/proc/', '')) : '';
    out[v.name] = renderView(v.name, hostText, readViewStats(cg, v), LOAD, TASKS, memory, NOW_MS);
  }
  return out;
}

/** Full stats of a tree (for the side-by-side checks). */
async function statsOf(tree: Tree): Promise<CgroupStats> {
  return (await tree.manager()).stats();
}

describe.each(TREES)('$label → openCgroup() → readViewStats → views', (tree) => {
  it('matches the golden output of every view', async () => {
    const out = await renderAll(tree);
    const cg = await tree.manager();
    const expected = tree.views(viewsFor(cg.mode, true)).map((v) => v.name);
    expect(Object.keys(out)).toEqual(expected);
    // v1 binds no pressure view; v2 binds all three.
    expect(expected.filter((n) => n.startsWith('pressure-'))).toHaveLength(cg.mode === 'v2' ? 3 : 0);
    for (const name of expected) expectGolden(tree.label, name, out[name] ?? '');
  });

  it('shows a 256 MiB, 1-CPU machine', async () => {
    const out = await renderAll(tree);
    const mem = parseMeminfo(out.meminfo ?? '');
    expect(meminfoValue(mem, 'MemTotal')).toBe(262144);
    expect(meminfoValue(mem, 'MemFree')).toBeLessThan(262144);
    expect(meminfoValue(mem, 'MemAvailable')).toBeLessThanOrEqual(262144);
    expect(meminfoValue(mem, 'SwapTotal')).toBe(0);
    expect(meminfoValue(mem, 'Buffers')).toBe(0);
    expect(parseCpuinfo(out.cpuinfo ?? '').blocks.map((b) => b.processor)).toEqual([0]);
    expect(out['cpu-online']).toBe('0\n');
    expect(parseStat(out.stat ?? '').perCpu.map((c) => c.cpu)).toEqual([0]);
    expect(out.swaps).toBe('Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n');
    expect(out.loadavg).toBe('0.22 0.05 0.02 1/7 9\n');
  });
});

describe('v1 and v2 side by side', () => {
  it('fill the same lines from their own memory.stat', async () => {
    const [v1, v2] = await Promise.all(
      BUSY_TREES.map(async (t) => ({ stats: await statsOf(t), out: await renderAll(t) })),
    );
    const m1 = parseMeminfo(v1?.out.meminfo ?? '');
    const m2 = parseMeminfo(v2?.out.meminfo ?? '');
    // Same lines in the same kernel order where both kernels print them.
    const keys2 = new Set(m2.lines.map((l) => l.key));
    expect(m1.lines.map((l) => l.key).filter((k) => keys2.has(k))).toEqual(
      m2.lines.map((l) => l.key).filter((k) => m1.lines.some((l) => l.key === k)),
    );
    // v1 has no slab keys: 0; v2 serves slab_reclaimable / slab_unreclaimable.
    expect(meminfoValue(m1, 'Slab')).toBe(0);
    const s2 = v2?.stats.memory.stat ?? {};
    expect(meminfoValue(m2, 'SReclaimable')).toBe(Math.floor((s2.slab_reclaimable ?? 0) / 1024));
    expect(meminfoValue(m2, 'Slab')).toBe(
      Math.floor((s2.slab_reclaimable ?? 0) / 1024) + Math.floor((s2.slab_unreclaimable ?? 0) / 1024),
    );
    expect(meminfoValue(m2, 'Slab')).toBeGreaterThan(0);
    // v2's 16 MiB on tmpfs is shmem; its 16 MiB written through the page cache is dirty.
    expect(meminfoValue(m2, 'Dirty')).toBe(16 * 1024);
    expect(meminfoValue(m2, 'Shmem')).toBe(Math.floor((s2.shmem ?? 0) / 1024));
    // Cached is memory.stat "file" on both (v1 total_cache).
    expect(meminfoValue(m1, 'Cached')).toBe(Math.floor((v1?.stats.memory.stat.file ?? 0) / 1024));
    expect(meminfoValue(m2, 'Cached')).toBe(Math.floor((s2.file ?? 0) / 1024));
    // Usage: v1 85782528 B, v2 ≈ 121 MiB.
    expect(meminfoValue(m1, 'MemFree')).toBe(262144 - 83772);
    expect(meminfoValue(m2, 'MemFree')).toBe(262144 - Math.floor((v2?.stats.memory.usageBytes ?? 0) / 1024));
    expect(v2?.stats.memory.usageBytes).toBeGreaterThan(100 * MiB);
  });

  it('start the cpu counters from the cgroup usage on both (v2 without per-CPU figures)', async () => {
    const [v1, v2] = await Promise.all(
      BUSY_TREES.map(async (t) => ({ stats: await statsOf(t), out: await renderAll(t) })),
    );
    expect(v1?.stats.cpu.perCpu).not.toBeNull();
    expect(v2?.stats.cpu.perCpu).toBeNull();
    for (const t of [v1, v2]) {
      const cpu = parseStat(t?.out.stat ?? '').cpu;
      expect(cpu?.user).toBe(Math.floor((t?.stats.cpu.userUs ?? 0) / 10000));
      expect(cpu?.system).toBe(Math.floor((t?.stats.cpu.systemUs ?? 0) / 10000));
    }
  });
});

describe('cgroup-v2-io-8M-parent: v2 cpu.stat spread over 2 visible CPUs', () => {
  // The capture's /parent cgroup, read as if it were the sandbox leaf: no quota (cpu.max "max
  // 100000"), cpuset.cpus.effective "0-1", cpu.stat user_usec 7454891, system_usec 11138666.
  // v2 has no per-CPU figures, so /proc/stat spreads the totals evenly over the 2 visible CPUs.
  const manager = () =>
    new V2Manager(new CgroupFs(V2_IO), '/sys/fs/cgroup', '/sys/fs/cgroup', 'parent', () => undefined);

  it('matches the golden stat and cpu-online, with n = 2 cpuN lines splitting user and system evenly', () => {
    const cg = manager();
    const cpu = cg.cpuStats();
    expect(cpu).toMatchObject({ quotaUs: null, cpus: [0, 1], userUs: 7454891, systemUs: 11138666, perCpu: null });
    const memory = createViewMemory(STARTED_AT_MS);
    const host = readFileSync(`${V2_IO}/proc/stat`, 'utf8');
    const stat = renderView('stat', host, { cpu }, LOAD, TASKS, memory, NOW_MS);
    const online = renderView('cpu-online', '', { cpu }, LOAD, TASKS, memory, NOW_MS);
    expectGolden('cgroup-v2-io-8M-parent', 'stat', stat);
    expectGolden('cgroup-v2-io-8M-parent', 'cpu-online', online);
    expect(online).toBe('0-1\n');
    const parsed = parseStat(stat);
    expect(parsed.perCpu.map((c) => c.cpu)).toEqual([0, 1]);
    // USER_HZ ticks: 745 user, 1113 system in all; each CPU gets half (floored per line).
    expect(parsed.cpu?.user).toBe(745);
    expect(parsed.cpu?.system).toBe(1113);
    for (const c of parsed.perCpu) {
      expect(c.times.user).toBe(Math.floor(7454891 / 2 / 10000));
      expect(c.times.system).toBe(Math.floor(11138666 / 2 / 10000));
    }
  });
});
