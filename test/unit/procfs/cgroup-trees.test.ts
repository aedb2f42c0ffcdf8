// End to end on real captured cgroup trees, v1 and v2 side by side: fixture tree → openCgroup(...)
// .stats() → renderView. The v1 tree (test/fixtures/cgroup-v1/busy-256M, this machine) has no /proc
// files of its own, so it pairs with this machine's captures (test/fixtures/proc/host-2cpu, same
// day); the v2 tree (test/fixtures/cgroup-v2/busy-256M, a 6.1 guest) carries the guest's own /proc.
// Both sandboxes are 20% of CPU 1 with 256 MiB and no swap.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { openCgroup } from '../../../supervisor/cgroup/index.js';
import type { CgroupStats } from '../../../supervisor/cgroup/types.js';
import { nextLoad, ZERO_LOAD } from '../../../procfs/loadavg.js';
import { parseCpuinfo } from '../../../procfs/parse/cpuinfo.js';
import { meminfoValue, parseMeminfo } from '../../../procfs/parse/meminfo.js';
import { parseStat } from '../../../procfs/parse/stat.js';
import { createViewMemory, renderView, VIEWS, type ViewName } from '../../../procfs/views/index.js';
import { expectGolden } from './golden.js';
import { hostFile, NOW_MS, STARTED_AT_MS } from './scenarios.js';

const FIXTURES = fileURLToPath(new URL('../../fixtures/', import.meta.url));
const V1 = `${FIXTURES}cgroup-v1/busy-256M`;
const V2 = `${FIXTURES}cgroup-v2/busy-256M`;
const MiB = 1024 * 1024;
const TASKS = { running: 1, blocked: 0, threads: 7, lastPid: 9 };
const LOAD = [1, 1, 1].reduce((l, a) => nextLoad(l, a), ZERO_LOAD);

interface Tree {
  label: string;
  stats: () => Promise<CgroupStats>;
  host: (file: string) => string;
}

const TREES: Tree[] = [
  {
    label: 'cgroup-v1-busy-256M',
    stats: async () => (await openCgroup({ id: 'fixture', root: V1 })).stats(),
    host: (file) => hostFile(file),
  },
  {
    label: 'cgroup-v2-busy-256M',
    // The supervisor's own cgroup is /parent (the leaf goes under it), as in the capture.
    stats: async () =>
      (await openCgroup({ id: 'test', root: V2, procSelfCgroup: '0::/parent\n', mountinfo: readFileSync(`${V2}/proc/self/mountinfo`, 'utf8') })).stats(),
    host: (file) => readFileSync(`${V2}/proc/${file}`, 'utf8'),
  },
];

async function renderAll(tree: Tree): Promise<Record<ViewName, string>> {
  const stats = await tree.stats();
  const memory = createViewMemory(STARTED_AT_MS);
  const out = {} as Record<ViewName, string>;
  for (const v of VIEWS) {
    const hostText = v.hostPath ? tree.host(v.hostPath.replace('/proc/', '')) : '';
    out[v.name] = renderView(v.name, hostText, stats, LOAD, TASKS, memory, NOW_MS);
  }
  return out;
}

describe.each(TREES)('$label → openCgroup().stats() → views', (tree) => {
  it('matches the golden output of every view', async () => {
    const out = await renderAll(tree);
    for (const v of VIEWS) expectGolden(tree.label, v.name, out[v.name]);
  });

  it('shows a 256 MiB, 1-CPU machine', async () => {
    const out = await renderAll(tree);
    const mem = parseMeminfo(out.meminfo);
    expect(meminfoValue(mem, 'MemTotal')).toBe(262144);
    expect(meminfoValue(mem, 'MemFree')).toBeLessThan(262144);
    expect(meminfoValue(mem, 'MemAvailable')).toBeLessThanOrEqual(262144);
    expect(meminfoValue(mem, 'SwapTotal')).toBe(0);
    expect(meminfoValue(mem, 'Buffers')).toBe(0);
    expect(parseCpuinfo(out.cpuinfo).blocks.map((b) => b.processor)).toEqual([0]);
    expect(out['cpu-online']).toBe('0\n');
    expect(parseStat(out.stat).perCpu.map((c) => c.cpu)).toEqual([0]);
    expect(out.swaps).toBe('Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n');
    expect(out.loadavg).toBe('0.22 0.05 0.02 1/7 9\n');
  });
});

describe('v1 and v2 side by side', () => {
  it('fill the same lines from their own memory.stat', async () => {
    const [v1, v2] = await Promise.all(TREES.map(async (t) => ({ stats: await t.stats(), out: await renderAll(t) })));
    const m1 = parseMeminfo(v1?.out.meminfo ?? '');
    const m2 = parseMeminfo(v2?.out.meminfo ?? '');
    // Same lines in the same kernel order where both kernels print them.
    const keys2 = new Set(m2.lines.map((l) => l.key));
    expect(m1.lines.map((l) => l.key).filter((k) => keys2.has(k))).toEqual(m2.lines.map((l) => l.key).filter((k) => m1.lines.some((l) => l.key === k)));
    // v1 has no slab keys: 0; v2 serves slab_reclaimable / slab_unreclaimable.
    expect(meminfoValue(m1, 'Slab')).toBe(0);
    const s2 = v2?.stats.memory.stat ?? {};
    expect(meminfoValue(m2, 'SReclaimable')).toBe(Math.floor((s2.slab_reclaimable ?? 0) / 1024));
    expect(meminfoValue(m2, 'Slab')).toBe(Math.floor((s2.slab_reclaimable ?? 0) / 1024) + Math.floor((s2.slab_unreclaimable ?? 0) / 1024));
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
    const [v1, v2] = await Promise.all(TREES.map(async (t) => ({ stats: await t.stats(), out: await renderAll(t) })));
    expect(v1?.stats.cpu.perCpu).not.toBeNull();
    expect(v2?.stats.cpu.perCpu).toBeNull();
    for (const t of [v1, v2]) {
      const cpu = parseStat(t?.out.stat ?? '').cpu;
      expect(cpu?.user).toBe(Math.floor((t?.stats.cpu.userUs ?? 0) / 10000));
      expect(cpu?.system).toBe(Math.floor((t?.stats.cpu.systemUs ?? 0) / 10000));
    }
  });
});
