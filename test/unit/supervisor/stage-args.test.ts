import { describe, expect, it } from 'vitest';
import { CommanderError } from 'commander';
import { exitCodeFor } from '../../../supervisor/commands/exit-code.js';
import { SandboxError, UsageError } from '../../../supervisor/errors.js';
import { stageArgs } from '../../../supervisor/stage.js';

describe('stageArgs', () => {
  const base = {
    supervisorPid: 4242,
    procsFiles: ['/sys/fs/cgroup/memory/a/sandbox-x/cgroup.procs', '/sys/fs/cgroup/cpu/sandbox-x/cgroup.procs'],
    hostname: 'box',
    net: 'none' as const,
    views: [{ source: '/run/sandbox/x/views/x/meminfo', target: '/proc/meminfo' }],
    writableDirs: ['/home/me/project'],
    workdir: '/home/me/project',
    command: ['ls', '-l', '--', 'a b'],
    env: {},
  };

  it('passes v1 hierarchies, views, writable dirs and the command after "--" unchanged', () => {
    expect(stageArgs({ ...base, v1Hierarchies: [{ dirName: 'cpu,cpuacct', controllers: 'cpu,cpuacct' }] })).toEqual([
      '--supervisor-pid',
      '4242',
      '--sync-fd',
      '3',
      '--hostname',
      'box',
      '--net',
      'none',
      '--cgroup-procs',
      '/sys/fs/cgroup/memory/a/sandbox-x/cgroup.procs',
      '--cgroup-procs',
      '/sys/fs/cgroup/cpu/sandbox-x/cgroup.procs',
      '--cgroup-v1',
      'cpu,cpuacct:cpu,cpuacct',
      '--bind-view',
      '/run/sandbox/x/views/x/meminfo:/proc/meminfo',
      '--rw',
      '/home/me/project',
      '--chdir',
      '/home/me/project',
      '--',
      'ls',
      '-l',
      '--',
      'a b',
    ]);
  });

  it('passes the layers lowest first, a kept upper of the same range as --layer-host-ids in its place', () => {
    const root = {
      layers: ['/img', '/keep/upper', '/top'],
      hostIdLayers: ['/keep/upper'],
      rootAt: '/run/sandbox/x/root',
      upper: null,
      readOnly: false,
    };
    const args = stageArgs({ ...base, v1Hierarchies: null, root });
    const at = args.indexOf('/img');
    expect(args.slice(at - 1, at + 7)).toEqual([
      '--layer',
      '/img',
      '--layer-host-ids',
      '/keep/upper',
      '--layer',
      '/top',
      '--root-at',
      '/run/sandbox/x/root',
    ]);
  });

  it('asks for cgroup2 when there are no v1 hierarchies', () => {
    const args = stageArgs({ ...base, v1Hierarchies: null });
    expect(args).toContain('--cgroup-v2');
    expect(args).not.toContain('--cgroup-v1');
  });

  it('passes --tty (no value) before --chdir only with -t', () => {
    const args = stageArgs({ ...base, v1Hierarchies: null, tty: true });
    expect(args.slice(args.indexOf('--tty'), args.indexOf('--tty') + 2)).toEqual(['--tty', '--chdir']);
    expect(stageArgs({ ...base, v1Hierarchies: null })).not.toContain('--tty');
  });

  it('passes --userns UID:GID:COUNT before --chdir only with --userns', () => {
    const args = stageArgs({ ...base, v1Hierarchies: null, userns: { uid: 100000, gid: 200000, count: 65536 } });
    expect(args.slice(args.indexOf('--userns'), args.indexOf('--userns') + 3)).toEqual([
      '--userns',
      '100000:200000:65536',
      '--chdir',
    ]);
    expect(stageArgs({ ...base, v1Hierarchies: null, userns: null })).not.toContain('--userns');
  });

  it('passes --idmap UID:GID after --userns, and only with a user namespace', () => {
    const userns = { uid: 100000, gid: 100000, count: 65536 };
    const args = stageArgs({ ...base, v1Hierarchies: null, userns, idmap: { uid: 1000, gid: 1001 } });
    expect(args.slice(args.indexOf('--userns'), args.indexOf('--userns') + 5)).toEqual([
      '--userns',
      '100000:100000:65536',
      '--idmap',
      '1000:1001',
      '--chdir',
    ]);
    expect(stageArgs({ ...base, v1Hierarchies: null, userns: null, idmap: { uid: 1000, gid: 1001 } })).not.toContain(
      '--idmap',
    );
    expect(stageArgs({ ...base, v1Hierarchies: null, userns, idmap: null })).not.toContain('--idmap');
  });

  it('passes --detach-views DIR only when given the views mountpoint', () => {
    const args = stageArgs({ ...base, v1Hierarchies: null, detachViews: '/run/sandbox/x/views' });
    expect(args.slice(args.indexOf('--detach-views'), args.indexOf('--detach-views') + 2)).toEqual([
      '--detach-views',
      '/run/sandbox/x/views',
    ]);
    expect(args.indexOf('--detach-views')).toBeLessThan(args.indexOf('--'));
    expect(stageArgs({ ...base, v1Hierarchies: null })).not.toContain('--detach-views');
  });

  it('passes --user UID:GID before --chdir when asked', () => {
    const args = stageArgs({ ...base, v1Hierarchies: null, user: { uid: 1000, gid: 1001 } });
    expect(args.slice(args.indexOf('--user'), args.indexOf('--user') + 4)).toEqual([
      '--user',
      '1000:1001',
      '--chdir',
      '/home/me/project',
    ]);
    expect(stageArgs({ ...base, v1Hierarchies: null })).not.toContain('--user');
  });
});

describe('exitCodeFor', () => {
  const run = (err: unknown) => {
    const lines: string[] = [];
    return { code: exitCodeFor(err, (l) => lines.push(l)), lines };
  };

  it('prints one sandbox: line and 125 for usage and sandbox errors', () => {
    expect(run(new UsageError('--mem', 'expected a size like 256M or 1.5G, got "x"'))).toEqual({
      code: 125,
      lines: ['sandbox: --mem: expected a size like 256M or 1.5G, got "x"'],
    });
    expect(run(new SandboxError('stage failed', 126))).toEqual({ code: 126, lines: ['sandbox: stage failed'] });
  });

  it("turns commander's usage errors into 125 without its 'error:' prefix, help into 0", () => {
    expect(run(new CommanderError(1, 'commander.unknownOption', "error: unknown option '--x'"))).toEqual({
      code: 125,
      lines: ["sandbox: unknown option '--x'"],
    });
    expect(run(new CommanderError(0, 'commander.helpDisplayed', '(outputHelp)'))).toEqual({ code: 0, lines: [] });
  });

  it('reports anything else as an internal error with exit 125', () => {
    const { code, lines } = run(new TypeError('boom'));
    expect(code).toBe(125);
    expect(lines[0]).toMatch(/^sandbox: internal error: TypeError: boom/);
  });
});
