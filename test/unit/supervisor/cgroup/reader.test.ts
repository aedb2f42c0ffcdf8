// openCgroupReader, the one read-only open of a cgroup (the views' workers, the daemon's foreign
// containers), reads on the captured trees exactly what the manager of the same cgroup reads.
import { readFileSync } from 'node:fs';
import { join, posix } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  detectLayout,
  openCgroup,
  openCgroupReader,
  type CgroupLayout,
  type CgroupReader,
} from '../../../../supervisor/cgroup/index.js';
import { V2_MOUNTINFO, V2_OWN_CGROUP, v1Scenario, v2Scenario } from './fixture-files.js';

const V1 = v1Scenario('busy-256M');
const V2 = v2Scenario('busy-256M');

/** Every figure a reader gives, the pressure files where the cgroup has them. */
function figures(cg: CgroupReader) {
  const pressure = cg.mode === 'v2' ? (['cpu', 'memory', 'io'] as const).map((r) => cg.pressureStats(r)) : null;
  return {
    dirs: cg.dirs,
    stats: cg.stats(),
    io: cg.ioStats(),
    pressure,
    keys: [cg.limitsKey('memory'), cg.limitsKey('cpu')],
    pids: cg.pids(),
    threads: cg.threads(),
  };
}

/** The v1 layout a process inside the leaf `name` under the fixture's own cgroups would have. */
function v1LeafLayout(root: string, name: (controllers: string[]) => string): CgroupLayout {
  const read = (p: string): string => readFileSync(join(root, p), 'utf8');
  const own = detectLayout(read('/proc/self/cgroup'), read('/proc/self/mountinfo'));
  if (own.mode !== 'v1') throw new Error('expected a v1 fixture');
  return {
    mode: 'v1',
    hierarchies: own.hierarchies.map((h) => ({ ...h, ownDir: posix.join(h.ownDir, name(h.controllers)) })),
  };
}

describe('openCgroupReader', () => {
  it('reads a v1 cgroup as its manager does', async () => {
    const manager = await openCgroup({ id: 'fixture', root: V1 });
    const reader = openCgroupReader(
      v1LeafLayout(V1, () => 'sandbox-fixture'),
      V1,
    );
    expect(reader.mode).toBe('v1');
    expect(figures(reader)).toEqual(figures(manager));
  });

  it('reads a v2 cgroup as its manager does, pressure included', async () => {
    const manager = await openCgroup({ id: 'test', root: V2, procSelfCgroup: V2_OWN_CGROUP, mountinfo: V2_MOUNTINFO });
    const reader = openCgroupReader(
      { mode: 'v2', mountpoint: '/sys/fs/cgroup', ownDir: '/sys/fs/cgroup/parent/sandbox-test' },
      V2,
    );
    expect(reader.mode).toBe('v2');
    expect(figures(reader)).toEqual(figures(manager));
  });

  it('refuses v1 leaves of different names: the manager addresses one name in every hierarchy', () => {
    const layout = v1LeafLayout(V1, (controllers) => (controllers.includes('memory') ? 'other' : 'sandbox-fixture'));
    expect(() => openCgroupReader(layout, V1)).toThrow(
      /cgroup leaves have different names \(sandbox-fixture, other\)|\(other, sandbox-fixture\)/,
    );
  });
});
