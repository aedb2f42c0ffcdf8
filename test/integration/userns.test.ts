// --userns through the CLI on real sandboxes: root inside is uid 100000 outside (this host has no
// /etc/subuid entry for "sandbox"), so what it writes belongs to the range, host root-owned files
// are nobody (65534) inside and stay out of its reach, while the /proc views, --user, --rootfs, -t,
// `sandbox exec` and every confinement wall of a default sandbox still hold.
import { execFile, execFileSync } from 'node:child_process';
import { chmodSync, chownSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { EXPECTED, PROBE_SOURCE, parse, runProbeTable } from '../helpers/escape.js';
import { buildBusyboxImage, imageUnavailable } from '../helpers/image.js';
import { cleanUpAfterEach, detached, scratchDir } from '../helpers/lifecycle.js';
import { CLI, cli, sandboxUnavailable } from '../helpers/sandbox.js';
import { requireOrSkip } from '../helpers/skip.js';

const skip = requireOrSkip(sandboxUnavailable() ?? imageUnavailable());
const RANGE = 100000;
const DRIVER = fileURLToPath(new URL('../helpers/pty-driver.py', import.meta.url));

describe.skipIf(skip)('sandbox run --userns', () => {
  cleanUpAfterEach();
  const scratch = scratchDir(tmpdir(), 'sandbox-userns-');
  /** A fresh directory owned by the range's root (as a workdir for root inside must be). */
  const ownedDir = (name: string): string => {
    const dir = join(scratch(), name);
    mkdirSync(dir);
    chownSync(dir, RANGE, RANGE);
    return dir;
  };

  it('root inside is 100000 outside: the maps, id, and what it writes in the workdir', async () => {
    const dir = ownedDir('owned');
    const r = await cli(
      [
        'run',
        '--userns',
        '--',
        'sh',
        '-c',
        'id -u; id -g; id -G; cat /proc/self/uid_map /proc/self/gid_map; echo data > file; mkdir sub',
      ],
      { cwd: dir },
    );
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout.split('\n').map((l) => l.trim().replace(/\s+/g, ' '))).toEqual([
      '0',
      '0',
      '0',
      `0 ${RANGE} 65536`,
      `0 ${RANGE} 65536`,
      '',
    ]);
    for (const name of ['file', 'sub']) expect(statSync(join(dir, name))).toMatchObject({ uid: RANGE, gid: RANGE });
  });

  it('host root-owned files are nobody inside; root inside reads no root-only file and writes no root-owned file of a -v bind', async () => {
    const vol = join(scratch(), 'vol');
    mkdirSync(vol);
    chmodSync(vol, 0o777);
    writeFileSync(join(vol, 'hostfile'), 'host\n', { mode: 0o644 });
    const script =
      'stat -c "%u:%g" /etc/passwd /proc/meminfo /dev/null; cat /etc/shadow >/dev/null 2>&1 || echo no-shadow; ' +
      '(echo more >> /mnt/hostfile) 2>/dev/null || echo no-write; echo new > /mnt/new; stat -c "%u:%g" /mnt/hostfile /mnt/new';
    const r = await cli(['run', '--userns', '-v', `${vol}:/mnt`, '--', 'sh', '-c', script]);
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('65534:65534\n65534:65534\n65534:65534\nno-shadow\nno-write\n65534:65534\n0:0\n');
    expect(readFileSync(join(vol, 'hostfile'), 'utf8')).toBe('host\n');
    expect(statSync(join(vol, 'new'))).toMatchObject({ uid: RANGE, gid: RANGE }); // the directory is world-writable
    // The same write with --userns=host succeeds: root there is the host's root.
    const control = await cli([
      'run',
      '--userns=host',
      '-v',
      `${vol}:/mnt`,
      '--',
      'sh',
      '-c',
      'echo more >> /mnt/hostfile',
    ]);
    expect(control.code).toBe(0);
    expect(readFileSync(join(vol, 'hostfile'), 'utf8')).toBe('host\nmore\n');
  });

  it('the /proc views still read: free, nproc and /proc/meminfo show the limits', async () => {
    const r = await cli([
      'run',
      '--userns',
      '--cpu',
      '50%',
      '--mem',
      '256M',
      '--',
      'sh',
      '-c',
      'free -b | sed -n 2p | tr -s " " | cut -d" " -f2; nproc; head -1 /proc/meminfo; cat /sys/devices/system/cpu/online',
    ]);
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(/^268435456\n1\nMemTotal:\s+262144 kB\n\d+\n$/);
  });

  it('its cgroup files are read-only, its /dev works, and it has the confined capabilities of a default sandbox', async () => {
    const r = await cli([
      'run',
      '--userns',
      '--mem',
      '256M',
      '--',
      'sh',
      '-c',
      'cat /sys/fs/cgroup/memory/memory.limit_in_bytes; (echo 1G > /sys/fs/cgroup/memory/memory.limit_in_bytes) 2>/dev/null || echo ro; ' +
        'echo x > /dev/null && head -c 4 /dev/zero | wc -c; ls /dev | tr "\\n" " "; echo; grep -E "^(CapEff|NoNewPrivs|Seccomp):" /proc/self/status',
    ]);
    // The default set (native/stage/caps.c): docker's without mknod 27 and setfcap 31, and without
    // net_raw 13 in the host's network namespace (supervisor/security.ts; issue 19, finding 7).
    const caps = [0, 1, 3, 4, 5, 6, 7, 8, 10, 18, 29]
      .reduce((m, c) => m | (1n << BigInt(c)), 0n)
      .toString(16)
      .padStart(16, '0');
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe(
      `${256 * 1024 * 1024}\nro\n4\nfd full null ptmx pts random shm stderr stdin stdout tty urandom zero \nCapEff:\t${caps}\nNoNewPrivs:\t1\nSeccomp:\t2\n`,
    );
  });

  it('--user 1000 with --userns: uid 1000 inside, 101000 outside', async () => {
    const dir = join(scratch(), 'open');
    mkdirSync(dir);
    chmodSync(dir, 0o777);
    const r = await cli(['run', '--userns', '--user', '1000:1000', '--', 'sh', '-c', 'id -u; id -G; touch f'], {
      cwd: dir,
    });
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('1000\n1000\n');
    expect(statSync(join(dir, 'f'))).toMatchObject({ uid: RANGE + 1000, gid: RANGE + 1000 });
  });

  it("--rootfs with --userns: the image is root's (its layers ID-mapped), / and /tmp are writable, the views read", async () => {
    const image = join(scratch(), 'image');
    buildBusyboxImage(image);
    const r = await cli([
      'run',
      '--userns',
      '--mem',
      '256M',
      '--rootfs',
      image,
      '--',
      'sh',
      '-c',
      'id -u; stat -c %u /bin/busybox; echo t > /tmp/t && cat /tmp/t; touch /new && stat -c %u /new; head -1 /proc/meminfo; nproc',
    ]);
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(/^0\n0\nt\n0\nMemTotal:\s+262144 kB\n\d+\n$/);
  });

  it('exec into a --userns sandbox enters its user namespace (root inside, 100000 outside) and its exit code comes back', async () => {
    const dir = ownedDir('exec');
    const id = await detached(['--userns', '--mem', '256M', '--', 'sleep', '100'], { cwd: dir });
    const r = await cli([
      'exec',
      id,
      '--',
      'sh',
      '-c',
      'id -u; cat /proc/self/uid_map | tr -s " "; [ "$(readlink /proc/self/ns/user)" = "$(readlink /proc/2/ns/user)" ] && echo same-userns; head -1 /proc/meminfo; echo e > from-exec',
    ]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`^0\\n 0 ${RANGE} 65536\\nsame-userns\\nMemTotal:\\s+262144 kB\\n$`));
    expect(readlinkOf(id)).not.toBe(execFileSync('readlink', ['/proc/self/ns/user']).toString()); // not the host's
    expect(statSync(join(dir, 'from-exec'))).toMatchObject({ uid: RANGE, gid: RANGE });
    expect((await cli(['exec', id, '--', 'sh', '-c', 'exit 7'])).code).toBe(7);
  });

  it('-t with --userns --user 5: the pty belongs to the user inside', async () => {
    const r = await new Promise<{ out: string; code: number }>((resolve, reject) => {
      const steps = [
        ['until', '$ ', 10],
        ['send', 'id -u; stat -c %u $(tty); exit 3\n'],
      ];
      execFile(
        'python3',
        [DRIVER, JSON.stringify(steps), process.execPath, CLI, 'run', '-t', '--userns', '--user', '5:5', '--', 'sh'],
        { timeout: 60_000 },
        (err, stdout) => {
          if (err) reject(err);
          else resolve(JSON.parse(stdout) as { out: string; code: number });
        },
      );
    });
    expect(r.out).toMatch(/\r\n5\r\n5\r\n/);
    expect(r.code).toBe(3);
  }, 60_000);

  it(`refuses the same ${Object.keys(EXPECTED).length - 3} escape system calls as a default sandbox`, async () => {
    // As in confinement.test.ts, with the directory the probe runs in owned by the range's root
    // (else mknod would fail with EACCES on the directory before the capability is checked).
    const dir = ownedDir('probe');
    execFileSync('cc', ['-O0', '-Wall', '-o', join(dir, 'probe'), PROBE_SOURCE]);
    const r = await runProbeTable(dir, ['--userns', '--mem', '256M']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(parse(r.stdout)).toEqual(EXPECTED);
  });
});

/** The user namespace of a sandbox's workload (pid 2 inside), seen from the host. */
function readlinkOf(id: string): string {
  const state = JSON.parse(readFileSync(`/run/sandbox/${id}/state.json`, 'utf8')) as { cgroupDirs: string[] };
  const pids = readFileSync(`${state.cgroupDirs[0]}/cgroup.procs`, 'utf8').trim().split('\n');
  return execFileSync('readlink', [`/proc/${pids[pids.length - 1]}/ns/user`]).toString();
}
