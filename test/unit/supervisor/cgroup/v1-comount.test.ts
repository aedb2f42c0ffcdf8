// A co-mounted "cpu,cpuacct" hierarchy (the usual systemd layout; separate on this machine): built
// from the busy-256M capture by merging its cpu and cpuacct trees into one directory, with
// /proc/self/cgroup and mountinfo edited to match. One leaf serves both controllers.
import { cp, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openCgroup } from '../../../../supervisor/cgroup/index.js';
import { v1Scenario } from './fixture-files.js';
import { copyFixture, removeCopy } from './kernfs.js';

let root: string;
let procSelfCgroup: string;
let mountinfo: string;

beforeEach(async () => {
  root = await copyFixture(v1Scenario('busy-256M'));
  const merged = join(root, 'sys/fs/cgroup/cpu,cpuacct');
  await cp(join(root, 'sys/fs/cgroup/cpu'), merged, { recursive: true });
  await cp(join(root, 'sys/fs/cgroup/cpuacct'), merged, { recursive: true });
  procSelfCgroup = (await readFile(join(root, 'proc/self/cgroup'), 'utf8'))
    .replace(/^2:cpuacct:\/\n/m, '')
    .replace(/^1:cpu:\//m, '1:cpu,cpuacct:/');
  mountinfo = (await readFile(join(root, 'proc/self/mountinfo'), 'utf8'))
    .replace(/^.* \/sys\/fs\/cgroup\/cpuacct .*\n/m, '')
    .replace(/^(.*) \/sys\/fs\/cgroup\/cpu (.*) rw,cpu$/m, '$1 /sys/fs/cgroup/cpu,cpuacct $2 rw,cpu,cpuacct');
});
afterEach(async () => {
  await removeCopy(root);
});

describe('v1 with cpu,cpuacct co-mounted', () => {
  it('uses one directory for both and reads quota and usage from it', async () => {
    expect(procSelfCgroup).toContain('1:cpu,cpuacct:/\n');
    expect(mountinfo).toContain(' /sys/fs/cgroup/cpu,cpuacct rw,relatime - cgroup cgroup rw,cpu,cpuacct\n');
    const cg = await openCgroup({ id: 'fixture', root, procSelfCgroup, mountinfo });
    expect(cg.hierarchies).toContainEqual({ dirName: 'cpu,cpuacct', controllers: 'cpu,cpuacct' });
    expect(cg.dirs).toHaveLength(6); // cpuset, cpu+cpuacct, memory, pids, freezer, blkio
    expect(cg.dirs).toContain(join(root, 'sys/fs/cgroup/cpu,cpuacct/sandbox-fixture'));
    const s = cg.stats();
    expect(s.cpu.quotaUs).toBe(20000);
    expect(s.cpu.userUs).toBe(588070); // exact 642599846 ns × sampled user share 603934958 / 659934958
    expect(s.cpu.nrThrottled).toBe(32);
  });
});
