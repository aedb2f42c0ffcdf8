// Pure parts of the lifecycle commands: flag parsers, the environment, limit merging for update,
// the figures of ps/stats, and the stage's exec argv.
import { describe, expect, it } from 'vitest';
import type { CgroupLimits, CgroupStats } from '../../../supervisor/cgroup/types.js';
import { execStageArgs } from '../../../supervisor/commands/exec.js';
import { figuresOf, formatTable, formatUptime } from '../../../supervisor/commands/figures.js';
import { parseSignal } from '../../../supervisor/commands/kill.js';
import { DETACHED_ENV, parseTimeout, parseUser, workloadEnv } from '../../../supervisor/commands/run-options.js';
import { mergeLimits } from '../../../supervisor/commands/update.js';
import { validateName } from '../../../supervisor/names.js';
import type { SandboxState } from '../../../supervisor/state.js';

const MiB = 1024 * 1024;
const HOST = { onlineCpus: [0, 1], memTotalBytes: 8192 * MiB };

describe('parseSignal', () => {
  it.each([
    ['TERM', 'SIGTERM'],
    ['sigint', 'SIGINT'],
    ['SIGKILL', 'SIGKILL'],
    ['9', 'SIGKILL'],
    ['hup', 'SIGHUP'],
  ])('%s -> %s', (text, name) => expect(parseSignal(text)).toBe(name));
  it.each(['BOGUS', 'SIG', '999', '', '-9'])('rejects "%s" naming --signal', (text) =>
    expect(() => parseSignal(text)).toThrow(
      `--signal: expected a signal name like TERM, SIGINT or KILL, or its number, got "${text}"`,
    ),
  );
});

describe('parseTimeout', () => {
  it.each([
    ['30s', 30_000],
    ['30', 30_000],
    ['1.5m', 90_000],
    ['250ms', 250],
    ['2h', 7_200_000],
  ])('%s -> %d ms', (text, ms) => expect(parseTimeout(text)).toBe(ms));
  it.each(['0', '0s', '-1s', '10x', '1d'])('rejects "%s"', (text) =>
    expect(() => parseTimeout(text)).toThrow(/^--timeout: /),
  );
});

describe('parseUser', () => {
  it('UID:GID and a bare UID (gid = uid)', () => {
    expect(parseUser('1000:1001')).toEqual({ uid: 1000, gid: 1001 });
    expect(parseUser('0')).toEqual({ uid: 0, gid: 0 });
    expect(parseUser('65534')).toEqual({ uid: 65534, gid: 65534 });
  });
  it.each(['root', '1000:', ':1000', '4294967295', '1:2:3', ''])('rejects "%s"', (text) =>
    expect(() => parseUser(text)).toThrow(/^--user: /),
  );
});

describe('workloadEnv', () => {
  const caller = { PATH: '/bin', HOME: '/root', [DETACHED_ENV]: '1' };
  it('inherits, adds and overrides; never passes on the internal variable', () => {
    expect(workloadEnv(caller, ['A=1', 'HOME=/x'], false)).toEqual({ PATH: '/bin', HOME: '/x', A: '1' });
  });
  it('--clearenv keeps only --env; a bare NAME copies it, or is skipped when unset', () => {
    expect(workloadEnv(caller, ['PATH', 'UNSET', 'B=x=y', 'E='], true)).toEqual({ PATH: '/bin', B: 'x=y', E: '' });
  });
  it.each(['=x', '1A=2', 'A-B=1'])('rejects "%s"', (a) =>
    expect(() => workloadEnv(caller, [a], false)).toThrow(/^--env: /),
  );
});

describe('validateName', () => {
  it.each(['web', 'a', 'job_1.v2-b', 'A'.repeat(64)])('accepts %s', (n) => expect(validateName(n)).toBe(n));
  it.each(['', '-x', '.x', 'a b', 'a/b', 'A'.repeat(65)])('rejects "%s"', (n) =>
    expect(() => validateName(n)).toThrow(/^--name: /),
  );
});

