// stats() on the captured v1 trees equals the figures in the captured files. Expectations are
// read from the fixture files here with trivial code (fixture-files.ts), not from the code under
// test; the comments give the numbers seen in the capture.
import { describe, expect, it } from 'vitest';
import { openCgroup } from '../../../../supervisor/cgroup/index.js';
import { fixtureText, keyed, v1Leaf, v1Scenario } from './fixture-files.js';

const BUSY = v1Scenario('busy-256M');
const OOM = v1Scenario('oom-64M');

async function statsOf(root: string) {
  const cg = await openCgroup({ id: 'fixture', root });
  return { cg, stats: cg.stats() };
}

/** Sum of a space-separated nanosecond list, in whole µs. */
function nsSumUs(text: string): number {
  return Number(
    text
      .trim()
      .split(/\s+/)
      .reduce((a, f) => a + BigInt(f), 0n) / 1000n,
  );
}

describe('v1 stats from the busy-256M capture', () => {
  const mem = (f: string): string => fixtureText(BUSY, `${v1Leaf(BUSY, 'memory')}/${f}`);

  it('finds the leaves under the own cgroup of each hierarchy', async () => {
    const { cg } = await statsOf(BUSY);
    expect(cg.mode).toBe('v1');
    expect(cg.dirs.map((d) => d.slice(BUSY.length).replace(/^\/+/, '/'))).toEqual([
      '/sys/fs/cgroup/cpuset/sandbox-fixture', // cpuset first: a pid must join it before anything else
      '/sys/fs/cgroup/cpu/sandbox-fixture',
      '/sys/fs/cgroup/cpuacct/sandbox-fixture',
      '/sys/fs/cgroup/memory/process_api/6b1b36b9983751b26abd9fb6be823fdf/sandbox-fixture',
      '/sys/fs/cgroup/pids/sandbox-fixture',
      '/sys/fs/cgroup/freezer/sandbox-fixture',
      '/sys/fs/cgroup/blkio/sandbox-fixture', // an idle leaf captured later (SOURCE.md)
    ]);
    expect(cg.procsFiles.every((f, i) => f === `${cg.dirs[i]}/cgroup.procs`)).toBe(true);
    expect(cg.hierarchies.map((h) => `${h.dirName}:${h.controllers}`)).toEqual([
      'cpuset:cpuset',
      'cpu:cpu',
      'cpuacct:cpuacct',
      'memory:memory',
      'pids:pids',
      'freezer:freezer',
      'blkio:blkio',
    ]);
  });

  it('memory: limit 256M, usage_in_bytes, no swap allowed, stat mapped to v2 names', async () => {
    const { stats } = await statsOf(BUSY);
    expect(stats.memory.limitBytes).toBe(Number(mem('memory.limit_in_bytes'))); // 268435456
    expect(stats.memory.limitBytes).toBe(268435456);
    expect(stats.memory.usageBytes).toBe(Number(mem('memory.usage_in_bytes'))); // 85782528
    expect(stats.memory.swapLimitBytes).toBe(
      Number(mem('memory.memsw.limit_in_bytes')) - Number(mem('memory.limit_in_bytes')),
    ); // 0
    expect(stats.memory.swapUsageBytes).toBe(
      Number(mem('memory.memsw.usage_in_bytes')) - Number(mem('memory.usage_in_bytes')),
    ); // 0
    expect(stats.memory.oomKills).toBe(0);
    const s = mem('memory.stat');
    expect(stats.memory.stat).toEqual({
      file: keyed(s, 'total_cache'), // 29478912: 20 MiB dd output + interpreter files
      anon: keyed(s, 'total_rss'), // 55259136: the 50 MiB holder
      anon_thp: keyed(s, 'total_rss_huge'),
      shmem: keyed(s, 'total_shmem'),
      file_mapped: keyed(s, 'total_mapped_file'),
      file_dirty: keyed(s, 'total_dirty'), // 20971520: dd's unwritten pages
      file_writeback: keyed(s, 'total_writeback'),
      swapcached: keyed(s, 'total_swapcached'),
      active_anon: keyed(s, 'total_active_anon'),
      inactive_anon: keyed(s, 'total_inactive_anon'),
      active_file: keyed(s, 'total_active_file'),
      inactive_file: keyed(s, 'total_inactive_file'),
      unevictable: keyed(s, 'total_unevictable'),
      pgfault: keyed(s, 'total_pgfault'),
      pgmajfault: keyed(s, 'total_pgmajfault'),
      workingset_refault_anon: keyed(s, 'total_workingset_refault_anon'),
      workingset_refault_file: keyed(s, 'total_workingset_refault_file'),
    });
    expect(stats.memory.stat.anon).toBe(55259136);
    expect(stats.memory.stat.file_mapped).toBe(3276800);
    expect(stats.memory.stat).not.toHaveProperty('slab_reclaimable'); // v1 has no slab keys
  });

  it('cpu: quota 20000/100000, cpuset, cpuacct per-CPU split and throttling', async () => {
    const { stats } = await statsOf(BUSY);
    const cpu = (f: string): string => fixtureText(BUSY, `${v1Leaf(BUSY, 'cpu')}/${f}`);
    const acct = (f: string): string => fixtureText(BUSY, `${v1Leaf(BUSY, 'cpuacct')}/${f}`);
    expect(stats.cpu.quotaUs).toBe(Number(cpu('cpu.cfs_quota_us'))); // 20000
    expect(stats.cpu.periodUs).toBe(Number(cpu('cpu.cfs_period_us'))); // 100000
    expect(stats.cpu.cpus).toEqual([Number(fixtureText(BUSY, `${v1Leaf(BUSY, 'cpuset')}/cpuset.cpus`))]); // [1]
    // The exact total (cpuacct.usage_percpu "0 642599846") split in the ratio of the tick-sampled
    // user and sys ("0 603934958", "0 56000000", which add up to 659.9 ms: 2.7% too much).
    expect(stats.cpu.userUs + stats.cpu.systemUs).toBe(nsSumUs(acct('cpuacct.usage_percpu'))); // 642599
    expect(nsSumUs(acct('cpuacct.usage_percpu'))).toBe(Math.floor(Number(acct('cpuacct.usage')) / 1000));
    expect(stats.cpu.userUs).toBe(588070); // 642599846 × 603934958 / 659934958 ns
    expect(stats.cpu.systemUs).toBe(54529); // the rest: 642599 − 588070
    expect(stats.cpu.perCpu).toEqual([
      { cpu: 0, userUs: 0, systemUs: 0 },
      { cpu: 1, userUs: 588070, systemUs: 54529 }, // all on CPU 1, the cpuset
    ]);
    const st = cpu('cpu.stat');
    expect(stats.cpu.nrPeriods).toBe(keyed(st, 'nr_periods')); // 35
    expect(stats.cpu.nrThrottled).toBe(keyed(st, 'nr_throttled')); // 32
    expect(stats.cpu.throttledUs).toBe(Math.floor(keyed(st, 'throttled_time') / 1000)); // 2455954 (ns -> µs)
  });

  it('pids: current and max', async () => {
    const { stats } = await statsOf(BUSY);
    const pids = (f: string): string => fixtureText(BUSY, `${v1Leaf(BUSY, 'pids')}/${f}`);
    expect(stats.pids).toEqual({ current: Number(pids('pids.current')), max: Number(pids('pids.max')) }); // 1, 4096
  });

  it('pids() and threads() list the captured holder process', async () => {
    const { cg } = await statsOf(BUSY);
    const holder = Number(fixtureText(BUSY, `${v1Leaf(BUSY, 'memory')}/cgroup.procs`));
    expect(cg.pids()).toEqual([holder]);
    expect(cg.threads()).toEqual([Number(fixtureText(BUSY, `${v1Leaf(BUSY, 'pids')}/tasks`))]);
  });
});

