// Debian's podman with state of its own runs a busybox container two ways: lxcfs's recipe
// (`-v LAYOUT/proc/meminfo:/proc/meminfo:rw` … with `-m 256m --cpus 0.5 --cpuset-cpus 0`) with the
// layout from ours (`sandbox procfs serve`) and from lxcfs, and our OCI hook from a hooks.d
// definition (deploy/podman/hooks.d, pointed at this build and our server's socket) on a container
// annotated `sandbox-procfs.io/views=true`. Inside, procps free/top, coreutils nproc and uptime
// must show the container's limits. Nothing may be left: no container, conmon, cgroup, mount,
// directory, server, or host path podman writes by default.
import { chmodSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cgroupBoxUnavailable, createCgroupBox, type CgroupBox } from '../helpers/engines/cgroup-box.js';
import { endEngineTest, stepCosts } from '../helpers/engines/engine-test.js';
import { existingEnginePaths } from '../helpers/engines/host-untouched.js';
import { podmanUnavailable, setUpPodman, type Podman } from '../helpers/engines/podman.js';
import {
  PROBE,
  PROBE_MEM,
  VIEWS_OF_LIMITS,
  buildImageTarball,
  expectContainerUptime,
  parseProbe,
} from '../helpers/engines/probe.js';
import { VIEWS_SOURCES, layoutBinds, lxcfsUnavailable, type ViewsSource } from '../helpers/engines/views-source.js';
import { imageUnavailable } from '../helpers/image.js';
import { CLI, removeLeftoverCgroups, sandboxUnavailable } from '../helpers/sandbox.js';
import { requireOrSkip } from '../helpers/skip.js';
import { waitFor } from '../helpers/wait.js';

const skip = requireOrSkip(
  sandboxUnavailable() ?? podmanUnavailable() ?? lxcfsUnavailable() ?? imageUnavailable() ?? cgroupBoxUnavailable(),
);
const IMAGE = 'localhost/sandbox-engines-busybox:test';
const LIMITS = ['-m', '256m', '--cpus', '0.5', '--cpuset-cpus', '0'];
const DEPLOY_HOOKS = new URL('../../deploy/podman/hooks.d/', import.meta.url).pathname;

/** deploy/podman/hooks.d's definitions, running this build's CLI on the test's daemon socket. */
function installHooks(hooksDir: string, socket: string): void {
  for (const name of ['50-sandbox-procfs.json', '50-sandbox-procfs-poststop.json']) {
    const def = JSON.parse(readFileSync(`${DEPLOY_HOOKS}${name}`, 'utf8')) as {
      hook: { path: string; args: string[] };
    };
    const args = def.hook.args.slice(1).map((a) => (a === '/run/sandbox-procfs/api.sock' ? socket : a));
    def.hook = { ...def.hook, path: process.execPath, args: ['node', CLI, ...args] };
    writeFileSync(`${hooksDir}/${name}`, JSON.stringify(def, null, 1));
  }
}

