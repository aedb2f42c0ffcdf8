// A sandbox no longer served keeps no descriptor in the view server: each worker reads a sandbox's
// cgroup files through descriptors it keeps open (supervisor/kept-files.ts), and once the sandbox is
// unregistered every thread that read them closes them (a kept descriptor of a removed cgroup also
// keeps the kernel's cgroup from being freed). Counted in /proc/self/fd, on a real FUSE mount served
// by worker threads and by the main thread; stats from a captured v1 tree copied per sandbox, so
// each sandbox's descriptors are told apart by path (its sys/ part: the cgroup files; the test's own
// openCgroup keeps the tree's proc/self files). Reads here are asynchronous: this process serves
// the mount.
import { cp, mkdir, readFile, readdir, readlink, rm } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ViewServer, type SandboxViewSpec, type ViewServerOptions } from '../../procfs/fs.js';
import { cgroupViewSpec } from '../../procfs/view-source.js';
import { openCgroup } from '../../supervisor/cgroup/index.js';
import { fuseUnavailable } from '../helpers/sandbox.js';
import { requireOrSkip } from '../helpers/skip.js';
import { waitFor } from '../helpers/wait.js';

const skip = requireOrSkip(fuseUnavailable());
const TREE = fileURLToPath(new URL('../fixtures/cgroup-v1/busy-256M', import.meta.url));
const VIEWS = ['meminfo', 'stat', 'cpuinfo', 'uptime', 'loadavg'];

const MODES: Array<{ mode: string; options: ViewServerOptions }> = [
  { mode: 'worker threads', options: {} },
  { mode: 'the main thread (lazyWorkers)', options: { lazyWorkers: true, workersAfterRequests: 1e9 } },
];

/** This process's descriptors whose target is under `dir`: their targets. */
async function descriptorsUnder(dir: string): Promise<string[]> {
  const targets: string[] = [];
  for (const fd of await readdir('/proc/self/fd')) {
    const target = await readlink(`/proc/self/fd/${fd}`).catch(() => '');
    if (target.startsWith(`${dir}/`)) targets.push(target);
  }
  return targets;
}

describe.skipIf(skip).each(MODES)('descriptors of an unregistered sandbox, served by $mode', ({ options }) => {
  const dir = `/run/sandbox/test-descriptors-${process.pid}-${options.lazyWorkers ? 'main' : 'workers'}`;
  const mountpoint = `${dir}/views`;
  const server = new ViewServer(mountpoint, options);
  const source = async (root: string): Promise<SandboxViewSpec> =>
    cgroupViewSpec(await openCgroup({ id: 'fixture', root }), Date.now() - 5000, root);

  beforeAll(async () => {
    await mkdir(mountpoint, { recursive: true });
    await cp(TREE, `${dir}/gone`, { recursive: true });
    await cp(TREE, `${dir}/kept`, { recursive: true });
    await server.mount();
    server.register('gone', await source(`${dir}/gone`));
    server.register('kept', await source(`${dir}/kept`));
  });

  afterAll(async () => {
    await server.unmount();
    await rm(dir, { recursive: true, force: true });
    expect(await readFile('/proc/self/mounts', 'utf8')).not.toContain(mountpoint);
  });

  it('closes every descriptor of a sandbox once it is unregistered; another sandbox keeps its own', async () => {
    // Reads until some thread keeps descriptors of each sandbox's cgroup files.
    await waitFor(async () => {
      for (const id of ['gone', 'kept'])
        for (const view of VIEWS) expect(await readFile(`${mountpoint}/${id}/${view}`, 'utf8')).not.toBe('');
      return (
        (await descriptorsUnder(`${dir}/gone/sys`)).length > 0 && (await descriptorsUnder(`${dir}/kept/sys`)).length > 0
      );
    }, 'descriptors kept for both sandboxes');
    server.unregister('gone');
    // Each thread learns of the change at its next request: keep reading the other sandbox.
    await waitFor(
      async () => {
        for (const view of VIEWS) expect(await readFile(`${mountpoint}/kept/${view}`, 'utf8')).not.toBe('');
        return (await descriptorsUnder(`${dir}/gone/sys`)).length === 0;
      },
      'every descriptor of the unregistered sandbox closed',
      10_000,
    ).catch(async (err: Error) => {
      throw new Error(`${err.message}: still open: ${(await descriptorsUnder(`${dir}/gone/sys`)).join(' ')}`);
    });
    expect(await descriptorsUnder(`${dir}/gone/sys`)).toEqual([]);
    expect((await descriptorsUnder(`${dir}/kept/sys`)).length).toBeGreaterThan(0);
  });
});
