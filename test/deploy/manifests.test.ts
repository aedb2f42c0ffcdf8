// deploy/kubernetes/*.yaml against the Kubernetes API schemas (kubernetes-models, two passes: JSON
// schema and TypeScript's excess-property check), mutants that must fail, and the properties the
// daemon depends on that no schema states (privileged, hostPID, /dev/fuse, Bidirectional mount,
// tolerations, requests, a liveness probe on the mount, the contract of `sandbox procfs serve`).
import { beforeAll, describe, expect, test } from 'vitest';
import type { IDaemonSet } from 'kubernetes-models/apps/v1/DaemonSet';
import type { IContainer } from 'kubernetes-models/v1/Container';
import { findManifest, loadManifests } from '../helpers/deploy-files.js';
import { schemaErrors, typeErrors, type Manifest } from '../helpers/k8s-schema.js';

const MOUNT = '/run/sandbox-procfs/mnt';
const SOCKET = '/run/sandbox-procfs/api.sock';

let manifests: Manifest[];
let daemonSet: IDaemonSet;
// Mutants of the DaemonSet, each with one mistake; checked in one TypeScript program with the
// real manifests (a program costs seconds).
const mutants: Record<string, (d: any) => void> = {
  'misspelled container field': (d) => (d.spec.template.spec.containers[0].imagePullPolice = 'IfNotPresent'),
  'misspelled pod field (hostPid)': (d) => {
    d.spec.template.spec.hostPid = d.spec.template.spec.hostPID;
    delete d.spec.template.spec.hostPID;
  },
  'misspelled toleration field': (d) => (d.spec.template.spec.tolerations[0].operater = 'Exists'),
  'volume mount field at the wrong level': (d) =>
    (d.spec.template.spec.containers[0].mountPropagation = 'Bidirectional'),
};
let typeResult: string[];

beforeAll(() => {
  manifests = loadManifests();
  daemonSet = findManifest(manifests, 'DaemonSet', 'sandbox-procfs') as unknown as IDaemonSet;
  const mutated = Object.entries(mutants).map(([name, mutate]) => {
    const doc = structuredClone(daemonSet) as unknown as Record<string, unknown>;
    mutate(doc);
    return { source: `mutant: ${name}`, doc };
  });
  typeResult = typeErrors([...manifests, ...mutated]);
});

function daemon(): IContainer {
  return daemonSet.spec!.template.spec!.containers.find((c) => c.name === 'daemon')!;
}

describe('Kubernetes schemas', () => {
  test('every manifest under deploy/kubernetes parses and there are the namespace, account, DaemonSet and example', () => {
    expect(manifests.map((m) => `${m.doc.kind}/${(m.doc.metadata as { name: string }).name}`).sort()).toEqual([
      'DaemonSet/sandbox-procfs',
      'Namespace/sandbox-procfs',
      'Pod/views-demo',
      'Pod/views-layout-demo',
      'ServiceAccount/sandbox-procfs',
    ]);
  });

  test('every manifest passes the JSON-schema validator of its kind', () => {
    expect(manifests.flatMap(schemaErrors)).toEqual([]);
  });

  test('every manifest passes the type check (no unknown field at any depth)', () => {
    expect(typeResult.filter((e) => !e.startsWith('mutant:'))).toEqual([]);
  });

  test.each(Object.keys(mutants))('a DaemonSet with a %s fails the type check, naming the field', (name) => {
    const errors = typeResult.filter((e) => e.startsWith(`mutant: ${name}:`));
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/Object literal may only specify known properties/);
  });

  test('wrong values and missing required fields fail the JSON-schema validator', () => {
    const check = (mutate: (d: any) => void) => {
      const doc = structuredClone(daemonSet) as any;
      mutate(doc);
      return schemaErrors({ source: 'mutant', doc });
    };
    expect(
      check((d) => (d.spec.template.spec.containers[0].volumeMounts[1].mountPropagation = 'Bidirectionnal')),
    ).toEqual([expect.stringMatching(/mountPropagation must be equal to one of the allowed values/)]);
    expect(check((d) => delete d.spec.selector)).toEqual([
      expect.stringMatching(/must have required property selector/),
    ]);
    expect(check((d) => (d.spec.template.spec.hostPID = 'yes'))).toEqual([
      expect.stringMatching(/hostPID must be boolean/),
    ]);
    expect(check((d) => (d.apiVersion = 'apps/v2'))).toEqual([
      expect.stringMatching(/no Kubernetes schema for apps\/v2 DaemonSet/),
    ]);
  });
});

