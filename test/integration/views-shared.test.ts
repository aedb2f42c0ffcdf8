// `sandbox run` with a running `sandbox procfs serve` (supervisor/shared-views.ts): the daemon serves
// the sandbox's views and the stage binds them, with no FUSE mount of the sandbox's own; the
// daemon's mount is hidden inside; a stale socket, a daemon of another protocol version or one that
// refuses leaves the sandbox serving its own; a supervisor's death ends its registration; the serve
// request is for host callers only.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startDaemon, stopDaemonSuite, type Daemon } from '../helpers/oci.js';
import { cli, finish, leftovers, removeLeftoverCgroups, sandboxUnavailable, startCli } from '../helpers/sandbox.js';
import { requireOrSkip } from '../helpers/skip.js';
import { waitFor } from '../helpers/wait.js';

const skip = requireOrSkip(sandboxUnavailable());
/**
 * The daemon's directory: under /var/tmp, which a sandbox on the host root sees (its /run and /tmp
 * are its own), so hiding the mount inside is what keeps other sandboxes' views out of sight.
 */
const BASE = mkdtempSync('/var/tmp/sandbox-shared-views-');
const SOCKET = `${BASE}/api.sock`;
const MOUNT = `${BASE}/mnt`;
const MEM_KB = 262144;
/** What a sandbox with --mem 256M prints: its MemTotal line, then how /proc/meminfo is mounted. */
const PROBE = "head -1 /proc/meminfo; grep ' /proc/meminfo ' /proc/self/mountinfo";

/** A server on `path` that answers every request line with `reply` (a daemon we can make misbehave). */
function fakeServer(path: string, reply: object): Promise<Server> {
  const server = createServer((sock) => sock.on('data', () => sock.write(`${JSON.stringify(reply)}\n`)));
  return new Promise((resolve) => server.listen(path, () => resolve(server)));
}

