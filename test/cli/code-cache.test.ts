// The CLI's entry (supervisor/main.cts) runs the bundle with the V8 code cache the build wrote, and
// runs it just as well without one, with another build's, or with one V8 rejects. With
// SANDBOX_TIMINGS=1 it says on stderr what the cache did. No root needed: --help and bad input only.
import { spawnSync } from 'node:child_process';
import { readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { cacheKind, cliCopyUnavailable, copyCli, type CliCopy } from '../helpers/cli-copy.js';
import { requireOrSkip } from '../helpers/skip.js';

const missing = cliCopyUnavailable();
let copy: CliCopy | undefined;

/** Run the copy's entry with SANDBOX_TIMINGS=1. */
function sandbox(args: string[], env: NodeJS.ProcessEnv = {}) {
  return spawnSync(process.execPath, [copy!.entry, ...args], {
    encoding: 'utf8',
    env: { ...process.env, SANDBOX_TIMINGS: '1', ...env },
    timeout: 10_000,
  });
}

/** The cache line of stderr. */
const cacheLine = (stderr: string) => stderr.split('\n').find((l) => l.startsWith('sandbox-code-cache ')) ?? '';

describe('the CLI entry and its code cache', () => {
  beforeEach((ctx) => {
    if (requireOrSkip(missing)) return ctx.skip();
    copy = copyCli();
  });
  afterEach(() => copy?.remove());

  it("the build leaves a cache that starts with the bundle's build line and that this Node accepts", () => {
    const buildLine = readFileSync(copy!.bundle, 'utf8').split('\n')[0]!;
    expect(buildLine).toMatch(/^\/\/ sandbox-build [0-9a-f]{16}$/);
    expect(readFileSync(copy!.cache, 'latin1').split('\n')[0]).toBe(buildLine);
    const r = sandbox(['--help']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^Usage: sandbox/);
    expect(cacheLine(r.stderr)).toMatch(/^sandbox-code-cache (help|run|views) accepted$/);
  });

  it('without a cache file the bundle is compiled as usual', () => {
    rmSync(copy!.cache);
    const r = sandbox(['--help']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^Usage: sandbox/);
    expect(cacheLine(r.stderr)).toBe('sandbox-code-cache none');
  });

  it('a cache of another build is not used', () => {
    const text = readFileSync(copy!.cache);
    writeFileSync(
      copy!.cache,
      Buffer.concat([Buffer.from('// sandbox-build 0000000000000000\n'), text.subarray(text.indexOf(0x0a) + 1)]),
    );
    const r = sandbox(['--help']);
    expect(r.status, r.stderr).toBe(0);
    expect(cacheLine(r.stderr)).toBe('sandbox-code-cache none');
  });

  it("a cache V8 rejects (this build's header, broken data) is compiled around", () => {
    const buildLine = readFileSync(copy!.bundle, 'utf8').split('\n')[0]!;
    writeFileSync(copy!.cache, `${buildLine}\nhelp\n${'x'.repeat(4096)}`);
    const r = sandbox(['--help']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^Usage: sandbox/);
    expect(cacheLine(r.stderr)).toBe('sandbox-code-cache help rejected');
  });

  it('SANDBOX_BUILD_CODE_CACHE=1 writes a "help" cache that the next start accepts', () => {
    rmSync(copy!.cache);
    expect(sandbox(['--help'], { SANDBOX_BUILD_CODE_CACHE: '1' }).status).toBe(0);
    expect(cacheKind(copy!.cache)).toBe('help');
    expect(cacheLine(sandbox(['--help']).stderr)).toBe('sandbox-code-cache help accepted');
  });

  it('a run that fails on its input (exit 125) leaves the cache as it was', () => {
    const before = readFileSync(copy!.cache);
    const inode = statSync(copy!.cache).ino;
    const r = sandbox(['run', '--cpu', 'lots', '--', 'true']);
    expect(r.status).toBe(125);
    expect(r.stderr).toMatch(/--cpu/);
    expect(statSync(copy!.cache).ino).toBe(inode);
    expect(readFileSync(copy!.cache).equals(before)).toBe(true);
  });
});
