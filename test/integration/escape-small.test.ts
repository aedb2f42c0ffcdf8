// Issue 19, finding 8 ("Smaller"), tried for real: symlinks a workload (or an earlier sandbox)
// plants where host root later works on paths, the /dev/ptmx `exec -t` opened, and the host's /proc
// PID 1 kept with --userns. Every attack aims only at canaries this file creates in its own 0700
// temp dir (empty directories, a marker file); never at the host's own files. The view-server
// memory cap of finding 8 belongs to issue 20.
import { spawn } from 'node:child_process';
import { lstatSync, mkdirSync, readdirSync, readlinkSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildBusyboxImage, imageUnavailable } from '../helpers/image.js';
import { cleanUpAfterEach, detached, initPid, scratchDir, waitInside } from '../helpers/lifecycle.js';
import { STAGE, cli, sandboxUnavailable } from '../helpers/sandbox.js';
import { requireOrSkip } from '../helpers/skip.js';

const skip = requireOrSkip(sandboxUnavailable() ?? imageUnavailable());

describe.skipIf(skip)('issue 19, finding 8: the smaller breaks stay closed', () => {
  const dir = scratchDir(tmpdir(), 'sandbox-small-');
  let image: string;
  let n = 0;
  /** A fresh directory of this test file's own (mkdtemp made the parent 0700). */
  const fresh = (name: string): string => {
    const path = join(dir(), `${name}${++n}`);
    mkdirSync(path);
    return path;
  };

  beforeAll(() => {
    image = join(dir(), 'image');
    buildBusyboxImage(image);
  });
  cleanUpAfterEach();

  it("commit: a symlink the workload planted over a mount point's parent does not make commit remove a host directory", async () => {
    const victim = fresh('victim');
    mkdirSync(join(victim, 'x')); // empty, as the mount point's parent in the copy would be
    const volume = fresh('volume');
    // /data/x/y is the volume's mount point: /data and /data/x are made in the upper, empty in
    // the copy, and pruned by commit. The workload moves /data away and plants /data -> VICTIM.
    const id = await detached([
      '--rootfs',
      image,
      '-v',
      `${volume}:/data/x/y`,
      '--',
      'sh',
      '-c',
      `mv /data /data.old && ln -s ${victim} /data && touch /ready && exec sleep 600`,
    ]);
    await waitInside(id, '/ready');
    const out = join(dir(), `committed${++n}`);
    const r = await cli(['commit', id, out]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(readdirSync(victim)).toEqual(['x']);
    expect(lstatSync(join(out, 'data')).isSymbolicLink()).toBe(true);
    expect(readlinkSync(join(out, 'data'))).toBe(victim);
  });

  /** One line on stderr, naming the flag, exit 125. */
  function refused(r: { code: number | null; stdout: string; stderr: string }, flag: RegExp): void {
    expect(r.code).toBe(125);
    expect(r.stdout).toBe('');
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(flag);
  }

  for (const part of ['upper', 'work'] as const) {
    it(`--keep DIR: a DIR/${part} symlink an earlier sandbox planted in its cwd is refused, not followed`, async () => {
      const target = fresh('target');
      const cwd = fresh('cwd');
      // The earlier sandbox: host root (--userns=host) on the host's root, the current directory writable.
      const plant = await cli(
        ['run', '--userns=host', '--', 'sh', '-c', `mkdir keep && ln -s ${target} keep/${part}`],
        { cwd },
      );
      expect(plant.stderr).toBe('');
      expect(plant.code).toBe(0);
      expect(lstatSync(join(cwd, 'keep', part)).isSymbolicLink()).toBe(true);
      const r = await cli([
        'run',
        '--rootfs',
        image,
        '--keep',
        join(cwd, 'keep'),
        '--',
        'sh',
        '-c',
        'echo planted > /planted',
      ]);
      refused(r, new RegExp(`^sandbox: --keep: .*keep/${part}.* symbolic link`));
      expect(readdirSync(target)).toEqual([]);
    });
  }

  /** The stage alone (what the supervisor spawns), as if a symlink was swapped in after the supervisor resolved its paths. */
  function stage(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
    const child = spawn(STAGE, ['--supervisor-pid', String(process.pid), ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    return new Promise((done) => child.on('close', (code) => done({ code, stdout, stderr })));
  }

  it('-v: a symlink swapped into a resolved source (last or middle component) is not followed by the stage', async () => {
    const canary = fresh('canary');
    writeFileSync(join(canary, 'marker'), 'canary\n');
    const swapped = fresh('swapped');
    symlinkSync(canary, join(swapped, 'data'));
    symlinkSync(dirname(canary), join(swapped, 'parent'));
    for (const source of [join(swapped, 'data'), join(swapped, 'parent', basename(canary))]) {
      const r = await stage(['--volume', `${source}:/tmp/v`, '--chdir', '/', '--', 'cat', '/tmp/v/marker']);
      expect(r.stdout).toBe('');
      expect(r.code).toBe(125);
      expect(r.stderr).toMatch(/--volume: openat2.*RESOLVE_NO_SYMLINKS.*symbolic links/);
    }
  });

  it("--keep: a DIR/upper symlink swapped in after the supervisor's check is not followed by the stage", async () => {
    const target = fresh('target');
    const keep = fresh('keep');
    symlinkSync(target, join(keep, 'upper'));
    mkdirSync(join(keep, 'work'));
    const rootAt = fresh('root-at');
    const r = await stage([
      '--layer',
      image,
      '--root-at',
      rootAt,
      '--upper',
      keep,
      '--chdir',
      '/',
      '--',
      'sh',
      '-c',
      'echo planted > /planted',
    ]);
    expect(r.code).toBe(125);
    expect(r.stderr).toMatch(/--keep: openat2.*upper.*RESOLVE_NO_SYMLINKS.*symbolic links/);
    expect(readdirSync(target)).toEqual([]);
  });

  it('exec -t: a FIFO the workload put on /dev/ptmx is not what exec opens; the pty comes from the devpts', async () => {
    const id = await detached([
      '--userns=host',
      '--',
      'sh',
      '-c',
      'rm /dev/ptmx && mkfifo /dev/ptmx && touch /dev/ready && exec sleep 600',
    ]);
    await waitInside(id, '/dev/ready');
    const r = await cli(['exec', '-t', id, '--', 'sh', '-c', 'tty; test -p /dev/ptmx && echo fifo']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^\/dev\/pts\/\d+\r?\nfifo\r?\n$/);
  });

  it("--userns: PID 1 holds no descriptor of the host's /proc", async () => {
    const id = await detached(['--userns', '--', 'sleep', '600']);
    const pid = initPid(id);
    const fds = readdirSync(`/proc/${pid}/fd`).map((fd) => {
      try {
        return readlinkSync(`/proc/${pid}/fd/${fd}`);
      } catch {
        return '';
      }
    });
    expect(fds.length).toBeGreaterThan(0);
    expect(fds.filter((link) => link === '/proc' || link.startsWith('/proc/'))).toEqual([]);
  });
});