describe.skipIf(skip)('sandbox run with a running procfs serve', () => {
  let daemon: Daemon | null = null;
  let work = '';

  beforeAll(async () => {
    work = mkdtempSync('/tmp/sandbox-shared-views-');
    daemon = await startDaemon(BASE);
  });

  afterAll(async () => {
    expect(await stopDaemonSuite(daemon, MOUNT, [BASE, work])).toEqual([]);
  });

  afterEach(() => {
    const left = leftovers();
    removeLeftoverCgroups();
    expect(left).toEqual([]);
  });

  it("serves the sandbox's views from the daemon's mount, with no mount of its own, and unregisters at exit", async () => {
    const r = await cli(['run', '--mem', '256M', '--', 'sh', '-c', PROBE], {
      env: { ...process.env, SANDBOX_PROCFS_SOCKET: SOCKET },
    });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const [first, mountLine] = r.stdout.trim().split('\n');
    expect(first).toMatch(new RegExp(`^MemTotal:\\s+${MEM_KB} kB$`));
    // mountinfo field 4 is the root of the bind within its filesystem: the daemon's by-target layout.
    const root = mountLine!.split(' ')[3]!;
    const id = /^\/([0-9a-f]{12})\/proc\/meminfo$/.exec(root)?.[1];
    expect(id, mountLine).toBeDefined();
    await waitFor(() => daemon!.log().includes(`unregister sandbox ${id}\n`), 'the daemon to log the unregister');
    expect(daemon!.log()).toContain(`serve sandbox ${id} (supervisor pid`);
  });

  it("hides the daemon's mount inside: another sandbox's views are not there", async () => {
    const env = { ...process.env, SANDBOX_PROCFS_SOCKET: SOCKET };
    const other = startCli(['run', '--', 'sh', '-c', 'echo ready; sleep 60'], { env });
    const otherDone = finish(other);
    try {
      await new Promise<void>((resolve) =>
        other.stdout!.on('data', (d: Buffer) => d.toString().includes('ready') && resolve()),
      );
      const served = readFileSync('/proc/self/mountinfo', 'utf8').includes(` ${MOUNT} `);
      expect(served).toBe(true);
      // Beside lxcfs's layout (proc/, sys/), the other sandbox's directory, seen from the host.
      const ids = execFileSync('ls', ['-A', MOUNT], { encoding: 'utf8' })
        .split('\n')
        .filter((n) => /^[0-9a-f]{12}$/.test(n));
      expect(ids.length).toBe(1);
      // Host root inside (--userns=host): file modes would not stop it, only the hiding.
      const r = await cli(
        [
          'run',
          '--userns=host',
          '--',
          'sh',
          '-c',
          `ls -A ${MOUNT} | sed 's/^/entry /'; cat ${MOUNT}/${ids[0]}/proc/meminfo 2>&1 | head -1`,
        ],
        { env },
      );
      expect(r.code).toBe(0);
      expect(r.stdout).not.toMatch(/^entry /m); // the mount inside is an empty tmpfs
      expect(r.stdout).not.toMatch(/MemTotal/);
      expect(r.stdout).toMatch(/No such file or directory/);
    } finally {
      other.kill('SIGTERM');
      await otherDone;
    }
  });

  it('with a stale socket or a daemon of another protocol version, serves its own views and says nothing', async () => {
    const dir = join(work, 'old');
    mkdirSync(dir);
    // A socket file nobody listens on (a daemon that was SIGKILLed leaves one).
    execFileSync('python3', [
      '-c',
      `import socket; socket.socket(socket.AF_UNIX).bind(${JSON.stringify(`${dir}/stale.sock`)})`,
    ]);
    // What the daemon of an older checkout answers a serve request with.
    const old = await fakeServer(`${dir}/old.sock`, {
      ok: false,
      error: 'unknown op "serve" (register, unregister, list)',
    });
    try {
      for (const socket of [`${dir}/stale.sock`, `${dir}/old.sock`]) {
        const r = await cli(['run', '--mem', '256M', '--', 'sh', '-c', PROBE], {
          env: { ...process.env, SANDBOX_PROCFS_SOCKET: socket },
        });
        expect(r.stderr, socket).toBe('');
        const [first, mountLine] = r.stdout.trim().split('\n');
        expect(first).toMatch(new RegExp(`^MemTotal:\\s+${MEM_KB} kB$`));
        expect(mountLine!.split(' ')[3]).toMatch(/^\/[0-9a-f]{12}\/meminfo$/); // the sandbox's own layout
      }
    } finally {
      await new Promise((r) => old.close(r));
    }
  });

  it('with a daemon that refuses, says so in one line and serves its own views', async () => {
    const socket = join(work, 'refusing.sock');
    const server = await fakeServer(socket, { ok: false, error: 'no room', version: 2 });
    try {
      const r = await cli(['run', '--mem', '256M', '--', 'head', '-1', '/proc/meminfo'], {
        env: { ...process.env, SANDBOX_PROCFS_SOCKET: socket },
      });
      expect(r.stderr).toBe(`sandbox: views: the server at ${socket} refused: no room; serving them ourselves\n`);
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(new RegExp(`^MemTotal:\\s+${MEM_KB} kB\\n$`));
    } finally {
      await new Promise((r) => server.close(r));
    }
  });

  it("keeps a sandbox's views across the daemon's SIGHUP restart (the keeper holds the connection)", async () => {
    // The workload reads its meminfo, then again once the test says the new server serves.
    const flag = join(work, 'restarted');
    // --userns=host: root inside reads the test's 0700 directory, where the flag appears.
    const child = startCli(
      [
        'run',
        '--userns=host',
        '--mem',
        '256M',
        '--workdir',
        work,
        '--',
        'sh',
        '-c',
        'head -1 /proc/meminfo; echo ready; while [ ! -e restarted ]; do sleep 0.05; done; head -1 /proc/meminfo',
      ],
      { env: { ...process.env, SANDBOX_PROCFS_SOCKET: SOCKET } },
    );
    const done = finish(child);
    await new Promise<void>((resolve) =>
      child.stdout!.on('data', (d: Buffer) => d.toString().includes('ready') && resolve()),
    );
    const id = /serve sandbox ([0-9a-f]{12}) \(supervisor pid/.exec(
      daemon!
        .log()
        .split('\n')
        .filter((l) => l.includes(`supervisor pid ${child.pid},`))
        .pop() ?? '',
    )?.[1];
    expect(id).toBeDefined();
    daemon!.child.kill('SIGHUP');
    await waitFor(
      () => daemon!.log().includes(`restored sandbox ${id} (supervisor pid ${child.pid})`),
      'the successor to restore the sandbox',
    );
    writeFileSync(flag, '');
    const r = await done;
    rmSync(flag, { force: true });
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines).toHaveLength(3);
    for (const line of [lines[0], lines[2]]) expect(line).toMatch(new RegExp(`^MemTotal:\\s+${MEM_KB} kB$`));
    expect(r.stderr).toBe('');
  });

  it('drops the registration of a supervisor that was SIGKILLed', async () => {
    const victim = startCli(['run', '--', 'sh', '-c', 'echo ready; sleep 60'], {
      env: { ...process.env, SANDBOX_PROCFS_SOCKET: SOCKET },
    });
    const done = finish(victim);
    await new Promise<void>((resolve) =>
      victim.stdout!.on('data', (d: Buffer) => d.toString().includes('ready') && resolve()),
    );
    const id = /serve sandbox ([0-9a-f]{12}) \(supervisor pid (\d+),/.exec(
      daemon!
        .log()
        .split('\n')
        .filter((l) => l.includes(`supervisor pid ${victim.pid},`))
        .pop() ?? '',
    )?.[1];
    expect(id).toBeDefined();
    victim.kill('SIGKILL');
    await done;
    await waitFor(
      () => daemon!.log().includes(`unregister sandbox ${id} (supervisor pid ${victim.pid} is gone)`),
      "the daemon's sweep to drop the sandbox",
    );
    const gc = await cli(['gc']);
    expect(gc.code).toBe(0);
  });

  it('refuses a serve request from inside a sandbox (host callers only)', async () => {
    writeFileSync(
      join(work, 'serve.py'),
      `
import json, socket
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect("/tmp/api.sock")
f = s.makefile("rw")
f.write(json.dumps({"op": "serve", "version": 2, "id": "escape-serve", "cgroupDirs": ["/sys/fs/cgroup/memory"], "startedAtMs": 0, "supervisorPid": 1}) + "\\n")
f.flush()
print(f.readline().strip())
`,
    );
    const r = await cli(['run', '--userns=host', '-v', `${SOCKET}:/tmp/api.sock`, '--', 'python3', 'serve.py'], {
      cwd: work,
      env: { ...process.env, SANDBOX_PROCFS_SOCKET: '' },
    });
    expect(r.stderr).toBe('');
    expect(JSON.parse(r.stdout)).toEqual({ ok: false, error: 'serve escape-serve: refused: for host callers only' });
    expect(daemon!.log()).not.toContain('escape-serve');
  });
});