describe.skipIf(skip)('podman (Debian podman 4.3, runc) with the layout bound by -v and with our OCI hook', () => {
  let dir = '';
  let box: CgroupBox | null = null;
  const sources = new Map<string, ViewsSource>();
  let engine: Podman | null = null;
  let hostBefore: string[] = [];
  let uptimeViaHook: { uptime: number; elapsedS: number } | null = null;
  /** What each step took (ms), printed for docs/testing.md, never asserted. */
  const { costs, timed } = stepCosts();

  beforeAll(async () => {
    hostBefore = existingEnginePaths();
    dir = mkdtempSync('/tmp/sandbox-engines-podman-');
    chmodSync(dir, 0o700);
    box = createCgroupBox(`sandbox-engines-podman-${process.pid}`);
    for (const { name, start } of VIEWS_SOURCES)
      sources.set(name, await timed(`${name} serving`, () => start(`${dir}/${name}`)));
    engine = setUpPodman(`${dir}/podman`, box);
    const tar = buildImageTarball(`${dir}/image`);
    await timed('podman import', () => engine!.importImage(tar, IMAGE));
    // The hook registers with our server (its socket), which binds the container's views from its mount.
    installHooks(engine.hooksDir, sources.get('sandbox')!.socket!);
  });

  afterAll(async () => {
    const left: string[] = [];
    console.log(`podman costs (ms): ${JSON.stringify(costs)}`);
    if (engine) {
      const ids = (await engine.podman(['ps', '-aq']).catch(() => ({ stdout: '' }))).stdout.split('\n').filter(Boolean);
      left.push(...ids.map((id) => `container ${id}`));
      if (ids.length > 0) await engine.podman(['rm', '-f', ...ids]).catch(() => undefined);
      await engine.podman(['rmi', '-a', '-f']).catch(() => undefined);
    }
    left.push(...(await endEngineTest(box, sources, dir, hostBefore, 'podman: conmon or a container')));
    removeLeftoverCgroups();
    expect(left).toEqual([]);
  });

  it.each(VIEWS_SOURCES.map((s) => s.name))(
    '%s: -v binds of the layout: free -b shows -m, nproc/top/cpuinfo/online agree with --cpuset-cpus/--cpus, uptime from the start',
    async (name) => {
      const started = Date.now();
      const { stdout } = await timed(`podman run (${name})`, () =>
        engine!.podman([
          'run',
          '--rm',
          '--network',
          'none',
          ...engine!.runFlags,
          ...LIMITS,
          ...layoutBinds(sources.get(name)!),
          IMAGE,
          'sh',
          '-c',
          PROBE,
        ]),
      );
      const elapsedS = (Date.now() - started) / 1000;
      const p = parseProbe(stdout);
      expect(p).toMatchObject({ ...VIEWS_OF_LIMITS, nproc: '1' });
      expectContainerUptime(p, elapsedS);
    },
  );

  it('our OCI hook from hooks.d (annotation sandbox-procfs.io/views=true): the same limits inside; poststop unregisters', async () => {
    const name = `sandbox-engines-hook-${process.pid}`;
    const started = Date.now();
    const { stdout } = await timed('podman run (hook)', () =>
      engine!.podman([
        'run',
        '--rm',
        '--name',
        name,
        '--annotation',
        'sandbox-procfs.io/views=true',
        '--network',
        'none',
        ...engine!.runFlags,
        ...LIMITS,
        IMAGE,
        'sh',
        '-c',
        PROBE,
      ]),
    );
    const elapsedS = (Date.now() - started) / 1000;
    const p = parseProbe(stdout);
    expect(p).toMatchObject({ ...VIEWS_OF_LIMITS, nproc: '1' });
    const d = sources.get('sandbox')!;
    expect(d.log()).toMatch(/register \S+ pid \d+/);
    await waitFor(() => d.log().includes('unregister '), 'the poststop hook to unregister the container');
    uptimeViaHook = { uptime: Number(p.uptime), elapsedS };
  });

  // Registered containers' views (DIR/<id>/proc/uptime, what the hook binds) count from the
  // container's init, as the layout at the top counts from the reader's pid namespace init.
  it("our OCI hook: uptime counts from the container's start", () => {
    expect(uptimeViaHook).not.toBeNull();
    expect(uptimeViaHook!.uptime).toBeLessThanOrEqual(uptimeViaHook!.elapsedS + 1);
  });

  it('without the annotation the hook (installed) does not run: the container reads the host files', async () => {
    const { stdout } = await engine!.podman([
      'run',
      '--rm',
      '--network',
      'none',
      ...engine!.runFlags,
      ...LIMITS,
      IMAGE,
      'sh',
      '-c',
      PROBE,
    ]);
    const p = parseProbe(stdout);
    expect(p.free).not.toBe(String(PROBE_MEM));
    expect(p.nproc).toBe('1'); // sched_getaffinity: the cpuset, whatever the files say
  });
});
