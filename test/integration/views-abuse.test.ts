// The FUSE server under abuse, mounted for real: many concurrent readers at random offsets and
// sizes, readers that never close, and a sandbox whose real cgroup is removed while a file of it
// is half read. Nothing may hang, crash or return an error (EIO): a view that can't be computed
// any more serves the host file. Reads here are asynchronous: this process serves the mount.
import { existsSync } from 'node:fs';
import { mkdir, open, readFile, rm, type FileHandle } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { ViewServer, type SandboxViewSpec } from '../../procfs/fs.js';
import { cgroupViewSpec } from '../../procfs/view-source.js';
import { VIEWS } from '../../procfs/views/index.js';
import { openCgroup } from '../../supervisor/cgroup/index.js';
import type { CgroupManager } from '../../supervisor/cgroup/types.js';
import { leftovers, sandboxUnavailable } from '../helpers/sandbox.js';
import { requireOrSkip } from '../helpers/skip.js';

const skip = requireOrSkip(sandboxUnavailable());
const dir = `/run/sandbox/test-abuse-${process.pid}`;
const mountpoint = `${dir}/views`;

/** A view spec of a real cgroup, as supervisor/run/views.ts builds it. */
function sourceOf(cgroup: CgroupManager): SandboxViewSpec {
  return cgroupViewSpec(cgroup, Date.now());
}

/** Read `size` bytes at `offset` of an open file. */
async function pread(fh: FileHandle, offset: number, size: number): Promise<Buffer> {
  const buf = Buffer.alloc(size);
  const { bytesRead } = await fh.read(buf, 0, size, offset);
  return buf.subarray(0, bytesRead);
}

describe.skipIf(skip)('ViewServer under abuse (real FUSE mount, real cgroups)', () => {
  const server = new ViewServer(mountpoint);
  const cgroups: CgroupManager[] = [];

  beforeAll(async () => {
    await mkdir(mountpoint, { recursive: true });
    await server.mount();
    for (const id of ['abuse-a', 'abuse-b']) {
      const cgroup = await openCgroup({ id: `${id}-${process.pid}` });
      await cgroup.create();
      await cgroup.apply({
        cpuQuotaUs: 50_000,
        cpuPeriodUs: 100_000,
        cpuBurstUs: null,
        cpuWeight: null,
        cpusetCpus: [0],
        memoryBytes: 128 * 1024 * 1024,
        swapBytes: 0,
        pidsMax: 64,
      });
      cgroups.push(cgroup);
      server.register(id, sourceOf(cgroup));
    }
  });

  afterAll(async () => {
    await server.unmount();
    for (const cgroup of cgroups) await cgroup.destroy();
    await rm(dir, { recursive: true, force: true });
    expect(leftovers()).toEqual([]);
  });

  it('16 concurrent readers at random offsets and sizes each get one consistent text per read from 0', async () => {
    let seed = 42;
    const random = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    const reader = async (): Promise<number> => {
      let checked = 0;
      for (let i = 0; i < 25; i++) {
        const view = VIEWS[random(VIEWS.length)]!;
        const fh = await open(`${mountpoint}/${random(2) === 0 ? 'abuse-a' : 'abuse-b'}/${view.name}`, 'r');
        try {
          const whole = await pread(fh, 0, 65536);
          // Every view has text but diskstats, which is empty until the sandbox does I/O (as the kernel's is with no disks).
          if (view.name !== 'diskstats') expect(whole.length).toBeGreaterThan(0);
          for (let k = 0; k < 6; k++) {
            const offset = 1 + random(whole.length + 20);
            const size = 1 + random(300);
            expect(await pread(fh, offset, size)).toEqual(whole.subarray(offset, offset + size));
            checked++;
          }
        } finally {
          await fh.close();
        }
      }
      return checked;
    };
    const counts = await Promise.all(Array.from({ length: 16 }, reader));
    expect(counts.reduce((a, b) => a + b, 0)).toBe(16 * 25 * 6);
  });

  it('readers that never close do not stop the others', async () => {
    const held = await Promise.all(Array.from({ length: 200 }, () => open(`${mountpoint}/abuse-a/meminfo`, 'r')));
    try {
      await pread(held[0]!, 0, 10); // half read, then left open
      const meminfo = await readFile(`${mountpoint}/abuse-b/meminfo`, 'utf8');
      expect(meminfo).toMatch(/^MemTotal:\s+131072 kB$/m);
    } finally {
      await Promise.all(held.map((fh) => fh.close()));
    }
  });

  it('a cgroup removed mid-read: the open file continues its text, later opens get the host file, never an error', async () => {
    const warn = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    const [, victim] = cgroups;
    try {
      const fh = await open(`${mountpoint}/abuse-b/meminfo`, 'r');
      const head = await pread(fh, 0, 65536);
      expect(head.toString()).toMatch(/^MemTotal:\s+131072 kB$/m);
      await victim!.destroy();
      expect(victim!.dirs.some((d) => existsSync(d))).toBe(false);
      expect(await pread(fh, 5, 100)).toEqual(head.subarray(5, 105));
      // A re-read from 0 of the same open and a new open both render again: the host file now.
      const again = (await pread(fh, 0, 65536)).toString();
      await fh.close();
      const host = await readFile('/proc/meminfo', 'utf8');
      const total = (t: string) => /^MemTotal:.*$/m.exec(t)?.[0];
      expect(total(again)).toBe(total(host));
      for (const view of VIEWS)
        expect((await readFile(`${mountpoint}/abuse-b/${view.name}`)).length).toBeGreaterThan(0);
      const warnings = warn.mock.calls.map((c) => String(c[0])).filter((l) => l.includes('abuse-b'));
      expect(new Set(warnings).size).toBe(warnings.length); // once per sandbox and file
      expect(warnings.length).toBeGreaterThan(0);
    } finally {
      warn.mockRestore();
    }
  });
});
