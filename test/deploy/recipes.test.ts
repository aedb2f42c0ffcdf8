// deploy/README.md's recipes side by side with lxcfs's: the docker/podman `-v` binds and the
// example pod's hostPath volumes cover exactly the layout the engine tests bind
// (test/helpers/engines/views-source.ts LAYOUT_FILES), from lxcfs's path and from ours, and ours
// is where the DaemonSet serves. The engine tests run the binds; this keeps the text in step.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import type { IPod } from 'kubernetes-models/v1/Pod';
import { DEPLOY, findManifest, loadManifests } from '../helpers/deploy-files.js';
import { LAYOUT_FILES } from '../helpers/engines/views-source.js';

const LXCFS = '/var/lib/lxcfs';
const OURS = '/run/sandbox-procfs/mnt';
const readme = readFileSync(join(DEPLOY, 'README.md'), 'utf8');

/** The `-v SRC:DST:rw` binds of the indented command block whose first line is `# NAME`. */
function bindsOf(name: string): string[] {
  const block = readme.split('\n\n').find((b) => b.startsWith(`    # ${name}`) || b.includes(`\n    # ${name}`));
  if (!block) throw new Error(`deploy/README.md has no command block "# ${name}"`);
  const part = block.slice(block.indexOf(`# ${name}`)).split(/\n {4}# /)[0]!;
  return [...part.matchAll(/-v (\S+)/g)].map((m) => m[1]!);
}

const expected = (src: string) => LAYOUT_FILES.map((f) => `${src}/${f}:/${f}:rw`);

describe('deploy/README.md recipes', () => {
  test("docker: lxcfs's recipe binds every file of the layout from /var/lib/lxcfs", () => {
    expect(bindsOf('lxcfs')).toEqual(expected(LXCFS));
  });

  test('docker: ours is the same recipe with our mount', () => {
    expect(bindsOf('ours')).toEqual(expected(OURS));
  });

  test('the side-by-side table names every file of the layout under both paths', () => {
    for (const f of LAYOUT_FILES) expect(readme).toContain(`| \`/${f}\` | \`${LXCFS}/${f}\` | \`${OURS}/${f}\` |`);
  });
});

describe('deploy/kubernetes/example/pod-with-layout.yaml', () => {
  const pod = findManifest(loadManifests(), 'Pod', 'views-layout-demo') as unknown as IPod;
  const container = pod.spec!.containers[0]!;
  const volumes = new Map((pod.spec!.volumes ?? []).map((v) => [v.name, v]));

  test('binds every file of the layout from our mount as a hostPath File, read-only, over the same path', () => {
    const binds = (container.volumeMounts ?? []).map((m) => {
      const v = volumes.get(m.name);
      return { from: v?.hostPath?.path, type: v?.hostPath?.type, to: m.mountPath, ro: m.readOnly };
    });
    expect(binds).toEqual(LAYOUT_FILES.map((f) => ({ from: `${OURS}/${f}`, type: 'File', to: `/${f}`, ro: true })));
  });

  test('needs no hook: no opt-in annotation', () => {
    expect(pod.metadata?.annotations?.['sandbox-procfs.io/views']).toBeUndefined();
  });
});
