// deploy/node/: bundle-node.sh makes the self-contained tree the image carries (this machine's
// node, its libraries and loader), install-on-host.sh puts it and the hook definitions onto a
// "node" (a scratch HOST_ROOT), and the installed hook path runs `sandbox` through its own loader.
// Upgrades swap `current` and keep one previous release. No root needed.
import { spawnSync } from 'node:child_process';
import {
  copyFileSync,
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  readlinkSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { DEPLOY } from '../helpers/deploy-files.js';
import { BUILT_CLI_DIR as BUILT, CLI_FILES, cliCopyUnavailable } from '../helpers/cli-copy.js';
import { requireOrSkip } from '../helpers/skip.js';

const scratch = mkdtempSync(join(tmpdir(), 'deploy-node-'));
const src = join(scratch, 'image/opt/sandbox-procfs'); // the tree as deploy/Containerfile lays it out
const host = join(scratch, 'host');
const mountDir = join(scratch, 'run/sandbox-procfs/mnt');
const missing = cliCopyUnavailable();

function run(cmd: string, args: string[], env: NodeJS.ProcessEnv = {}) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', env: { PATH: process.env.PATH, ...env } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}
const install = () =>
  run('sh', [join(src, 'bin/install-on-host.sh')], { SOURCE_ROOT: src, HOST_ROOT: host, MOUNT_DIR: mountDir });
const releases = () => readdirSync(join(host, 'opt/sandbox-procfs/releases')).sort();
const current = () => readlinkSync(join(host, 'opt/sandbox-procfs/current'));

beforeAll(() => {
  if (missing) return;
  expect(run('sh', [join(DEPLOY, 'node/bundle-node.sh'), process.execPath, src])).toMatchObject({ code: 0 });
  for (const f of ['sandbox', 'install-on-host.sh']) copyFileSync(join(DEPLOY, 'node', f), join(src, 'bin', f));
  mkdirSync(join(src, 'app/dist/supervisor'), { recursive: true });
  for (const f of CLI_FILES) copyFileSync(join(BUILT, f), join(src, 'app/dist/supervisor', f));
  cpSync(join(DEPLOY, 'hooks.d'), join(src, 'hooks.d'), { recursive: true });
  for (const d of ['etc/containers/oci/hooks.d', 'usr/share/containers/oci/hooks.d'])
    mkdirSync(join(host, d), { recursive: true });
});
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe('installing the hook onto a node', () => {
  test('bundle-node.sh copies node, the libraries it links and the dynamic loader', (ctx) => {
    if (requireOrSkip(missing)) return ctx.skip();
    const libs = readdirSync(join(src, 'lib'));
    expect(libs).toContain('ld-linux.so');
    expect(libs.some((l) => l.startsWith('libc.so'))).toBe(true);
    expect(existsSync(join(src, 'bin/node'))).toBe(true);
  });

  test('install-on-host.sh installs the tree, the definitions in both hooks.d, and the hook path runs sandbox', (ctx) => {
    if (requireOrSkip(missing)) return ctx.skip();
    const r = install();
    expect(r, r.stderr).toMatchObject({ code: 0 });
    expect(releases()).toHaveLength(1);
    expect(current()).toBe(`releases/${releases()[0]}`);
    for (const dir of ['etc/containers/oci/hooks.d', 'usr/share/containers/oci/hooks.d']) {
      const names = readdirSync(join(host, dir)).sort();
      expect(names).toEqual(['50-sandbox-procfs-poststop.json', '50-sandbox-procfs.json']); // no temporary file left
      for (const n of names)
        expect(readFileSync(join(host, dir, n), 'utf8')).toBe(readFileSync(join(DEPLOY, 'hooks.d', n), 'utf8'));
    }
    // The definitions' hook.path, inside the scratch node: the node's own loader and libraries
    // are not used (ld.so --library-path), and `sandbox --help` answers.
    const def = JSON.parse(readFileSync(join(DEPLOY, 'hooks.d/50-sandbox-procfs.json'), 'utf8')) as {
      hook: { path: string };
    };
    const hook = run(join(host, def.hook.path), ['--help']);
    expect(hook.code, hook.stderr).toBe(0);
    expect(hook.stdout).toMatch(/^Usage: sandbox/);
    const again = install(); // idempotent: same release, nothing copied again
    expect(again.code).toBe(0);
    expect(again.stderr).not.toMatch(/installed release/);
    expect(releases()).toHaveLength(1);
  });

  test('an upgrade switches current, keeps the previous release and removes older ones', (ctx) => {
    if (requireOrSkip(missing)) return ctx.skip();
    const bundle = join(src, 'app/dist/supervisor/sandbox.bundle.cjs'); // what the release is named after
    const first = current();
    writeFileSync(bundle, readFileSync(bundle, 'utf8') + '\n// release 2\n');
    expect(install().code).toBe(0);
    const second = current();
    expect(second).not.toBe(first);
    expect(
      releases()
        .map((r) => `releases/${r}`)
        .sort(),
    ).toEqual([first, second].sort());
    writeFileSync(bundle, readFileSync(bundle, 'utf8') + '\n// release 3\n');
    expect(install().code).toBe(0);
    expect(
      releases()
        .map((r) => `releases/${r}`)
        .sort(),
    ).toEqual([second, current()].sort());
    expect(run(join(host, 'opt/sandbox-procfs/current/bin/sandbox'), ['--help']).code).toBe(0);
  });

  test('a missing hooks.d directory is skipped, not created (the node does not use that engine)', (ctx) => {
    if (requireOrSkip(missing)) return ctx.skip();
    rmSync(join(host, 'usr/share/containers/oci/hooks.d'), { recursive: true });
    const r = install();
    expect(r.code).toBe(0);
    expect(existsSync(join(host, 'usr/share/containers/oci/hooks.d'))).toBe(false);
    expect(r.stderr).toMatch(/hook definitions in \/etc\/containers\/oci\/hooks.d/);
  });
});
