// deploy/kubernetes/example/pod-with-layout.yaml run the way a node runs it, without a cluster:
// its hostPath volumes and limits turned into a runc bundle as the kubelet and containerd's CRI
// plugin do (test/helpers/engines/pod-bundle.ts), the hostPath prefix pointed at a server of the
// test's (ours, and lxcfs for its own recipe with /var/lib/lxcfs), and Debian's runc runs it.
// Inside, procps free/top, /proc/cpuinfo, cpu/online and /proc/uptime show the pod's limits and
// start; nproc counts the CPUs the pod may run on (sched_getaffinity), the node's, as under a
// kubelet without the static CPU manager. Nothing may be left.
import { execFile, execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { promisify } from 'node:util';
import type { IPod } from 'kubernetes-models/v1/Pod';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findManifest, loadManifests } from '../helpers/deploy-files.js';
import { mountsUnder } from '../helpers/engines/dockerd.js';
import { hostPathMounts, writePodBundle } from '../helpers/engines/pod-bundle.js';
import { PROBE, VIEWS_OF_LIMITS, buildImageTarball, parseProbe } from '../helpers/engines/probe.js';
import { VIEWS_SOURCES, lxcfsUnavailable, type ViewsSource } from '../helpers/engines/views-source.js';
import { imageUnavailable } from '../helpers/image.js';
import { runcUnavailable } from '../helpers/oci.js';
import { leftovers, removeLeftoverCgroups, sandboxUnavailable } from '../helpers/sandbox.js';
import { requireOrSkip } from '../helpers/skip.js';

const run = promisify(execFile);
const skip = requireOrSkip(sandboxUnavailable() ?? runcUnavailable() ?? lxcfsUnavailable() ?? imageUnavailable());
/** Where the DaemonSet serves on each node (deploy/kubernetes/daemonset.yaml), the pod's hostPath prefix. */
const OURS = '/run/sandbox-procfs/mnt';

describe.skipIf(skip)('the Kubernetes pod recipe (hostPath volumes of the layout) run by runc as a node would', () => {
  let dir = '';
  const sources = new Map<string, ViewsSource>();
  const containers: string[] = [];
  const pod = findManifest(loadManifests(), 'Pod', 'views-layout-demo') as unknown as IPod;

  beforeAll(async () => {
    dir = mkdtempSync('/tmp/sandbox-engines-pod-');
    chmodSync(dir, 0o700);
    for (const { name, start } of VIEWS_SOURCES) sources.set(name, await start(`${dir}/${name}`));
    buildImageTarball(`${dir}/image`);
  });

  afterAll(async () => {
    const left: string[] = [];
    for (const id of containers)
      await run('runc', ['--root', `${dir}/runc`, 'delete', '--force', id]).catch(() => undefined);
    for (const source of sources.values()) await source.stop();
    left.push(...mountsUnder(dir).map((m) => `mount ${m}`));
    rmSync(dir, { recursive: true, force: true });
    if (existsSync(dir)) left.push(`directory ${dir}`);
    left.push(...leftovers());
    removeLeftoverCgroups();
    expect(left).toEqual([]);
  });

  it.each(VIEWS_SOURCES.map((s) => s.name))(
    "%s: free -b shows the pod's 256Mi, cpuinfo/online/top its one CPU, uptime its start",
    async (name) => {
      const id = `sandbox-engines-pod-${name}-${process.pid}`;
      const mounts = hostPathMounts(pod, OURS, sources.get(name)!.dir);
      expect(mounts.map((m) => m.options)).toEqual(mounts.map(() => ['rbind', 'rprivate', 'ro']));
      writePodBundle(`${dir}/bundle-${name}`, `${dir}/image/rootfs`, id, pod, mounts, ['sh', '-c', PROBE]);
      containers.push(id);
      const started = Date.now();
      const { stdout } = await run('runc', ['--root', `${dir}/runc`, 'run', '--bundle', `${dir}/bundle-${name}`, id]);
      const elapsedS = (Date.now() - started) / 1000;
      const p = parseProbe(stdout);
      expect(p).toMatchObject(VIEWS_OF_LIMITS);
      expect(p.nproc).toBe(execFileSync('nproc', { encoding: 'utf8' }).trim());
      expect(Number(p.uptime)).toBeLessThanOrEqual(elapsedS + 1);
    },
  );
});
