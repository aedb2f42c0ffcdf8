// The view work one sandbox can cause is bounded by that sandbox (issue 20), shown by counting:
// task scans do not follow the reads (readers hammering /proc/loadavg of a sandbox of 3000 threads
// get counts from a sampler that waits 20 times a scan's duration before the next), and a sandbox
// holds at most maxOpenFilesPerSandbox view files open (the open past it gets EMFILE; another
// sandbox's opens are untouched). On a real FUSE mount, served by worker threads and by the main
// thread; stats from a captured v1 tree (its task lists rewritten to name 3000 threads).
// Reads here are asynchronous: this process serves the mount.
import { cp, mkdir, open, readFile, readdir, rm, writeFile, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ViewServer, type SandboxViewSpec, type ViewServerOptions } from '../../procfs/fs.js';
import { cgroupViewSpec } from '../../procfs/view-source.js';
import { TASK_SCAN_SPACING } from '../../procfs/view-shared.js';
import { openCgroup } from '../../supervisor/cgroup/index.js';
import { fuseUnavailable } from '../helpers/sandbox.js';
import { requireOrSkip } from '../helpers/skip.js';
import { waitFor } from '../helpers/wait.js';

const skip = requireOrSkip(fuseUnavailable());
const TREE = fileURLToPath(new URL('../fixtures/cgroup-v1/busy-256M', import.meta.url));
const CAP = 16;

const MODES: Array<{ mode: string; options: ViewServerOptions }> = [
  { mode: 'worker threads', options: { maxOpenFilesPerSandbox: CAP } },
  {
    mode: 'the main thread (lazyWorkers)',
    options: { maxOpenFilesPerSandbox: CAP, lazyWorkers: true, workersAfterRequests: 1e9 },
  },
];

describe.skipIf(skip).each(MODES)('view work bounded per sandbox, served by $mode', ({ options }) => {
  const dir = `/run/sandbox/test-bounds-${process.pid}-${options.lazyWorkers ? 'main' : 'workers'}`;
  const mountpoint = `${dir}/views`;
  const server = new ViewServer(mountpoint, options);
  const source = async (root = TREE): Promise<SandboxViewSpec> =>
    cgroupViewSpec(await openCgroup({ id: 'fixture', root }), Date.now() - 5000, root);
  const manyTree = `${dir}/many`;

  /** Every `tasks` file under `root` rewritten to list this process 3000 times: a scan reads 3000 status files. */
  async function nameManyThreads(root: string): Promise<void> {
    const lines = `${Array.from({ length: 3000 }, () => process.pid).join('\n')}\n`;
    for (const entry of await readdir(root, { recursive: true, withFileTypes: true })) {
      if (entry.isFile() && entry.name === 'tasks') await writeFile(join(entry.parentPath, entry.name), lines);
    }
  }

  beforeAll(async () => {
    await mkdir(mountpoint, { recursive: true });
    await cp(TREE, manyTree, { recursive: true });
    await nameManyThreads(manyTree);
    await server.mount();
    server.register('a', await source());
    server.register('b', await source());
    server.register('many', await source(manyTree));
  });

  afterAll(async () => {
    await server.unmount();
    await rm(dir, { recursive: true, force: true });
    expect(await readFile('/proc/self/mounts', 'utf8')).not.toContain(mountpoint);
  });

  // Three readers: with the main thread serving, its read of /dev/fuse needs one of libuv's 4 pool
  // threads, which this process's own reads of the mount would otherwise all hold (ViewServer lazyWorkers).
  it('task scans do not follow the reads: 3 readers hammering loadavg and stat of a sandbox of 3000 threads', async () => {
    const before = server.taskScans('many')!;
    const started = performance.now();
    let reads = 0;
    const reader = async (view: string): Promise<void> => {
      while (performance.now() - started < 1500) {
        expect(await readFile(`${mountpoint}/many/${view}`, 'utf8')).not.toBe('');
        reads++;
      }
    };
    await Promise.all([reader('loadavg'), reader('stat'), reader('loadavg')]);
    const elapsed = performance.now() - started;
    const after = server.taskScans('many')!;
    const scans = after.scans - before.scans;
    const busy = after.busyMs - before.busyMs;
    expect(scans).toBeGreaterThanOrEqual(1);
    // Each scan is followed by TASK_SCAN_SPACING times its duration without one, so scans take at
    // most 1/(1 + spacing) of the time, plus the last one (and one begun before the readers).
    expect(busy).toBeLessThanOrEqual(elapsed / (1 + TASK_SCAN_SPACING) + 2 * after.lastMs);
    // Every render (a 10 ms cache) scanned before: here far more reads than scans.
    expect(reads).toBeGreaterThan(10 * scans);
    console.log(
      `views-bounds: ${reads} reads, ${scans} scans of 3000 threads taking ${busy.toFixed(0)} ms in ${elapsed.toFixed(0)} ms`,
    );
    expect(server.taskScans('b')!.scans).toBeLessThanOrEqual(1); // its load sampler's, every 5 s
  });

  it(`a sandbox holds at most ${CAP} view files open: the opens past it get EMFILE, another sandbox's do not`, async () => {
    const held: FileHandle[] = [];
    try {
      let refused = 0;
      for (let i = 0; i < CAP + 5; i++) {
        try {
          held.push(await open(`${mountpoint}/a/${i % 2 ? 'meminfo' : 'loadavg'}`, 'r'));
        } catch (err) {
          expect((err as NodeJS.ErrnoException).code).toBe('EMFILE');
          refused++;
        }
      }
      expect(held).toHaveLength(CAP);
      expect(refused).toBe(5);
      expect(server.openFiles('a')).toBe(CAP);
      // The files held still read, and sandbox b opens as before.
      const buf = Buffer.alloc(4096);
      expect((await held[1]!.read(buf, 0, buf.length, 0)).bytesRead).toBeGreaterThan(0);
      const other = await open(`${mountpoint}/b/meminfo`, 'r');
      await other.close();
      // One closed: one more open of a succeeds (RELEASE is asynchronous: wait for the count to drop).
      await held.pop()!.close();
      await waitFor(() => server.openFiles('a')! < CAP, 'the RELEASE of the closed file');
      held.push(await open(`${mountpoint}/a/meminfo`, 'r'));
      await expect(open(`${mountpoint}/a/meminfo`, 'r')).rejects.toMatchObject({ code: 'EMFILE' });
    } finally {
      await Promise.all(held.map((fh) => fh.close()));
    }
    await waitFor(() => server.openFiles('a') === 0, 'the RELEASE of every file held');
    expect(server.openFiles('a')).toBe(0);
    expect(server.openFiles('b')).toBe(0);
  });
});
