// stats() on the captured pure-v2 trees (test/fixtures/cgroup-v2, Linux 6.1 guest) equals the
// figures in the captured files, read here independently; comments give the captured numbers.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openCgroup } from '../../../../supervisor/cgroup/index.js';
import { allKeyed, fixtureText, keyed, V2_MOUNTINFO, V2_OWN_CGROUP, v2Scenario } from './fixture-files.js';
import { copyFixture, removeCopy } from './kernfs.js';

const BUSY = v2Scenario('busy-256M');
const OOM = v2Scenario('oom-64M');
const LEAF = '/sys/fs/cgroup/parent/sandbox-test';
const MiB = 1024 * 1024;

const open = (root: string, id: string) =>
  openCgroup({ id, root, procSelfCgroup: V2_OWN_CGROUP, mountinfo: V2_MOUNTINFO });

describe('v2 stats from the busy-256M capture', () => {
  const leaf = (f: string): string => fixtureText(BUSY, `${LEAF}/${f}`);

  it('detects v2 and places the leaf under the own cgroup', async () => {
    const cg = await open(BUSY, 'test');
    expect(cg.mode).toBe('v2');
    expect(cg.dirs).toEqual([join(BUSY, LEAF)]);
    expect(cg.procsFiles).toEqual([join(BUSY, LEAF, 'cgroup.procs')]);
    expect(cg.hierarchies).toEqual([]);
  });

  it('memory: min(leaf 256M, parent 512M), current, swap.max 0, memory.stat as is, memory.events', async () => {
    const s = (await (await open(BUSY, 'test')).stats()).memory;
    expect(Number(fixtureText(BUSY, '/sys/fs/cgroup/parent/memory.max'))).toBe(512 * MiB);
    expect(s.limitBytes).toBe(Number(leaf('memory.max'))); // 268435456
    expect(s.usageBytes).toBe(Number(leaf('memory.current'))); // 126586880
    expect(s.swapLimitBytes).toBe(Number(leaf('memory.swap.max'))); // 0
    expect(s.swapUsageBytes).toBe(Number(leaf('memory.swap.current'))); // 0
    expect(s.oomKills).toBe(keyed(leaf('memory.events'), 'oom_kill')); // 0
    expect(s.stat).toEqual(allKeyed(leaf('memory.stat'))); // all 51 keys of 6.1
    expect(Object.keys(s.stat)).toHaveLength(51);
    expect(s.stat.file_dirty).toBe(16777216); // the 16 MiB written to the cache=loose 9p mount
    expect(s.stat.file_mapped).not.toBe(s.stat.file); // exact keys
  });

  it('cpu: cpu.max 20000/100000, cpuset.cpus.effective, cpu.stat', async () => {
    const c = (await (await open(BUSY, 'test')).stats()).cpu;
    const st = leaf('cpu.stat');
    expect(leaf('cpu.max').trim()).toBe('20000 100000');
    expect(c.quotaUs).toBe(20000);
    expect(c.periodUs).toBe(100000);
    expect(c.cpus).toEqual([Number(leaf('cpuset.cpus.effective'))]); // [1]
    expect(c.userUs).toBe(keyed(st, 'user_usec')); // 1470338
    expect(c.systemUs).toBe(keyed(st, 'system_usec')); // 2205507
    expect(c.perCpu).toBeNull();
    expect(c.nrPeriods).toBe(keyed(st, 'nr_periods')); // 193
    expect(c.nrThrottled).toBe(keyed(st, 'nr_throttled')); // 182
    expect(c.throttledUs).toBe(keyed(st, 'throttled_usec')); // 14056843
  });

  it('pids, processes and threads', async () => {
    const cg = await open(BUSY, 'test');
    expect(cg.stats().pids).toEqual({ current: Number(leaf('pids.current')), max: Number(leaf('pids.max')) }); // 7, 4096
    expect(cg.pids()).toEqual([Number(leaf('cgroup.procs'))]); // [170]
    expect(cg.threads()).toEqual(leaf('cgroup.threads').trim().split('\n').map(Number)); // node's 7 threads
  });
});

describe('v2 stats from the oom-64M capture', () => {
  it('counts the OOM kill; the cgroup is empty', async () => {
    const cg = await open(OOM, 'oom');
    const s = cg.stats();
    const ev = fixtureText(OOM, '/sys/fs/cgroup/parent/sandbox-oom/memory.events');
    expect(s.memory.oomKills).toBe(keyed(ev, 'oom_kill')); // 1
    expect(s.memory.oomKills).toBe(1);
    expect(s.memory.limitBytes).toBe(64 * MiB);
    expect(s.memory.usageBytes).toBe(4096);
    expect(s.cpu.quotaUs).toBeNull(); // cpu.max "max 100000" there and in the parent
    expect(cg.pids()).toEqual([]);
  });
});

describe('v2 effective limits (temp copies with an ancestor changed)', () => {
  let root: string;
  beforeEach(async () => {
    root = await copyFixture(BUSY);
  });
  afterEach(async () => {
    await removeCopy(root);
  });
  const put = (path: string, value: string): void => writeFileSync(join(root, path), `${value}\n`);

  it("a parent's lower memory.max and memory.swap.max win", async () => {
    put('/sys/fs/cgroup/parent/memory.max', String(128 * MiB));
    put(`${LEAF}/memory.swap.max`, 'max');
    put('/sys/fs/cgroup/parent/memory.swap.max', String(32 * MiB));
    const s = (await (await open(root, 'test')).stats()).memory;
    expect(s.limitBytes).toBe(128 * MiB);
    expect(s.swapLimitBytes).toBe(32 * MiB);
  });

  it("a parent's tighter cpu.max wins with its own period", async () => {
    put('/sys/fs/cgroup/parent/cpu.max', '50000 1000000');
    const c = (await (await open(root, 'test')).stats()).cpu;
    expect(c).toMatchObject({ quotaUs: 50000, periodUs: 1000000 });
  });

  it('no limit anywhere reads as null', async () => {
    put(`${LEAF}/memory.max`, 'max');
    put('/sys/fs/cgroup/parent/memory.max', 'max');
    put(`${LEAF}/cpu.max`, 'max 100000');
    const s = await (await open(root, 'test')).stats();
    expect(s.memory.limitBytes).toBeNull();
    expect(s.cpu.quotaUs).toBeNull();
    expect(s.cpu.periodUs).toBe(100000);
  });
});
