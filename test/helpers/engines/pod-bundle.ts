// A pod's container as the kubelet and containerd's CRI plugin hand it to runc, without a cluster:
// its hostPath volumes become bind mounts (CRI WithMounts: type bind, options rbind, the
// propagation, rprivate for None, and ro for readOnly), its limits the bundle's resources (memory
// in bytes; cpu as a CFS quota over a 100 ms period, as the kubelet's milliCPUToQuota does).
import { mkdirSync, writeFileSync } from 'node:fs';
import type { IPod } from 'kubernetes-models/v1/Pod';
import { bundleBase, PROC_MASKS } from '../oci.js';

/** Kubernetes memory quantity ("256Mi", "1Gi", "512M", plain bytes) in bytes. */
export function memoryBytes(q: string): number {
  const m = /^(\d+)(Ki|Mi|Gi|K|M|G)?$/.exec(q);
  if (!m) throw new Error(`memory quantity ${JSON.stringify(q)}: not understood here`);
  const unit = { Ki: 1024, Mi: 1024 ** 2, Gi: 1024 ** 3, K: 1e3, M: 1e6, G: 1e9 }[m[2] ?? ''] ?? 1;
  return Number(m[1]) * unit;
}

/** Kubernetes CPU quantity ("1", "0.5", "500m") as a CFS quota per 100000 µs period. */
export function cpuQuota(q: string): number {
  const m = /^(\d+)m$/.exec(q);
  const milli = m ? Number(m[1]) : Number(q) * 1000;
  if (!Number.isFinite(milli) || milli <= 0) throw new Error(`cpu quantity ${JSON.stringify(q)}: not understood here`);
  return Math.round((milli * 100000) / 1000);
}

/** OCI mounts for the first container's hostPath volumes, each source's `from` prefix replaced by `to`. */
export function hostPathMounts(
  pod: IPod,
  from: string,
  to: string,
): { destination: string; type: string; source: string; options: string[] }[] {
  const volumes = new Map((pod.spec?.volumes ?? []).map((v) => [v.name, v]));
  return (pod.spec!.containers[0]!.volumeMounts ?? []).map((m) => {
    const path = volumes.get(m.name)?.hostPath?.path;
    if (!path?.startsWith(`${from}/`)) throw new Error(`volume ${m.name}: hostPath ${path} is not under ${from}`);
    const propagation =
      m.mountPropagation === 'Bidirectional'
        ? 'rshared'
        : m.mountPropagation === 'HostToContainer'
          ? 'rslave'
          : 'rprivate';
    return {
      destination: m.mountPath,
      type: 'bind',
      source: `${to}${path.slice(from.length)}`,
      options: ['rbind', propagation, ...(m.readOnly ? ['ro'] : [])],
    };
  });
}

/** Write bundle/config.json running args in rootfsDir with the pod's limits and hostPath mounts. */
export function writePodBundle(
  bundle: string,
  rootfsDir: string,
  cgroupName: string,
  pod: IPod,
  mounts: ReturnType<typeof hostPathMounts>,
  args: string[],
): void {
  mkdirSync(bundle, { recursive: true });
  const limits = pod.spec!.containers[0]!.resources?.limits ?? {};
  const config = {
    ...bundleBase(rootfsDir, args, pod.metadata?.name ?? 'pod', mounts),
    linux: {
      // Relative: under runc's own cgroup, i.e. the test's (libcontainer/cgroups/fs/paths.go).
      cgroupsPath: cgroupName,
      resources: {
        memory: { limit: memoryBytes(String(limits.memory)) },
        cpu: { quota: cpuQuota(String(limits.cpu)), period: 100000 },
      },
      namespaces: [{ type: 'pid' }, { type: 'ipc' }, { type: 'uts' }, { type: 'mount' }, { type: 'network' }],
      ...PROC_MASKS,
    },
  };
  writeFileSync(`${bundle}/config.json`, JSON.stringify(config, null, 1));
}
