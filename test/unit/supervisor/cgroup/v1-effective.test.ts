// Effective limits = the minimum over the cgroup and its ancestors (VIEWS.md). Variants of the
// busy-256M capture, copied into a temp dir, with an ancestor's limit lowered.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openCgroup } from '../../../../supervisor/cgroup/index.js';
import { ownPath, v1Scenario } from './fixture-files.js';
import { copyFixture, removeCopy } from './kernfs.js';

const MiB = 1024 * 1024;
const OWN_MEMORY = `/sys/fs/cgroup/memory${ownPath(v1Scenario('busy-256M'), 'memory')}`;
let root: string;

beforeEach(async () => {
  root = await copyFixture(v1Scenario('busy-256M'));
});
afterEach(async () => {
  await removeCopy(root);
});

const put = (path: string, value: string): void => writeFileSync(join(root, path), `${value}\n`);
const stats = async () => (await openCgroup({ id: 'fixture', root })).stats();

describe('v1 effective limits', () => {
  it('as captured: the leaf binds (256M, 20000/100000); ancestors are unlimited', async () => {
    const s = await stats();
    expect(s.memory.limitBytes).toBe(256 * MiB);
    expect(s.cpu.quotaUs).toBe(20000);
  });

  it("a grandparent's lower memory limit wins over the leaf's (the captured hierarchical_memory_limit still says 256M)", async () => {
    put('/sys/fs/cgroup/memory/process_api/memory.limit_in_bytes', String(128 * MiB));
    const s = await stats();
    expect(s.memory.limitBytes).toBe(128 * MiB);
    // memsw: min(256M leaf, unlimited above) = 256M -> room for 128M of swap beyond the 128M memory.
    expect(s.memory.swapLimitBytes).toBe(128 * MiB);
  });

  it("the own cgroup's limit counts too, and a higher ancestor limit changes nothing", async () => {
    put(`${OWN_MEMORY}/memory.limit_in_bytes`, String(200 * MiB));
    put('/sys/fs/cgroup/memory/memory.limit_in_bytes', String(1024 * MiB));
    expect((await stats()).memory.limitBytes).toBe(200 * MiB);
  });

  it('hierarchical_memory_limit (kernel-computed, sees ancestors beyond the mount) is honoured', async () => {
    const stat = join(OWN_MEMORY, 'sandbox-fixture/memory.stat');
    const { readFileSync } = await import('node:fs');
    const text = readFileSync(join(root, stat), 'utf8').replace(
      /^hierarchical_memory_limit \d+$/m,
      `hierarchical_memory_limit ${96 * MiB}`,
    );
    writeFileSync(join(root, stat), text);
    expect((await stats()).memory.limitBytes).toBe(96 * MiB);
  });

  it("the tightest CPU quota/period ratio over the ancestors wins, reported with that cgroup's period", async () => {
    // The leaf's parent in the cpu hierarchy is the root here; give it 5% (50000 per 1 s).
    put('/sys/fs/cgroup/cpu/cpu.cfs_period_us', '1000000');
    put('/sys/fs/cgroup/cpu/cpu.cfs_quota_us', '50000');
    const s = await stats();
    expect(s.cpu.quotaUs).toBe(50000);
    expect(s.cpu.periodUs).toBe(1000000);
  });

  it('a looser ancestor quota leaves the leaf quota in force', async () => {
    put('/sys/fs/cgroup/cpu/cpu.cfs_quota_us', '150000');
    const s = await stats();
    expect(s.cpu.quotaUs).toBe(20000);
    expect(s.cpu.periodUs).toBe(100000);
  });
});
