// Debian's docker.io, started by the test with state of its own, runs a busybox container with
// lxcfs's recipe: `-m 256m --cpus 0.5 --cpuset-cpus 0` and `-v LAYOUT/proc/meminfo:/proc/meminfo:rw`
// etc. for every file of the layout. Inside, procps free/top, coreutils nproc and uptime must show
// the container's limits and its own uptime. The layout comes from one function per server
// (test/helpers/engines/views-source.ts): ours (`sandbox procfs serve`), and lxcfs, which keeps the
// recipe honest: the same expectations hold for the original. Nothing may be left: no process of
// the engine, no cgroup, no mount, no directory, no host path an engine writes by default.
import { chmodSync, existsSync, mkdtempSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cgroupBoxUnavailable, createCgroupBox, type CgroupBox } from '../helpers/engines/cgroup-box.js';
import { dockerUnavailable, startDockerd, type Dockerd } from '../helpers/engines/dockerd.js';
import { endEngineTest, stepCosts } from '../helpers/engines/engine-test.js';
import { existingEnginePaths } from '../helpers/engines/host-untouched.js';
import {
  PROBE,
  VIEWS_OF_LIMITS,
  buildImageTarball,
  expectContainerUptime,
  parseProbe,
} from '../helpers/engines/probe.js';
import { VIEWS_SOURCES, layoutBinds, lxcfsUnavailable, type ViewsSource } from '../helpers/engines/views-source.js';
import { imageUnavailable } from '../helpers/image.js';
import { cli, removeLeftoverCgroups, sandboxUnavailable } from '../helpers/sandbox.js';
import { requireOrSkip } from '../helpers/skip.js';

const skip = requireOrSkip(
  sandboxUnavailable() ?? dockerUnavailable() ?? lxcfsUnavailable() ?? imageUnavailable() ?? cgroupBoxUnavailable(),
);
const IMAGE = 'sandbox-engines-busybox:test';

describe.skipIf(skip)('docker (Debian docker.io) with the layout bound by -v', () => {
  let dir = '';
  let box: CgroupBox | null = null;
  const sources = new Map<string, ViewsSource>();
  let dockerd: Dockerd | null = null;
  let hostBefore: string[] = [];
  /** What each step took (ms), printed for docs/testing.md, never asserted. */
  const { costs, timed } = stepCosts();

  beforeAll(async () => {
    hostBefore = existingEnginePaths();
    dir = mkdtempSync('/tmp/sandbox-engines-docker-');
    chmodSync(dir, 0o700);
    box = createCgroupBox(`sandbox-engines-docker-${process.pid}`);
    // The layouts are mounted before dockerd starts: its mount namespace copies ours at that moment.
    for (const { name, start } of VIEWS_SOURCES)
      sources.set(name, await timed(`${name} serving`, () => start(`${dir}/${name}`)));
    const tar = buildImageTarball(`${dir}/image`);
    dockerd = await timed('dockerd start', () => startDockerd(`${dir}/docker`, box!));
    await timed('docker import', () => dockerd!.docker(['import', tar, IMAGE]));
  });

  afterAll(async () => {
    if (dockerd) {
      const ids = (await dockerd.docker(['ps', '-aq']).catch(() => ({ stdout: '' }))).stdout
        .split('\n')
        .filter(Boolean);
      if (ids.length > 0) await dockerd.docker(['rm', '-f', ...ids]).catch(() => undefined);
      await timed('dockerd stop', () => dockerd!.stop());
      console.log(`docker costs (ms): ${JSON.stringify(costs)}`);
    }
    // dockerd's containerd and shims end with it: anything still in its cgroups is a leftover.
    const left = await endEngineTest(box, sources, dir, hostBefore, 'dockerd');
    removeLeftoverCgroups();
    expect(left).toEqual([]);
  });

  it.each(VIEWS_SOURCES.map((s) => s.name))(
    '%s: free -b shows -m, nproc/top/cpuinfo/online agree with --cpuset-cpus/--cpus, uptime counts from the start',
    async (name) => {
      const started = Date.now();
      const { stdout } = await timed(`docker run (${name})`, () =>
        dockerd!.docker([
          'run',
          '--rm',
          '--network',
          'none',
          '-m',
          '256m',
          '--cpus',
          '0.5',
          '--cpuset-cpus',
          '0',
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
      // The container's uptime, not the host's: at most the time since `docker run` was asked.
      expectContainerUptime(p, elapsedS);
    },
  );

  // The engine's sockets (docker.sock, containerd's) give root on the host to whoever connects:
  // they live in the test's 0700 directory under /tmp, which a sandbox covers with its own /tmp.
  it("a sandbox started meanwhile sees neither the engine's directory nor its socket", async () => {
    const socket = dockerd!.socket;
    expect(existsSync(socket)).toBe(true);
    const r = await cli(['run', '--', 'sh', '-c', `test -e ${dir} || test -e ${socket}; echo $?`]);
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe('1');
  });
});
