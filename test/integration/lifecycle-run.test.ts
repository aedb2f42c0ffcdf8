// `sandbox run` lifecycle flags through the CLI against real sandboxes: -d (detached), --name,
// --env/--clearenv, --workdir, --timeout. Nothing may be left behind after any test.
import { readFileSync, readlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cli, sandboxUnavailable } from '../helpers/sandbox.js';
import { requireOrSkip } from '../helpers/skip.js';
import { cgroupDir, cleanUpAfterEach, detached, gone, present, scratchDir, stateOf } from '../helpers/lifecycle.js';

const skip = requireOrSkip(sandboxUnavailable());
const LIMITS = ['--cpu', '20%', '--mem', '256M'];

/** Host pids in a cgroup directory. */
const procsIn = (dir: string): number[] =>
  readFileSync(`${dir}/cgroup.procs`, 'utf8').split('\n').filter(Boolean).map(Number);

describe.skipIf(skip)('sandbox run: lifecycle flags', () => {
  const workDir = scratchDir(tmpdir(), 'sandbox-lifecycle-');
  cleanUpAfterEach();

  describe('-d (detached)', () => {
    it('prints the id and exits 0 while the workload runs on, stdio on /dev/null, under a supervisor that is not the CLI', async () => {
      // It returned while the workload runs on: the sleep is found in the sandbox's cgroup below.
      const id = await detached([...LIMITS, '--', 'sleep', '30']);
      expect(present(id)).toBe(true);
      const state = stateOf(id);
      expect(state.detached).toBe(true);
      // The supervisor lives on in its own session; the workload (sleep) is in the sandbox's cgroup.
      const stat = readFileSync(`/proc/${state.supervisorPid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      expect(Number(fields[3])).toBe(state.supervisorPid); // session id (proc(5) field 6) = its own pid: setsid
      const pids = procsIn(cgroupDir(id, 'memory'));
      const sleeper = pids.find((p) => readFileSync(`/proc/${p}/comm`, 'utf8').trim() === 'sleep');
      expect(sleeper).toBeDefined();
      for (const fd of [0, 1, 2]) expect(readlinkSync(`/proc/${sleeper}/fd/${fd}`)).toBe('/dev/null');
    });

    it('a detached sandbox tears itself down when its workload ends', async () => {
      const id = await detached(['--', 'sleep', '0.2']);
      expect(await gone(id)).toBe(true);
    });

    it('a bad flag is reported by the foreground: one line, exit 125, nothing created', async () => {
      const r = await cli(['run', '-d', '--cpu', 'lots', '--', 'true']);
      expect(r.code).toBe(125);
      expect(r.stdout).toBe('');
      expect(r.stderr).toBe('sandbox: --cpu: expected a share like 20%, 150% or 0.5 (CPUs), got "lots"\n');
    });
  });

  describe('--name', () => {
    it('is recorded, refused while a live sandbox holds it, and free again once it is gone', async () => {
      const id = await detached(['--name', 'lc-web', '--', 'sleep', '30']);
      expect(stateOf(id).name).toBe('lc-web');
      const again = await cli(['run', '-d', '--name', 'lc-web', '--', 'true']);
      expect(again.code).toBe(125);
      expect(again.stdout).toBe('');
      expect(again.stderr).toBe(`sandbox: --name: "lc-web" is already used by sandbox ${id}\n`);
      const fg = await cli(['run', '--name', 'lc-web', '--', 'true']);
      expect(fg.code).toBe(125);
      expect(fg.stderr).toBe(`sandbox: --name: "lc-web" is already used by sandbox ${id}\n`);

      expect((await cli(['kill', 'lc-web'])).code).toBe(0);
      expect(await gone(id)).toBe(true);
      const reuse = await cli(['run', '--name', 'lc-web', '--', 'true']);
      expect(reuse.code).toBe(0);
    });

    it('rejects a name docker would reject', async () => {
      const r = await cli(['run', '--name', '-bad name', '--', 'true']);
      expect(r.code).toBe(125);
      expect(r.stderr).toBe(
        `sandbox: --name: expected a letter or digit, then letters, digits, '_', '.' or '-' (at most 64), got "-bad name"\n`,
      );
    });
  });

  describe('--env, --clearenv, --workdir', () => {
    it('--clearenv leaves only the --env variables; a bare --env NAME copies it from the caller', async () => {
      const r = await cli(
        ['run', '--clearenv', '--env', 'A=1=2', '-e', 'FROM_CALLER', '-e', 'EMPTY=', '--', '/usr/bin/env'],
        {
          env: { ...process.env, FROM_CALLER: 'yes' },
        },
      );
      expect(r.stderr).toBe('');
      expect(r.stdout.trim().split('\n').sort()).toEqual(['A=1=2', 'EMPTY=', 'FROM_CALLER=yes']);
    });

    it('--env adds to the inherited environment', async () => {
      const r = await cli(['run', '--env', 'MODE=ci', '--', 'sh', '-c', 'echo $MODE $LC_SANDBOX_MARK'], {
        env: { ...process.env, LC_SANDBOX_MARK: 'kept' },
      });
      expect(r.stdout).toBe('ci kept\n');
    });

    it('--workdir runs the command there, writable', async () => {
      const r = await cli([
        'run',
        '--userns=host',
        '--workdir',
        workDir(),
        '--',
        'sh',
        '-c',
        'pwd; echo x > made && echo wrote',
      ]);
      expect(r.stderr).toBe('');
      expect(r.stdout).toBe(`${workDir()}\nwrote\n`);
      expect(readFileSync(join(workDir(), 'made'), 'utf8')).toBe('x\n');
    });

    it.each([
      [['--env', '1BAD=x'], `sandbox: --env: expected NAME=VALUE with a name of letters, digits and '_', got "1BAD=x"`],
      [['--workdir', 'relative'], 'sandbox: --workdir: expected an absolute path, got "relative"'],
      [['--workdir', '/no/such/dir'], 'sandbox: --workdir: no such directory "/no/such/dir"'],
      [['--timeout', '10x'], 'sandbox: --timeout: expected a duration like 30s, 1.5m or 250ms, got "10x"'],
      [['--timeout', '0'], 'sandbox: --timeout: must be more than 0 and less than 24 days, got "0"'],
    ])('rejects %j with one line and 125', async (flags, message) => {
      const r = await cli(['run', ...flags, '--', 'true']);
      expect(r.code).toBe(125);
      expect(r.stderr).toBe(`${message}\n`);
    });
  });

  describe('--user', () => {
    it('runs the command as that uid and gid, without capabilities, still seeing the views', async () => {
      const r = await cli([
        'run',
        '--user',
        '1000:1001',
        ...LIMITS,
        '--',
        'sh',
        '-c',
        'id -u; id -g; id -G; grep -E "^(CapEff|NoNewPrivs)" /proc/self/status; head -1 /proc/meminfo; nproc',
      ]);
      expect(r.stderr).toBe('');
      expect(r.stdout.split('\n').map((l) => l.replace(/\s+/g, ' '))).toEqual([
        '1000',
        '1001',
        '1001',
        'CapEff: 0000000000000000',
        'NoNewPrivs: 1',
        'MemTotal: 262144 kB',
        '1',
        '',
      ]);
    });

    it('a bare UID uses the same number as GID; sandbox exec runs as that user too', async () => {
      const id = await detached(['--user', '1234', '--', 'sleep', '30']);
      const r = await cli(['exec', id, '--', 'sh', '-c', 'id -u; id -g; cat /proc/2/status | grep ^Uid']);
      expect(r.stdout.split('\n').map((l) => l.replace(/\s+/g, ' '))).toEqual([
        '1234',
        '1234',
        'Uid: 1234 1234 1234 1234',
        '',
      ]);
    });

    it.each(['root', '1000:', '-1', '4294967295'])('rejects --user %s with one line and 125', async (value) => {
      const r = await cli(['run', '--user', value, '--', 'true']);
      expect(r.code).toBe(125);
      expect(r.stderr).toBe(`sandbox: --user: expected a numeric UID or UID:GID like 1000:1000, got "${value}"\n`);
    });
  });

  describe('--timeout', () => {
    it('SIGTERMs the command when the time is up: exit 124 and one line', async () => {
      const t0 = Date.now();
      const r = await cli(['run', '--timeout', '500ms', '--', 'sleep', '1000']);
      const took = Date.now() - t0;
      expect(r.code).toBe(124);
      expect(r.stderr).toBe('sandbox: sleep timed out after 500ms and was killed\n');
      expect(took).toBeGreaterThanOrEqual(500); // the timeout is a minimum; without it sleep 1000 would outlast the test
    });

    it('SIGKILLs a command that ignores SIGTERM after the 2 s grace', async () => {
      const t0 = Date.now();
      const r = await cli(['run', '--timeout', '0.5s', '--', 'sh', '-c', 'trap "" TERM; sleep 1000; echo not-reached']);
      const took = Date.now() - t0;
      expect(r.code).toBe(124);
      expect(r.stdout).toBe(''); // without the SIGKILL, sh and sleep (both ignoring SIGTERM) would outlast the test
      expect(took).toBeGreaterThanOrEqual(2500); // the timeout and the grace are minimums
    });

    it('a command that ends in time keeps its own status', async () => {
      const r = await cli(['run', '--timeout', '30s', '--', 'sh', '-c', 'exit 3']);
      expect(r.code).toBe(3);
      expect(r.stderr).toBe('');
    });
  });
});