describe('mergeLimits (sandbox update)', () => {
  const current: CgroupLimits = {
    cpuQuotaUs: 20_000,
    cpuPeriodUs: 100_000,
    cpuBurstUs: 10_000,
    cpuWeight: null,
    cpusetCpus: [1],
    memoryBytes: 256 * MiB,
    swapBytes: 0,
    pidsMax: 4096,
  };
  it('changes only what is given, in kernel units of the current period', () => {
    expect(mergeLimits(current, { cpu: '50%', mem: '512M', pids: '64' }, HOST)).toEqual({
      ...current,
      cpuQuotaUs: 50_000,
      memoryBytes: 512 * MiB,
      pidsMax: 64,
    });
  });
  it('a smaller quota takes the burst down with it; "max" removes quota and burst', () => {
    expect(mergeLimits(current, { cpu: '5%' }, HOST)).toMatchObject({ cpuQuotaUs: 5_000, cpuBurstUs: 5_000 });
    expect(mergeLimits(current, { cpu: 'max' }, HOST)).toMatchObject({ cpuQuotaUs: null, cpuBurstUs: null });
    expect(mergeLimits(current, { mem: 'max', pids: 'max' }, HOST)).toMatchObject({ memoryBytes: null, pidsMax: null });
  });
  it('cpuset and weight', () => {
    expect(mergeLimits(current, { cpusetCpus: '0-1', cpuWeight: '200' }, HOST)).toMatchObject({
      cpusetCpus: [0, 1],
      cpuWeight: 200,
    });
  });
  it.each([
    [{ mem: '1M' }, /^--mem: /],
    [{ cpu: '300%' }, /^--cpu: /],
    [{ cpu: '0.5%' }, /^--cpu: .* below the kernel's minimum/],
    [{ pids: '0' }, /^--pids: /],
    [{ cpusetCpus: '7' }, /^--cpuset-cpus: /],
    [{ mem: 'max', swap: '1G' }, /^--swap: needs a memory limit/],
  ])('rejects %j', (flags, message) => expect(() => mergeLimits(current, flags, HOST)).toThrow(message));
});

describe('figuresOf', () => {
  const state: SandboxState = {
    id: 'abc',
    supervisorPid: 1,
    supervisorStartTicks: 1,
    startedAtMs: 10_000,
    command: ['sh', '-c', 'x'],
    cgroupDirs: [],
    mountpoint: '/run/sandbox/abc/views',
    cpus: [0],
    name: 'web',
  };
  const stats = (userUs: number, systemUs: number): CgroupStats => ({
    memory: {
      limitBytes: 256 * MiB,
      usageBytes: 10 * MiB,
      swapLimitBytes: 0,
      swapUsageBytes: 0,
      stat: {},
      oomKills: 2,
    },
    cpu: {
      quotaUs: 20_000,
      periodUs: 100_000,
      cpus: [0],
      userUs,
      systemUs,
      perCpu: null,
      nrPeriods: 50,
      nrThrottled: 40,
      throttledUs: 1_000,
    },
    pids: { current: 3, max: 4096 },
  });
  it('since start: CPU time / elapsed, as ps(1); of quota = of one CPU / quota CPUs', () => {
    const f = figuresOf(state, stats(1_500_000, 500_000), 20_000); // 2 s of CPU in 10 s
    expect(f).toMatchObject({
      id: 'abc',
      name: 'web',
      uptimeSeconds: 10,
      cpuUsageUs: 2_000_000,
      cpuPercentOfOneCpu: 20,
      cpuPercentOfQuota: 100,
      quotaCpus: 0.2,
    });
    expect(f).toMatchObject({
      memoryBytes: 10 * MiB,
      memoryLimitBytes: 256 * MiB,
      pids: 3,
      pidsMax: 4096,
      throttledPeriods: 40,
      throttledUs: 1_000,
      oomKills: 2,
    });
  });
  it('over a window since an earlier reading', () => {
    const f = figuresOf(state, stats(2_100_000, 0), 21_000, { usageUs: 2_000_000, atMs: 20_000 }); // 0.1 s in 1 s
    expect(f.cpuPercentOfOneCpu).toBe(10);
    expect(f.cpuPercentOfQuota).toBe(50);
    expect(f.cpuWindowSeconds).toBe(1);
  });
});

describe('formatting', () => {
  it('uptime', () => {
    expect([5, 65, 3_700, 90_000].map(formatUptime)).toEqual(['5s', '1m05s', '1h01m', '1d01h']);
  });
  it('table: left-aligned columns, two spaces apart, no trailing blanks', () => {
    expect(
      formatTable(
        ['ID', 'NAME'],
        [
          ['a', 'web'],
          ['bbbb', '-'],
        ],
      ),
    ).toBe('ID    NAME\na     web\nbbbb  -\n');
  });
});

describe('execStageArgs', () => {
  it('follows the stage contract (native/stage/options.c)', () => {
    expect(
      execStageArgs(10, 20, ['/a/cgroup.procs', '/b/cgroup.procs'], '/work', ['sh', '-c', 'x'], {
        uid: 1000,
        gid: 1001,
      }),
    ).toEqual([
      '--supervisor-pid',
      '10',
      '--exec-into',
      '20',
      '--cgroup-procs',
      '/a/cgroup.procs',
      '--cgroup-procs',
      '/b/cgroup.procs',
      '--user',
      '1000:1001',
      '--chdir',
      '/work',
      '--',
      'sh',
      '-c',
      'x',
    ]);
  });
  it('passes --tty before --chdir only for exec -t', () => {
    const args = execStageArgs(10, 20, [], '/work', ['sh'], null, null, true);
    expect(args.slice(args.indexOf('--tty'), args.indexOf('--tty') + 2)).toEqual(['--tty', '--chdir']);
    expect(execStageArgs(10, 20, [], '/work', ['sh'])).not.toContain('--tty');
  });
});
