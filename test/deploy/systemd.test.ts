// deploy/systemd/sandbox-procfs.service through `systemd-analyze verify` (systemd's own parser:
// unknown keys, bad values, a missing ExecStart binary), in a scratch root holding the unit, a
// stand-in /usr/local/bin/sandbox and the system's unit files. verify exits 0 on a key it ignores
// and only warns, so any output at all is a failure here.
import { spawnSync } from 'node:child_process';
import { chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { DEPLOY } from '../helpers/deploy-files.js';
import { needsSetup, requireOrSkip } from '../helpers/skip.js';

const UNIT = readFileSync(join(DEPLOY, 'systemd/sandbox-procfs.service'), 'utf8');
const analyze = spawnSync('systemd-analyze', ['--version'], { encoding: 'utf8' });
const missing =
  analyze.status === 0
    ? null
    : needsSetup('needs systemd-analyze (Debian package systemd; native/setup.sh installs it)');
const root = mkdtempSync(join(tmpdir(), 'unit-root-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** `systemd-analyze verify` of UNIT TEXT in the scratch root: its exit code and all it printed. */
function verify(text: string): { code: number | null; output: string } {
  if (!existsSync(join(root, 'usr/local/bin/sandbox'))) {
    mkdirSync(join(root, 'usr/local/bin'), { recursive: true });
    mkdirSync(join(root, 'etc/systemd/system'), { recursive: true });
    cpSync('/usr/lib/systemd/system', join(root, 'usr/lib/systemd/system'), {
      recursive: true,
      verbatimSymlinks: true,
    });
    writeFileSync(join(root, 'usr/local/bin/sandbox'), '#!/bin/sh\n');
    chmodSync(join(root, 'usr/local/bin/sandbox'), 0o755);
    // ExecReload's /bin/kill (procps; /bin is /usr/bin on Debian 12): what every host has.
    mkdirSync(join(root, 'bin'), { recursive: true });
    writeFileSync(join(root, 'bin/kill'), '#!/bin/sh\n');
    chmodSync(join(root, 'bin/kill'), 0o755);
  }
  writeFileSync(join(root, 'etc/systemd/system/sandbox-procfs.service'), text);
  const r = spawnSync('systemd-analyze', ['verify', `--root=${root}`, '--man=no', 'sandbox-procfs.service'], {
    encoding: 'utf8',
  });
  return { code: r.status, output: `${r.stdout}${r.stderr}`.trim() };
}

describe('systemd unit', () => {
  test('systemd-analyze verify accepts it without a warning', (ctx) => {
    if (requireOrSkip(missing)) return ctx.skip();
    expect(verify(UNIT)).toEqual({ code: 0, output: '' });
  });

  test.for([
    ['a misspelled key', 'Type=simple', 'Typ=simple', /Unknown key 'Typ'/],
    ['a bad Restart= value', 'Restart=on-failure', 'Restart=sometimes', /restart specifier/],
    ['a missing binary', 'ExecStart=/usr/local/bin/sandbox', 'ExecStart=/usr/local/bin/sandboxd', /not executable/],
  ] as const)('%s is caught', ([, from, to, message], ctx) => {
    if (requireOrSkip(missing)) return ctx.skip();
    expect(UNIT).toContain(from);
    const r = verify(UNIT.replace(from, to));
    expect(r.output).toMatch(message);
  });

  test('it runs the daemon with the Kubernetes contract, restarts on failure, reloads by SIGHUP, detaches a dead mount, keeps FUSE', () => {
    const lines = UNIT.split('\n');
    expect(lines).toContain('Type=simple');
    expect(lines).toContain(
      'ExecStart=/usr/local/bin/sandbox procfs serve --mount /run/sandbox-procfs/mnt --socket /run/sandbox-procfs/api.sock',
    );
    expect(lines).toContain('ExecStopPost=-/bin/umount -l /run/sandbox-procfs/mnt');
    expect(lines).toContain('Restart=on-failure');
    // The keeper (procfs/daemon/keeper.ts): SIGHUP hands the connection to a new server; SIGTERM to it alone.
    expect(lines).toContain('ExecReload=/bin/kill -HUP $MAINPID');
    expect(lines).toContain('KillMode=mixed');
    expect(lines).toContain('DeviceAllow=/dev/fuse rw');
    expect(lines.find((l) => l.startsWith('CapabilityBoundingSet='))).toContain('CAP_SYS_ADMIN');
    // Options that give the service a private mount namespace would hide the FUSE mount from the
    // host (systemd.exec(5)): none may be set.
    for (const key of [
      'PrivateDevices',
      'PrivateTmp',
      'ProtectSystem',
      'ProtectHome',
      'ProtectKernelTunables',
      'ProtectControlGroups',
      'ReadOnlyPaths',
      'MountFlags',
      'PrivateMounts',
      'TemporaryFileSystem',
    ]) {
      expect(
        lines.some((l) => l.startsWith(`${key}=`)),
        key,
      ).toBe(false);
    }
  });
});
