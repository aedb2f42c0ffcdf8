// openCgroup({ dirs }): a manager placed at the directories a supervisor recorded in its state,
// not under the caller's own cgroup (ps, exec and update may run from another cgroup).
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openCgroup } from '../../../../supervisor/cgroup/index.js';
import { V2_MOUNTINFO, V2_OWN_CGROUP, v1Leaf, v1Scenario, v2Scenario } from './fixture-files.js';

const BUSY_V1 = v1Scenario('busy-256M');
const BUSY_V2 = v2Scenario('busy-256M');

describe('openCgroup with recorded dirs', () => {
  it('v1: each hierarchy is re-rooted at the parent of its recorded leaf; stats read there', async () => {
    const own = await openCgroup({ id: 'fixture', root: BUSY_V1 });
    // The recorded dirs of the captured sandbox, as a supervisor in its own cgroup recorded them.
    const recorded = [...own.dirs];
    const elsewhere = await openCgroup({
      id: 'fixture',
      root: BUSY_V1,
      procSelfCgroup: '4:memory:/\n3:cpuset:/\n2:cpuacct:/\n1:cpu:/\n8:pids:/\n7:blkio:/\n6:freezer:/\n',
      dirs: recorded,
    });
    expect(elsewhere.dirs).toEqual(recorded);
    expect(elsewhere.memoryStats().usageBytes).toBe(own.memoryStats().usageBytes);
    expect(elsewhere.dirs.some((d) => d === join(BUSY_V1, v1Leaf(BUSY_V1, 'memory')))).toBe(true);
  });

  it('v1: a used hierarchy without a recorded leaf is an error naming it', async () => {
    const own = await openCgroup({ id: 'fixture', root: BUSY_V1 });
    const withoutMemory = own.dirs.filter((d) => !d.includes('/memory/'));
    await expect(openCgroup({ id: 'fixture', root: BUSY_V1, dirs: withoutMemory })).rejects.toThrow(
      /no recorded sandbox-fixture directory under \/sys\/fs\/cgroup\/memory/,
    );
  });

  it("v2: the leaf is where it was recorded, whatever the caller's own cgroup", async () => {
    const cg = await openCgroup({
      id: 'test',
      root: BUSY_V2,
      procSelfCgroup: '0::/elsewhere\n',
      mountinfo: V2_MOUNTINFO,
      dirs: [join(BUSY_V2, '/sys/fs/cgroup/parent/sandbox-test')],
    });
    expect(cg.dirs).toEqual([join(BUSY_V2, '/sys/fs/cgroup/parent/sandbox-test')]);
    const same = await openCgroup({
      id: 'test',
      root: BUSY_V2,
      procSelfCgroup: V2_OWN_CGROUP,
      mountinfo: V2_MOUNTINFO,
    });
    expect(cg.memoryStats().limitBytes).toBe(same.memoryStats().limitBytes);
  });
});
