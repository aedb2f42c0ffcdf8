// The first `sandbox run` of a build rewrites the build's code cache (written after --help) as one
// that holds the run path's compiled functions too, once, and the first run whose own views were
// read once more (the view-read path): later runs keep it (supervisor/main.cts).
// Root: it runs real sandboxes, from a private copy of the CLI (test/helpers/cli-copy.ts).
import { spawnSync } from 'node:child_process';
import { rmSync, statSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { cacheKind, cliCopyUnavailable, copyCli, type CliCopy } from '../helpers/cli-copy.js';
import { leftovers, removeLeftoverCgroups, sandboxUnavailable } from '../helpers/sandbox.js';
import { requireOrSkip } from '../helpers/skip.js';

const skip = requireOrSkip(sandboxUnavailable() ?? cliCopyUnavailable());
let copy: CliCopy | undefined;

/** `sandbox run --cpu 20% --mem 256M -- ARGS` through the copy, with SANDBOX_TIMINGS=1, serving its own views. */
function run(args: string[]) {
  return spawnSync(process.execPath, [copy!.entry, 'run', '--cpu', '20%', '--mem', '256M', '--', ...args], {
    encoding: 'utf8',
    env: { ...process.env, SANDBOX_TIMINGS: '1', SANDBOX_PROCFS_SOCKET: '' },
    timeout: 30_000,
  });
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
    // As the build writes it: from no cache. The copied one may be a run's already (another test's
    // `sandbox run` rewrote the build's), and --help would then serialize the run path it loaded.
    rmSync(copy.cache, { force: true });
    const build = spawnSync(process.execPath, [copy.entry, '--help'], {
      env: { ...process.env, SANDBOX_BUILD_CODE_CACHE: '1' },
    });
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

  it('the first run whose views were read rewrites a "run" cache as a "views" cache, once; a run without reads keeps it', () => {
    copy = copyCli();
    const build = spawnSync(process.execPath, [copy.entry, '--help'], {
      env: { ...process.env, SANDBOX_BUILD_CODE_CACHE: '1' },
    });
    expect(build.status).toBe(0);
    const first = run(['true']);
    expect(first.status, first.stderr).toBe(0);
    expect(cacheKind(copy.cache)).toBe('run');
    const runCache = statSync(copy.cache);

    const reading = run(['head', '-1', '/proc/meminfo']);
    expect(reading.status, reading.stderr).toBe(0);
    expect(reading.stdout).toMatch(/^MemTotal:\s+262144 kB$/m); // our view, served by this run's main thread
    expect(cacheKind(copy.cache)).toBe('views');
    const viewsCache = statSync(copy.cache);
    expect(viewsCache.ino).not.toBe(runCache.ino);

    for (const args of [['true'], ['head', '-1', '/proc/meminfo']]) {
      const again = run(args);
      expect(again.status, again.stderr).toBe(0);
      expect(again.stderr).toMatch(/^sandbox-code-cache views accepted$/m);
      expect(statSync(copy.cache).ino).toBe(viewsCache.ino);
    }
  });
});
