// The FUSE server itself, mounted for real (root, /dev/fuse): routing by path, per-open snapshots
// read at any offset and size, fresh text on a re-read from offset 0 (as /proc gives top), read-only
// files whose size is the text's rounded up to a page (sendfile readers such as busybox cat get the
// text), a limit change visible at the next read, and degrading to the host
// file when a view can't be computed. Stats come from a real captured v1 tree (a copy without
// memory.stat stands for a cgroup whose figures are gone).
// Every test runs twice: with worker threads serving (the daemon's way) and with the main thread
// serving until workers are wanted (`sandbox run`'s way, lazyWorkers).
// Reads here are asynchronous: this process serves the mount, and a synchronous read would deadlock.
import { cp, mkdir, open, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { ViewServer, type SandboxViewSpec, type ViewServerOptions } from '../../procfs/fs.js';
import { cgroupViewSpec } from '../../procfs/view-source.js';
import { VIEWS } from '../../procfs/views/index.js';
import { openCgroup } from '../../supervisor/cgroup/index.js';
import { fuseUnavailable } from '../helpers/sandbox.js';
import { requireOrSkip } from '../helpers/skip.js';

const skip = requireOrSkip(fuseUnavailable());
const TREE = fileURLToPath(new URL('../fixtures/cgroup-v1/busy-256M', import.meta.url));
const MODES: Array<{ mode: string; options: ViewServerOptions }> = [
  { mode: 'worker threads', options: {} },
  // No worker ever starts here: every request of these tests is answered by the main thread.
  { mode: 'the main thread (lazyWorkers)', options: { lazyWorkers: true, workersAfterRequests: 1e9 } },
];

describe.skipIf(skip).each(MODES)('ViewServer on a real FUSE mount, served by $mode', ({ options }) => {
  const dir = `/run/sandbox/test-fs-${process.pid}-${options.lazyWorkers ? 'main' : 'workers'}`;
  const mountpoint = `${dir}/views`;
  const server = new ViewServer(mountpoint, options);
  const liveTree = `${dir}/tree`;
  const brokenTree = `${dir}/broken`;
  const MEMORY_LEAF = 'sys/fs/cgroup/memory/process_api/6b1b36b9983751b26abd9fb6be823fdf/sandbox-fixture';
  const source = async (root = TREE): Promise<SandboxViewSpec> =>
    cgroupViewSpec(await openCgroup({ id: 'fixture', root }), Date.now() - 5000, root);

  beforeAll(async () => {
    await mkdir(mountpoint, { recursive: true });
    await cp(TREE, liveTree, { recursive: true });
    await cp(TREE, brokenTree, { recursive: true });
    await rm(`${brokenTree}/${MEMORY_LEAF}/memory.stat`);
    await server.mount();
    server.register('box', await source());
    server.register('live', await source(liveTree));
    server.register('broken', await source(brokenTree));
  });

  afterAll(async () => {
    await server.unmount();
    await rm(dir, { recursive: true, force: true });
    const mounts = await readFile('/proc/self/mounts', 'utf8');
    expect(mounts).not.toContain(mountpoint);
  });

  it('lists sandboxes at the top and every view inside each', async () => {
    expect((await readdir(mountpoint)).sort()).toEqual(['box', 'broken', 'live']);
    expect((await readdir(`${mountpoint}/box`)).sort()).toEqual(VIEWS.map((v) => v.name).sort());
  });

  it('serves the limit of the captured cgroup: MemTotal 256 MiB, one CPU online', async () => {
    const meminfo = await readFile(`${mountpoint}/box/meminfo`, 'utf8');
    expect(meminfo).toMatch(/^MemTotal:\s+262144 kB$/m);
    expect(await readFile(`${mountpoint}/box/cpu-online`, 'utf8')).toBe('0\n');
  });

  it('reports the size rounded up to a page, yet readers get the whole text and no more; read-only', async () => {
    const st = await stat(`${mountpoint}/box/cpuinfo`);
    const content = await readFile(`${mountpoint}/box/cpuinfo`, 'utf8');
    expect(st.size % 4096).toBe(0);
    expect(st.size).toBeGreaterThanOrEqual(Buffer.byteLength(content));
    expect(st.size).toBeLessThan(Buffer.byteLength(content) + 4096);
    expect(content).toMatch(/^processor\t: 0\n/);
    expect(content.endsWith('\n\n')).toBe(true);
    expect(st.mode & 0o777).toBe(0o444);
    await expect(open(`${mountpoint}/box/meminfo`, 'r+')).rejects.toMatchObject({ code: 'EACCES' });
  });

  it('sendfile(2) gets the whole text (busybox cat copies with sendfile; a size 0 gave it nothing)', async () => {
    // In a child process: this one serves the mount. sendfile goes through the page cache and stops at i_size.
    const copy = `${dir}/sendfile-copy`;
    const script =
      'import os,sys\nsrc=os.open(sys.argv[1],os.O_RDONLY)\ndst=os.open(sys.argv[2],os.O_WRONLY|os.O_CREAT|os.O_TRUNC)\nwhile os.sendfile(dst,src,None,1<<20)>0: pass';
    for (const view of ['meminfo', 'stat', 'cpuinfo']) {
      const child = spawn('python3', ['-c', script, `${mountpoint}/box/${view}`, copy], { stdio: 'inherit' });
      expect(await new Promise((resolve) => child.on('exit', resolve))).toBe(0);
      const sent = await readFile(copy, 'utf8');
      const read = await readFile(`${mountpoint}/box/${view}`, 'utf8');
      // The same lines to the last one (host lines passed through may change a figure in between).
      const keys = (text: string) => text.split('\n').map((line) => line.split(/[:\s]/)[0]);
      expect(sent.length).toBeGreaterThan(100);
      expect(keys(sent)).toEqual(keys(read));
      expect(sent.endsWith('\n')).toBe(true);
    }
  });

  it('unknown sandboxes and files are ENOENT', async () => {
    await expect(readFile(`${mountpoint}/nobody/meminfo`)).rejects.toMatchObject({ code: 'ENOENT' });
    await expect(readFile(`${mountpoint}/box/kcore`)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('reads of one open at any offset and size continue the text of its last read at offset 0', async () => {
    const fh = await open(`${mountpoint}/box/stat`, 'r');
    try {
      const whole = Buffer.alloc(65536);
      const { bytesRead } = await fh.read(whole, 0, whole.length, 0);
      const expected = whole.subarray(0, bytesRead);
      expect(bytesRead).toBeGreaterThan(100);
      await new Promise((r) => setTimeout(r, 30)); // the stat view's counters move on meanwhile
      for (const [offset, size] of [
        [7, 13],
        [1, 1],
        [100, 4096],
        [bytesRead - 3, 50],
        [bytesRead, 10],
        [bytesRead + 100, 10],
        [2, 1000],
      ] as const) {
        const part = Buffer.alloc(size);
        const got = await fh.read(part, 0, size, offset);
        expect(part.subarray(0, got.bytesRead)).toEqual(expected.subarray(offset, offset + size));
      }
    } finally {
      await fh.close();
    }
  });

  it('regenerates on a re-read from offset 0, as /proc does for top (which keeps its files open)', async () => {
    const fh = await open(`${mountpoint}/box/uptime`, 'r');
    try {
      const reread = async (): Promise<string> => {
        const buf = Buffer.alloc(4096);
        const { bytesRead } = await fh.read(buf, 0, buf.length, 0);
        return buf.toString('utf8', 0, bytesRead);
      };
      const first = await reread();
      await new Promise((r) => setTimeout(r, 50));
      const second = await reread();
      const seconds = (t: string) => Number(t.split(' ')[0]);
      expect(seconds(second) - seconds(first)).toBeGreaterThanOrEqual(0.04);
    } finally {
      await fh.close();
    }
  });

  it('shows a changed limit at the very next read', async () => {
    const file = `${mountpoint}/live/meminfo`;
    expect(await readFile(file, 'utf8')).toMatch(/^MemTotal:\s+262144 kB$/m);
    await writeFile(
      `${liveTree}/sys/fs/cgroup/memory/process_api/6b1b36b9983751b26abd9fb6be823fdf/sandbox-fixture/memory.limit_in_bytes`,
      '134217728\n',
    );
    expect(await readFile(file, 'utf8')).toMatch(/^MemTotal:\s+131072 kB$/m);
  });

  it('serves the host file and warns once when a view cannot be computed', async () => {
    const warn = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      const first = await readFile(`${mountpoint}/broken/meminfo`, 'utf8');
      await readFile(`${mountpoint}/broken/meminfo`, 'utf8');
      const host = await readFile('/proc/meminfo', 'utf8');
      const keys = (t: string) => t.split('\n').map((l) => l.split(':')[0]);
      expect(keys(first)).toEqual(keys(host));
      expect(/^MemTotal:.*$/m.exec(first)?.[0]).toBe(/^MemTotal:.*$/m.exec(host)?.[0]);
      const warnings = warn.mock.calls.map((c) => String(c[0])).filter((l) => l.includes('broken'));
      expect(warnings).toEqual([
        expect.stringMatching(/^sandbox: view \/proc\/meminfo of broken serves the host file: .*memory\.stat.*\n$/),
      ]);
    } finally {
      warn.mockRestore();
    }
  });

  it.runIf(options.lazyWorkers)(
    'starts no worker until the main thread has answered workersAfterRequests requests',
    async () => {
      expect(server.workerCount()).toBe(0); // every test before this one was answered by the main thread alone
      const lazy = new ViewServer(`${dir}/lazy`, { lazyWorkers: true, workersAfterRequests: 30, workers: 1 });
      await mkdir(`${dir}/lazy`);
      await lazy.mount();
      try {
        lazy.register('box', await source());
        // A cat: LOOKUP (first time), GETATTR (read-write mount), OPEN, READ, READ at EOF, RELEASE.
        for (let i = 0; i < 2; i++) await readFile(`${dir}/lazy/box/loadavg`, 'utf8');
        expect(lazy.workerCount()).toBe(0);
        for (let i = 0; i < 20; i++) expect(await readFile(`${dir}/lazy/box/loadavg`, 'utf8')).toMatch(/^\d+\.\d\d /);
        expect(lazy.workerCount()).toBe(1);
        // The worker takes over: reads go on being answered.
        for (let i = 0; i < 10; i++)
          expect(await readFile(`${dir}/lazy/box/meminfo`, 'utf8')).toMatch(/^MemTotal:\s+262144 kB$/m);
      } finally {
        await lazy.unmount();
      }
      expect(await readFile('/proc/self/mounts', 'utf8')).not.toContain(`${dir}/lazy`);
    },
  );
});
