// `sandbox doctor` on this host (root, v1 hybrid, /dev/fuse, mount(8): everything present), a
// failing check with its fix, and the lifecycle commands' "not root" error.
import { spawn } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { CLI, cli, finish, leftovers, removeLeftoverCgroups, sandboxUnavailable } from '../helpers/sandbox.js';
import { requireOrSkip } from '../helpers/skip.js';
import { FIRST_ABI_WITH_SCOPES, landlockAbi } from '../../supervisor/landlock.js';

const skip = requireOrSkip(sandboxUnavailable());

/** Run the CLI as the unprivileged user nobody (65534). */
const asNobody = (args: string[]) =>
  finish(spawn(process.execPath, [CLI, ...args], { uid: 65534, gid: 65534, stdio: ['ignore', 'pipe', 'pipe'] }));

describe.skipIf(skip)('sandbox doctor', () => {
  afterEach(() => {
    const left = leftovers();
    removeLeftoverCgroups();
    expect(left).toEqual([]);
  });

  it('passes every check on this host, one plain line each', async () => {
    const r = await cli(['doctor']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const lines = r.stdout
      .trim()
      .split('\n')
      .filter((l) => !l.startsWith('      fix: '));
    const names = lines.map((l) => /^ok {4}([^:]+):/.exec(l)?.[1]);
    // Landlock scopes (ABI 6, Linux 6.12) are a warning where the kernel lacks them, never a failure.
    const landlock =
      landlockAbi() >= FIRST_ABI_WITH_SCOPES
        ? /^ok {4}landlock: ABI \d+: /.source
        : /^warn {2}landlock: .*--net none/.source;
    expect(lines.pop()).toMatch(new RegExp(landlock));
    expect(names.slice(0, -1)).toEqual([
      'root',
      'cgroups',
      '/dev/fuse',
      'mount(8)',
      'user namespaces',
      'default user namespace',
      'namespaces',
      'native stage',
      'lxcfs',
    ]);
    const json = JSON.parse((await cli(['doctor', '--json'])).stdout) as { name: string; ok: boolean }[];
    expect(json.every((c) => c.ok)).toBe(true);
  });

  it('says what is missing and the command that fixes it, exit 1', async () => {
    const r = await cli(['doctor'], { env: { ...process.env, PATH: '/nonexistent' } });
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(
      'FAIL  mount(8): missing mount (mounts the views) and umount (unmounts the views)\n      fix: apt-get update && apt-get install -y mount\n',
    );
  });

  it('a current directory whose file system refuses ID-mapped mounts: the default user namespace check fails with its fix', async () => {
    const r = await cli(['doctor'], { cwd: '/sys/kernel' }); // sysfs: no FS_ALLOW_IDMAP
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(
      /^FAIL {2}default user namespace: .*\/sys\/kernel, MOUNT_ATTR_IDMAP.*\(errno \d+\)\n {6}fix: .*--userns=host\n/m,
    );
  });

  it('not root: doctor says so with the fix; every other command refuses with 125, one line naming it', async () => {
    const doctor = await asNobody(['doctor']);
    expect(doctor.code).toBe(1);
    expect(doctor.stdout).toContain(
      'FAIL  root: running as uid 65534: cgroups, namespaces and the FUSE mount need root\n      fix: sudo sandbox …\n',
    );
    for (const [args, command] of [
      [['ps'], 'ps'],
      [['stats', '--no-stream'], 'stats'],
      [['kill', 'x'], 'kill'],
      [['stop', 'x'], 'stop'],
      [['exec', 'x', '--', 'true'], 'exec'],
      [['run', '--', 'true'], 'run'],
      [['gc'], 'gc'],
      [['commit', 'x', '/tmp/x'], 'commit'],
      [['procfs', 'serve'], 'procfs serve'],
      [['oci-hook'], 'oci-hook'],
    ] as const) {
      const r = await asNobody([...args]);
      expect(r.code).toBe(125);
      expect(r.stderr).toBe(`sandbox: ${command}: needs root; try sudo\n`);
    }
    const update = await asNobody(['update', 'x', '--pids', '5']);
    expect(update.code).toBe(125);
    expect(update.stderr).toBe('sandbox: update: needs root; try sudo\n');
  });
});
