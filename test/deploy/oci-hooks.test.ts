// The hook definitions under deploy/ (hooks.d for CRI-O and the NRI hook-injector, podman's) and
// the runc hooks object: valid by the oci-hooks(5) / runtime-spec rules, mutants rejected, the
// opt-in annotation matches the example pod and nothing else, and they call the daemon's socket.
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import type { IPod } from 'kubernetes-models/v1/Pod';
import { DEPLOY, filesUnder, findManifest, loadManifests, readJson } from '../helpers/deploy-files.js';
import { annotationsMatch, hookDefinitionErrors, hooksObjectErrors } from '../helpers/oci-hooks.js';

const SOCKET = '/run/sandbox-procfs/api.sock';
const definitions = filesUnder(DEPLOY, ['.json']).filter((f) => f.includes('/hooks.d/'));
type Definition = {
  hook: { path: string; args: string[] };
  when: { annotations: Record<string, string> };
  stages: string[];
};
const load = (f: string) => readJson(f) as Definition;

describe('hooks.d definitions', () => {
  test('there are the createContainer and poststop definitions for the node (Kubernetes) and for podman', () => {
    expect(definitions.map((f) => f.slice(DEPLOY.length + 1))).toEqual([
      'hooks.d/50-sandbox-procfs-poststop.json',
      'hooks.d/50-sandbox-procfs.json',
      'podman/hooks.d/50-sandbox-procfs-poststop.json',
      'podman/hooks.d/50-sandbox-procfs.json',
    ]);
  });

  test.each(definitions.map((f) => [f.slice(DEPLOY.length + 1), f]))('%s is a valid 1.0.0 definition', (_, file) => {
    expect(hookDefinitionErrors(readJson(file))).toEqual([]);
  });

  test.each(definitions.map((f) => [f.slice(DEPLOY.length + 1), f]))(
    '%s runs `sandbox oci-hook` at its stage on the daemon socket',
    (_, file) => {
      const def = load(file);
      const poststop = file.endsWith('-poststop.json');
      expect(def.stages).toEqual([poststop ? 'poststop' : 'createContainer']);
      expect(def.hook.args).toEqual(['sandbox', 'oci-hook', ...(poststop ? ['poststop'] : []), '--socket', SOCKET]);
      expect(def.hook.path).toBe(
        file.includes('/podman/') ? '/usr/local/bin/sandbox' : '/opt/sandbox-procfs/current/bin/sandbox',
      );
    },
  );

  test('the opt-in annotation matches the example pod, and not a pod without it or with another value', () => {
    const pod = findManifest(loadManifests(), 'Pod', 'views-demo') as unknown as IPod;
    for (const file of definitions) {
      const when = load(file).when.annotations;
      expect(annotationsMatch(when, pod.metadata!.annotations!), file).toBe(true);
      expect(annotationsMatch(when, {}), file).toBe(false);
      expect(annotationsMatch(when, { 'sandbox-procfs.io/views': 'false' }), file).toBe(false);
      expect(annotationsMatch(when, { 'sandbox-procfs.io/views': 'true-ish' }), file).toBe(false);
      expect(annotationsMatch(when, { 'x.sandbox-procfs.io/views': 'true' }), file).toBe(false);
    }
  });

  test('mutants are rejected, each with its reason', () => {
    const base = readJson(join(DEPLOY, 'hooks.d/50-sandbox-procfs.json')) as Record<string, any>;
    const mutant = (f: (d: any) => void) => {
      const d = structuredClone(base);
      f(d);
      return hookDefinitionErrors(d);
    };
    expect(mutant((d) => (d.version = '1.0'))).toEqual(['version must be "1.0.0", got "1.0"']);
    expect(mutant((d) => (d.hook.path = 'sandbox'))).toEqual([
      expect.stringMatching(/hook.path must be an absolute path/),
    ]);
    expect(mutant((d) => (d.when = {}))).toEqual([expect.stringMatching(/when must set at least one condition/)]);
    expect(mutant((d) => (d.stages = ['createcontainer']))).toEqual(['unknown stage "createcontainer"']);
    expect(mutant((d) => (d.stages = []))).toEqual(['stages must be a non-empty array']);
    expect(mutant((d) => ((d.stage = d.stages), delete d.stages))).toEqual([
      'unknown key "stage"',
      'stages must be a non-empty array',
    ]);
    expect(mutant((d) => (d.when = { annotation: d.when.annotations }))).toEqual([
      'when: unknown key "annotation"',
      expect.stringMatching(/when must set at least one condition/),
    ]);
    expect(mutant((d) => (d.when.annotations = { '^a(?!b)$': 'x' }))).toEqual([expect.stringMatching(/lookaround/)]);
    expect(mutant((d) => (d.when.annotations = { '^a($': 'x' }))).toEqual([expect.stringMatching(/does not compile/)]);
    expect(mutant((d) => (d.hook.timeout = 0))).toEqual([expect.stringMatching(/timeout must be a positive integer/)]);
    expect(mutant((d) => (d.hook.env = ['NOEQUALS']))).toEqual([expect.stringMatching(/env must be an array/)]);
  });
});

describe('runc hooks object', () => {
  const hooks = readJson(join(DEPLOY, 'runc/hooks.json')) as Record<string, { path: string; args: string[] }[]>;

  test('is a valid OCI "hooks" object with the createContainer and poststop hooks', () => {
    expect(hooksObjectErrors(hooks)).toEqual([]);
    expect(Object.keys(hooks)).toEqual(['createContainer', 'poststop']);
    expect(hooks.createContainer![0]!.args).toEqual(['sandbox', 'oci-hook', '--socket', SOCKET]);
    expect(hooks.poststop![0]!.args).toEqual(['sandbox', 'oci-hook', 'poststop', '--socket', SOCKET]);
  });

  test('a wrong stage name or a relative path is rejected', () => {
    expect(hooksObjectErrors({ create: [] })).toEqual(['unknown stage "create"']);
    expect(hooksObjectErrors({ poststop: [{ path: 'bin/sandbox' }] })).toEqual([
      expect.stringMatching(/poststop\[0\].path must be an absolute path/),
    ]);
  });
});
