// The default user namespace (issue 19, "the shape of the fix"): every `sandbox run` gets one unless
// --userns=host. Root inside is the range's base outside and OWNS its user namespace (so the
// kernel charges its inotify instances and message-queue bytes to the base uid, not to host root:
// finding 7); the workdir and writable volumes are ID-mapped to SUDO_UID, else to the workdir's
// owner, never to host root (a set-user-ID file planted there is not root's: finding 4); a network
// namespace of its own lets it bind low ports and open ICMP datagram sockets; --userns=host keeps
// the host's root.
import { execFileSync, spawn } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EXPECTED, PROBE_SOURCE, parse, runProbeTable } from '../helpers/escape.js';
import { cleanUpAfterEach, detached, sandboxProcs, scratchDir, waitInside } from '../helpers/lifecycle.js';
import { cli, sandboxUnavailable } from '../helpers/sandbox.js';
import { requireOrSkip } from '../helpers/skip.js';

const skip = requireOrSkip(sandboxUnavailable());
const RANGE = 100000;
/** ioctl_ns(2): NS_GET_OWNER_UID = _IO(0xb7, 0x4), the owner of a user namespace, as a uid of the caller's. */
const OWNER_OF =
  'import fcntl,os,struct,sys\nfd=os.open(sys.argv[1], os.O_RDONLY)\nprint(struct.unpack("I", fcntl.ioctl(fd, 0xb704, b"\\0"*4))[0])';
/** The test's environment without sudo's variables (the suite may run under sudo). */
const ENV = Object.fromEntries(Object.entries(process.env).filter(([k]) => k !== 'SUDO_UID' && k !== 'SUDO_GID'));

/** The owner uid of the user namespace of host pid `pid`. */
function ownerOfUserns(pid: number): number {
  return Number(
    execFileSync('python3', ['-c', OWNER_OF, `/proc/${pid}/ns/user`])
      .toString()
      .trim(),
  );
}

/** Host pid of the sandbox's PID 1 (the last NSpid field is 1) and of its other processes. */
function pid1And(id: string): { pid1: number; others: number[] } {
  const pids = sandboxProcs(id);
  const isInit = (pid: number) => /^NSpid:.*\s1$/m.test(readFileSync(`/proc/${pid}/status`, 'utf8'));
  const pid1 = pids.find(isInit);
  if (pid1 === undefined) throw new Error(`no PID 1 in sandbox ${id}`);
  return { pid1, others: pids.filter((p) => p !== pid1) };
}