describe('v1 stats from the oom-64M capture', () => {
  it('counts the OOM kill and shows the 64M limit', async () => {
    const { stats } = await statsOf(OOM);
    const oom = fixtureText(OOM, `${v1Leaf(OOM, 'memory')}/memory.oom_control`);
    expect(stats.memory.oomKills).toBe(keyed(oom, 'oom_kill')); // 1
    expect(stats.memory.oomKills).toBe(1);
    expect(stats.memory.limitBytes).toBe(64 * 1024 * 1024);
    expect(stats.memory.usageBytes).toBe(Number(fixtureText(OOM, `${v1Leaf(OOM, 'memory')}/memory.usage_in_bytes`)));
    expect(await (await openCgroup({ id: 'fixture', root: OOM })).pids()).toEqual([]);
  });
});

describe('unlimited sentinel', () => {
  it('the own cgroup (no limit, 9223372036854771712) reads as null', async () => {
    // A manager whose leaf is the own memory cgroup's parent chain: open "sandbox-fixture" in a root
    // where the leaf's own limit files say unlimited -> the min over ancestors is unlimited too.
    const own = fixtureText(BUSY, `${v1Leaf(BUSY, 'memory').replace(/\/sandbox-fixture$/, '')}/memory.limit_in_bytes`);
    expect(own.trim()).toBe('9223372036854771712');
    const { v1Limit } = await import('../../../../supervisor/cgroup/v1/memory.js');
    expect(v1Limit(Number(own))).toBeNull();
    expect(v1Limit(268435456)).toBe(268435456);
  });
});
