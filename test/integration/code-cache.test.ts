// The first `sandbox run` of a build rewrites the build's code cache (written after --help) as one
// that holds the run path's compiled functions too, once: later runs keep it (supervisor/main.cts).
// Root: it runs real sandboxes, from a private copy of the CLI (test/helpers/cli-copy.ts).
import { spawnSync } from 'node:child_process';
import { statSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { cacheKind, cliCopyUnavailable, copyCli, type CliCopy } from '../helpers/cli-copy.js';
import { leftovers, removeLeftoverCgroups, sandboxUnavailable } from '../helpers/sandbox.js';
import { requireOrSkip } from '../helpers/skip.js';

const skip = requireOrSkip(sandboxUnavailable() ?? cliCopyUnavailable());
let copy: CliCopy | undefined;

/** `sandbox run --cpu 20% --mem 256M -- ARGS` through the copy, with SANDBOX_TIMINGS=1. */
function run(args: string[]) {
  return spawnSync(process.execPath, [copy!.entry, 'run', '--cpu', '20%', '--mem', '256M', '--', ...args], { encoding: 'utf8', env: { ...process.env, SANDBOX_TIMINGS: '1' }, timeout: 30_000 });
}

describe.skipIf(skip)('the code cache and sandbox run', () => {
  afterEach(() => {
    copy?.remove();
    const left = leftovers();
    removeLeftoverCgroups();
    expect(left).toEqual([]);
  });

  it('the first run rewrites the build\'s "help" cache as a "run" cache, accepted by the next run, and nothing rewrites it again', () => {
    copy = copyCli();
    const build = spawnSync(process.execPath, [copy.entry, '--help'], { env: { ...process.env, SANDBOX_BUILD_CODE_CACHE: '1' } });
    expect(build.status).toBe(0);
    expect(cacheKind(copy.cache)).toBe('help');
    const helpCache = statSync(copy.cache);

    const first = run(['true']);
    expect(first.status, first.stderr).toBe(0);
    expect(first.stderr).toMatch(/^sandbox-code-cache help accepted$/m);
    expect(cacheKind(copy.cache)).toBe('run');
    const runCache = statSync(copy.cache);
    expect(runCache.ino).not.toBe(helpCache.ino); // replaced by rename(2), never written in place
    expect(runCache.size).toBeGreaterThan(helpCache.size); // the run path's functions are in it

    const second = run(['sh', '-c', 'exit 3']); // the command's own status: still a run that ran
    expect(second.status, second.stderr).toBe(3);
    expect(second.stderr).toMatch(/^sandbox-code-cache run accepted$/m);
    expect(statSync(copy.cache).ino).toBe(runCache.ino);
  });
});