describe('what the daemon needs from its pod', () => {
  test('privileged, in the node PID namespace, on every node, with a priority that keeps it', () => {
    const pod = daemonSet.spec!.template.spec!;
    expect(pod.hostPID).toBe(true);
    expect(daemon().securityContext?.privileged).toBe(true);
    expect(pod.tolerations).toContainEqual({ operator: 'Exists' });
    expect(pod.priorityClassName).toBe('system-node-critical');
    expect(pod.automountServiceAccountToken).toBe(false);
  });

  test('runs `sandbox procfs serve` with the mount and socket the hook uses', () => {
    expect([...(daemon().command ?? []), ...(daemon().args ?? [])]).toEqual([
      '/usr/local/bin/sandbox',
      'procfs',
      'serve',
      '--mount',
      MOUNT,
      '--socket',
      SOCKET,
    ]);
  });

  test('/dev/fuse and the mount directory come from the node; the mount propagates back (Bidirectional)', () => {
    const volumes = new Map(daemonSet.spec!.template.spec!.volumes!.map((v) => [v.name, v]));
    const mounts = new Map(daemon().volumeMounts!.map((m) => [m.mountPath, m]));
    const fuse = mounts.get('/dev/fuse')!;
    expect(volumes.get(fuse.name)?.hostPath).toEqual({ path: '/dev/fuse', type: 'CharDevice' });
    const run = mounts.get('/run/sandbox-procfs')!;
    expect(run.mountPropagation).toBe('Bidirectional');
    expect(volumes.get(run.name)?.hostPath?.path).toBe('/run/sandbox-procfs');
    expect(MOUNT.startsWith(`${run.mountPath}/`) && SOCKET.startsWith(`${run.mountPath}/`)).toBe(true);
  });

  test('every volume mount names a volume of the pod, and the pod has no unused volume', () => {
    const spec = daemonSet.spec!.template.spec!;
    const declared = new Set(spec.volumes!.map((v) => v.name));
    const used = new Set(
      [...spec.containers, ...(spec.initContainers ?? [])].flatMap((c) => (c.volumeMounts ?? []).map((m) => m.name)),
    );
    expect([...used].filter((n) => !declared.has(n))).toEqual([]);
    expect([...declared].filter((n) => !used.has(n))).toEqual([]);
  });

  test('the selector selects the template; every container requests CPU and memory and caps memory', () => {
    expect(daemonSet.spec!.template.metadata!.labels).toMatchObject(daemonSet.spec!.selector.matchLabels!);
    const spec = daemonSet.spec!.template.spec!;
    for (const c of [...spec.containers, ...(spec.initContainers ?? [])]) {
      expect(Object.keys(c.resources?.requests ?? {}).sort(), c.name).toEqual(['cpu', 'memory']);
      expect(c.resources?.limits?.memory, c.name).toBeDefined();
    }
  });

  test('the liveness probe checks that the mount is FUSE, answers a readdir, and the socket exists', () => {
    const probe = daemon().livenessProbe!;
    const script = probe.exec!.command!.join(' ');
    expect(script).toContain(`stat -f -c %t ${MOUNT}`);
    expect(script).toContain('65735546'); // FUSE_SUPER_MAGIC, include/uapi/linux/magic.h
    expect(script).toContain(`ls ${MOUNT}`);
    expect(script).toContain(`test -S ${SOCKET}`);
    expect(probe.timeoutSeconds).toBeGreaterThan(0);
  });

  test('the init container installs the hook with the node directories it writes mounted', () => {
    const init = daemonSet.spec!.template.spec!.initContainers!.find((c) => c.name === 'install-hook')!;
    expect(init.command).toEqual(['/opt/sandbox-procfs/bin/install-on-host.sh']);
    const volumes = new Map(daemonSet.spec!.template.spec!.volumes!.map((v) => [v.name, v.hostPath?.path]));
    const hostPaths = init.volumeMounts!.map((m) => [m.mountPath, volumes.get(m.name)]);
    expect(hostPaths).toEqual(
      expect.arrayContaining([
        ['/host/opt/sandbox-procfs', '/opt/sandbox-procfs'],
        ['/host/etc/containers/oci/hooks.d', '/etc/containers/oci/hooks.d'],
        ['/host/usr/share/containers/oci/hooks.d', '/usr/share/containers/oci/hooks.d'],
        ['/run/sandbox-procfs', '/run/sandbox-procfs'],
      ]),
    );
  });
});
