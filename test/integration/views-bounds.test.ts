// The view work one sandbox can cause is bounded by that sandbox (issue 20), shown by counting:
// task scans do not follow the reads (a reader hammering /proc/loadavg gets counts from a sampler
// that scans at most every TASK_SCAN_MIN_MS), and a sandbox holds at most maxOpenFilesPerSandbox
// view files open (the open past it gets EMFILE; another sandbox's opens are untouched). On a real
// FUSE mount, served by worker threads and by the main thread; stats from a captured v1 tree.
// Reads here are asynchronous: this process serves the mount.
import { mkdir, open, readFile, rm, type FileHandle } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ViewServer, type SandboxViewSpec, type ViewServerOptions } from '../../procfs/fs.js';
import { cgroupViewSpec } from '../../procfs/view-source.js';
import { TASK_SCAN_MIN_MS } from '../../procfs/view-shared.js';
import { openCgroup } from '../../supervisor/cgroup/index.js';
import { fuseUnavailable } from '../helpers/sandbox.js';
import { requireOrSkip } from '../helpers/skip.js';
import { waitFor } from '../helpers/wait.js';

const skip = requireOrSkip(fuseUnavailable());
const TREE = fileURLToPath(new URL('../fixtures/cgroup-v1/busy-256M', import.meta.url));
const CAP = 16;

const MODES: Array<{ mode: string; options: ViewServerOptions }> = [
  { mode: 'worker threads', options: { maxOpenFilesPerSandbox: CAP } },
  { mode: 'the main thread (lazyWorkers)', options: { maxOpenFilesPerSandbox: CAP, lazyWorkers: true, workersAfterRequests: 1e9 } },
];

describe.skipIf(skip).each(MODES)('view work bounded per sandbox, served by $mode', ({ options }) => {
  const dir = `/run/sandbox/test-bounds-${process.pid}-${options.lazyWorkers ? 'main' : 'workers'}`;
  const mountpoint = `${dir}/views`;
  const server = new ViewServer(mountpoint, options);
  const source = async (): Promise<SandboxViewSpec> => cgroupViewSpec(await openCgroup({ id: 'fixture', root: TREE }), Date.now() - 5000, TREE);

  beforeAll(async () => {
    await mkdir(mountpoint, { recursive: true });
    await server.mount();
    server.register('a', await source());
    server.register('b', await source());
  });

  afterAll(async () => {
    await server.unmount();
    await rm(dir, { recursive: true, force: true });
    expect(await readFile('/proc/self/mounts', 'utf8')).not.toContain(mountpoint);
  });

  // Three readers: with the main thread serving, its read of /dev/fuse needs one of libuv's 4 pool
  // threads, which this process's own reads of the mount would otherwise all hold (ViewServer lazyWorkers).
  it('task scans do not grow with reads: 3 readers hammering /proc/loadavg and /proc/stat', async () => {
    const before = server.taskScans('a')!;
    const started = performance.now();
    let reads = 0;
    const reader = async (view: string): Promise<void> => {
      while (performance.now() - started < 600) {
        expect(await readFile(`${mountpoint}/a/${view}`, 'utf8')).not.toBe('');
        reads++;
      }
    };
    await Promise.all([reader('loadavg'), reader('stat'), reader('loadavg')]);
    const elapsed = performance.now() - started;
    const scans = server.taskScans('a')! - before;
    // One scan per TASK_SCAN_MIN_MS at most, one more at each end, and the load sampler's (every 5 s).
    expect(scans).toBeLessThanOrEqual(Math.ceil(elapsed / TASK_SCAN_MIN_MS) + 2);
    expect(scans).toBeGreaterThanOrEqual(1);
    // The render cache alone (10 ms) would have allowed a scan per 10 ms: the reads were far more.
    expect(reads).toBeGreaterThan(3 * scans);
    expect(server.taskScans('b')).toBe(0);
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