/** The Uid: or Gid: line of /proc/PID/status (real, effective, saved, fs), read from the host. */
function ids(pid: number, which: 'Uid' | 'Gid'): number[] {
  const line = new RegExp(`^${which}:\\s*(.*)$`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? '';
  return line.trim().split(/\s+/).map(Number);
}

describe.skipIf(skip)('the default user namespace', () => {
  cleanUpAfterEach();
  const scratch = scratchDir(tmpdir(), 'sandbox-userns-default-');
  /** A fresh directory owned by uid:gid, mode 0755. */
  const dirOwnedBy = (name: string, uid: number, gid: number, mode = 0o755): string => {
    const dir = join(scratch(), name);
    mkdirSync(dir);
    chownSync(dir, uid, gid);
    chmodSync(dir, mode);
    return dir;
  };

  it("the workload and PID 1 are the range outside, and the range's base owns their user namespace, not host root", async () => {
    const id = await detached(['--', 'sleep', '100']);
    const { pid1, others } = pid1And(id);
    for (const pid of [pid1, ...others]) {
      expect(ids(pid, 'Uid')).toEqual([RANGE, RANGE, RANGE, RANGE]);
      expect(ids(pid, 'Gid')).toEqual([RANGE, RANGE, RANGE, RANGE]);
    }
    // create_user_ns records the creator's euid; the kernel's counts charged inside go up the chain
    // (sandbox's namespace, 0) -> (host's, owner): the owner is whom host budgets are charged to.
    expect(ownerOfUserns(pid1)).toBe(RANGE);
    expect(readlinkSync(pid1)).not.toBe(readlinkSync(process.pid));
    // PID 1 stays non-dumpable after its uid changes (commit_creds resets the flag): its fds are root's.
    expect(statSync(`/proc/${pid1}/fd`).uid).toBe(0);
    const ps = JSON.parse((await cli(['ps', '--json'])).stdout) as { id: string; userns: string }[];
    expect(ps.find((s) => s.id === id)?.userns).toBe(`${RANGE}:${RANGE}:65536`);
  });

  it('inotify instances made inside are charged to the range, not to host root', async () => {
    // Four instances only (the host-wide default is 128 per user): the proof is who they belong to.
    const hold =
      'import ctypes,time\nlibc=ctypes.CDLL(None)\nfds=[libc.inotify_init() for _ in range(4)]\nassert min(fds)>=0, fds\nopen("/tmp/held","w").write(" ".join(map(str,fds)))\ntime.sleep(100)';
    const id = await detached(['--', 'python3', '-c', hold]);
    await waitInside(id, '/tmp/held');
    const { pid1, others } = pid1And(id);
    const holder = others.find((pid) => readFileSync(`/proc/${pid}/cmdline`, 'utf8').startsWith('python3'));
    expect(holder).toBeDefined();
    const fds = readFileSync(`/proc/${pid1}/root/tmp/held`, 'utf8').trim().split(' ');
    expect(fds).toHaveLength(4);
    for (const fd of fds) expect(readFileSync(`/proc/${holder}/fdinfo/${fd}`, 'utf8')).toMatch(/^(inotify|flags:)/m);
    // inotify_init charges inc_ucount(its user namespace, its euid) and every level above: the
    // holder's euid outside and its namespace's owner are both the range's base.
    expect(ids(holder!, 'Uid')[1]).toBe(RANGE);
    expect(ownerOfUserns(holder!)).toBe(RANGE);
  });

  it('the workdir is ID-mapped to its owner: root inside owns it, files land as that owner, a chmod 4755 copy is set-user-ID that owner', async () => {
    const dir = dirOwnedBy('owned', 4242, 4243);
    writeFileSync(join(dir, 'rootfile'), 'root\n');
    chmodSync(join(dir, 'rootfile'), 0o666);
    const r = await cli(
      [
        'run',
        '--',
        'sh',
        '-c',
        'stat -c "%u:%g" . rootfile; echo data > f; cp /bin/true suid; chmod 4755 suid; stat -c "%u:%g %a" f suid; (echo x >> rootfile) 2>/dev/null || echo no-write-root-file',
      ],
      { cwd: dir, env: ENV },
    );
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    // Inside: the owner's files are root's; the root-owned file is nobody's and, its owner unmapped,
    // not writable even through its 0666 (fs/namei.c inode_permission, HAS_UNMAPPED_ID).
    expect(r.stdout).toBe('0:0\n65534:65534\n0:0 644\n0:0 4755\nno-write-root-file\n');
    expect(statSync(join(dir, 'f'))).toMatchObject({ uid: 4242, gid: 4243 });
    const suid = statSync(join(dir, 'suid'));
    expect({ uid: suid.uid, gid: suid.gid, mode: suid.mode & 0o7777 }).toEqual({ uid: 4242, gid: 4243, mode: 0o4755 });
    expect(readFileSync(join(dir, 'rootfile'), 'utf8')).toBe('root\n');
  });

  it('SUDO_UID/SUDO_GID decide the owner: a volume of theirs is mapped, a workdir of someone else is not', async () => {
    const dir = dirOwnedBy('other', 4545, 4546, 0o777);
    const vol = dirOwnedBy('vol', 4242, 4243);
    const env = { ...ENV, SUDO_UID: '4242', SUDO_GID: '4243' };
    const r = await cli(
      [
        'run',
        '-v',
        `${vol}:/mnt`,
        '--',
        'sh',
        '-c',
        'echo a > f; stat -c "%u:%g" . /mnt; echo b > /mnt/g; chmod 4755 /mnt/g; chown 5 /mnt/g 2>/dev/null || echo no-chown',
      ],
      { cwd: dir, env },
    );
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    // The workdir (4545's, 0777) is bound as it is: written through its mode bits as the range's base.
    expect(r.stdout).toBe('65534:65534\n0:0\nno-chown\n'); // ids other than the owner's do not exist on the mapped mount
    expect(statSync(join(dir, 'f'))).toMatchObject({ uid: RANGE, gid: RANGE });
    const g = statSync(join(vol, 'g'));
    expect({ uid: g.uid, gid: g.gid, mode: g.mode & 0o7777 }).toEqual({ uid: 4242, gid: 4243, mode: 0o4755 });
  });

  it('a root-owned workdir without SUDO_UID is not mapped: root inside writes it only as others may; --userns=host is the host root', async () => {
    const dir = dirOwnedBy('rootowned', 0, 0, 0o755);
    const r = await cli(['run', '--', 'sh', '-c', 'stat -c "%u:%g" .; touch f 2>/dev/null || echo no-write'], {
      cwd: dir,
      env: ENV,
    });
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('65534:65534\nno-write\n');
    expect(existsSync(join(dir, 'f'))).toBe(false);
    const host = await cli(['run', '--userns=host', '--', 'sh', '-c', 'cat /proc/self/uid_map | tr -s " "; touch f'], {
      cwd: dir,
      env: ENV,
    });
    expect(host.stderr).toBe('');
    expect(host.stdout).toBe(' 0 0 4294967295\n');
    expect(statSync(join(dir, 'f')).uid).toBe(0);
  });

  it("--userns=host: the workload is host root and its user namespace the host's", async () => {
    const id = await detached(['--userns=host', '--', 'sleep', '100']);
    const { pid1, others } = pid1And(id);
    for (const pid of [pid1, ...others]) expect(ids(pid, 'Uid')).toEqual([0, 0, 0, 0]);
    expect(readlinkSync(pid1)).toBe(readlinkSync(process.pid));
    const ps = JSON.parse((await cli(['ps', '--json'])).stdout) as { id: string; userns: string }[];
    expect(ps.find((s) => s.id === id)?.userns).toBe('host');
    // exec follows the sandbox's choice: host root too.
    const exec = await cli(['exec', id, '--', 'sh', '-c', 'cat /proc/self/uid_map | tr -s " "']);
    expect(exec.stdout).toBe(' 0 0 4294967295\n');
  });

  it('bare --userns is the default; any other value is one line naming it, exit 125', async () => {
    const bare = await cli(['run', '--userns', '--', 'sh', '-c', 'cat /proc/self/uid_map | tr -s " "'], { env: ENV });
    expect(bare.stderr).toBe('');
    expect(bare.stdout).toBe(` 0 ${RANGE} 65536\n`);
    for (const value of ['private', 'HOST', '']) {
      const r = await cli(['run', `--userns=${value}`, '--', 'true'], { env: ENV });
      expect(r.code).toBe(125);
      expect(r.stdout).toBe('');
      expect(r.stderr.split('\n')).toHaveLength(2);
      expect(r.stderr).toContain('--userns');
      expect(r.stderr).toContain(`"${value}"`);
    }
  });

  it("a network namespace of its own lets root inside bind port 80 and open an ICMP datagram socket (ping); the host's does not", async () => {
    const probe =
      'import socket\ns=socket.socket(); s.bind(("127.0.0.1",80)); print("bound")\nsocket.socket(socket.AF_INET, socket.SOCK_DGRAM, socket.IPPROTO_ICMP); print("icmp")';
    const none = await cli(['run', '--net', 'none', '--', 'python3', '-c', probe], { env: ENV });
    expect(none.stderr).toBe('');
    expect(none.stdout).toBe('bound\nicmp\n');
    // With --net host the host's sysctls stay the host's (docs/userns.md): binding 80 is refused.
    const host = await cli(
      [
        'run',
        '--',
        'python3',
        '-c',
        'import socket\ntry:\n socket.socket().bind(("127.0.0.1",80))\nexcept PermissionError: print("EACCES")',
      ],
      { env: ENV },
    );
    expect(host.stderr).toBe('');
    expect(host.stdout).toBe('EACCES\n');
  });

  it('a writable volume of the owner on a file system that refuses ID mapping: one line naming the path and the errno, exit 125', async () => {
    const dir = dirOwnedBy('refuse', 4242, 4243);
    // procfs has no FS_ALLOW_IDMAP, and /proc/PID belongs to the process's uid and gid: a canary
    // process of ours running as 4242:4243 makes a directory of the owner's there. Nothing is written.
    const canary = spawn('sleep', ['60'], { uid: 4242, gid: 4243, stdio: 'ignore' });
    try {
      const source = `/proc/${canary.pid}`;
      expect(statSync(source)).toMatchObject({ uid: 4242, gid: 4243 });
      const r = await cli(['run', '-v', `${source}:/mnt`, '--', 'true'], { cwd: dir, env: ENV });
      expect(r.code).toBe(125);
      expect(r.stdout).toBe('');
      expect(r.stderr.split('\n')).toHaveLength(2);
      expect(r.stderr).toMatch(
        new RegExp(`^sandbox: stage: --volume: mount_setattr\\(${source}, MOUNT_ATTR_IDMAP.*\\(errno \\d+\\)\n$`),
      );
    } finally {
      canary.kill('SIGKILL');
    }
  });

  it(`refuses the same ${Object.keys(EXPECTED).length - 3} escape system calls under the default, in an ID-mapped workdir`, async () => {
    const dir = dirOwnedBy('probe', 4242, 4243);
    execFileSync('cc', ['-O0', '-Wall', '-o', join(dir, 'probe'), PROBE_SOURCE]);
    const r = await runProbeTable(dir, ['--mem', '256M']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(parse(r.stdout)).toEqual(EXPECTED);
  });
});

/** The user namespace of host pid `pid` (its /proc/PID/ns/user link). */
function readlinkSync(pid: number): string {
  return execFileSync('readlink', [`/proc/${pid}/ns/user`]).toString();
}
