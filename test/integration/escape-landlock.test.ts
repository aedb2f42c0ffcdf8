// Issue 19, abstract unix sockets and signals across the sandbox boundary. Under --net host (the
// default) the workload shares the host's network namespace and with it the abstract socket names
// (unix(7)), which no mount covers: a root workload could connect to any host daemon's "@name"
// socket. PID 1 now scopes the sandbox with Landlock (ABI 6: abstract unix sockets and signals;
// native/stage/landlock.c). Canaries, all the test's own: an abstract listener with a unique name,
// a `sleep` whose pidfd a host helper hands in through a socket in a 0700 directory of the test.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FIRST_ABI_WITH_SCOPES, landlockAbi } from '../../supervisor/landlock.js';
import { cleanUpAfterEach, detached } from '../helpers/lifecycle.js';
import { cli, sandboxUnavailable } from '../helpers/sandbox.js';
import { machineLacks, requireOrSkip } from '../helpers/skip.js';
import { waitFor } from '../helpers/wait.js';

const abi = landlockAbi();
const skip = requireOrSkip(
  sandboxUnavailable() ??
    (abi >= FIRST_ABI_WITH_SCOPES
      ? null
      : machineLacks(
          `Landlock scopes need ABI ${FIRST_ABI_WITH_SCOPES} (Linux 6.12); this kernel has ${abi || 'none'}`,
        )),
);

/** The canary's abstract name ("@" in ss(8), a leading NUL byte in sockaddr_un). */
const NAME = `sandbox-test-abstract-${process.pid}`;

/** Inside: connect to an abstract name (argv[1]) and send a line; prints "connected" or the errno name. */
const CONNECT = `
import errno, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
try:
    s.connect("\\0" + sys.argv[1])
    s.sendall(b"forged from inside\\n")
    print("connected")
except OSError as e:
    print(errno.errorcode[e.errno])
`;

/** Inside: its own abstract listener, connected to from the same sandbox (the scope allows its own domain). */
const OWN = `
import socket
name = "\\0own-" + str(__import__("os").getpid())
srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
srv.bind(name)
srv.listen()
c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
c.connect(name)
print("own connected")
`;

/** On the host: the canary listener on abstract name argv[1]; prints "connection" and each line received. */
const LISTEN = `
import socket, sys
srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
srv.bind("\\0" + sys.argv[1])
srv.listen()
print("ready", flush=True)
while True:
    c, _ = srv.accept()
    print("connection", flush=True)
    for line in c.makefile("rb"):
        sys.stdout.write(line.decode())
        sys.stdout.flush()
    c.close()
`;

/** Inside: receive a pidfd over the socket argv[1] (SCM_RIGHTS), pidfd_send_signal(SIGTERM) it. */
const SIGNAL = `
import errno, signal, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect(sys.argv[1])
msg, fds, flags, addr = socket.recv_fds(s, 16, 1)
try:
    signal.pidfd_send_signal(fds[0], signal.SIGTERM)
    print("signalled")
except OSError as e:
    print(errno.errorcode[e.errno])
`;

/** On the host: serve a pidfd of pid argv[2] to whoever connects to socket argv[1]. */
const PIDFD_SERVER = `
import os, socket, sys
fd = os.pidfd_open(int(sys.argv[2]))
srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
srv.bind(sys.argv[1])
srv.listen()
print("ready", flush=True)
while True:
    c, _ = srv.accept()
    socket.send_fds(c, [b"p"], [fd])
    c.close()
`;

/** The workload as host root (the strongest attacker, and what the test's 0700 files and 0755 sockets
 * need): abstract sockets have no permissions, so the user namespace default changes nothing the
 * Landlock scope decides; the escape table under the default is userns-default.test.ts's. */
const HOST_ROOT = ['--userns=host'];

describe.skipIf(skip)('escape-landlock: abstract unix sockets and signals stay inside the sandbox', () => {
  cleanUpAfterEach();
  let dir = '';
  let listener: ChildProcess;
  let received = '';

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'sandbox-escape-landlock-'));
    writeFileSync(join(dir, 'connect.py'), CONNECT);
    writeFileSync(join(dir, 'own.py'), OWN);
    writeFileSync(join(dir, 'send-signal.py'), SIGNAL);
    writeFileSync(join(dir, 'pidfd-server.py'), PIDFD_SERVER);
    writeFileSync(join(dir, 'listen.py'), LISTEN);
    // python, not node: libuv binds abstract names with the whole sun_path (trailing NULs in the name).
    listener = spawn('python3', [join(dir, 'listen.py'), NAME], { stdio: ['ignore', 'pipe', 'inherit'] });
    listener.stdout!.on('data', (d: Buffer) => (received += d.toString()));
    await waitFor(() => received.startsWith('ready\n'), 'the canary listener');
    received = '';
  });
  afterAll(() => {
    stop(listener);
    rmSync(dir, { recursive: true, force: true });
  });

  it("a --net host workload can't connect to the host's abstract socket (EPERM), nor can --net none reach it; the host can", async () => {
    const host = await new Promise<string>((resolve) => {
      const p = spawn('python3', [join(dir, 'connect.py'), NAME], { stdio: ['ignore', 'pipe', 'inherit'] });
      let out = '';
      p.stdout.on('data', (d: Buffer) => (out += d.toString()));
      p.on('close', () => resolve(out));
    });
    expect(host).toBe('connected\n'); // the canary answers
    await waitFor(() => received === 'connection\nforged from inside\n', "the host client's line");
    received = '';
    for (const flags of [[], ['--net', 'host']]) {
      const r = await cli(['run', ...HOST_ROOT, ...flags, '--', 'python3', 'connect.py', NAME], { cwd: dir });
      expect(r.stderr).toBe('');
      expect(r.stdout).toBe('EPERM\n');
    }
    const none = await cli(['run', ...HOST_ROOT, '--net', 'none', '--', 'python3', 'connect.py', NAME], { cwd: dir });
    expect(none.stdout).toBe('ECONNREFUSED\n'); // another network namespace: no such name
    await new Promise((r) => setTimeout(r, 100)); // a connection that got through would show by now
    expect(received).toBe('');
  });

  it("the workload's own abstract sockets still work", async () => {
    expect((await cli(['run', ...HOST_ROOT, '--', 'python3', 'own.py'], { cwd: dir })).stdout).toBe('own connected\n');
  });

  it("one --net host sandbox can't connect to another's abstract socket", async () => {
    const listener = `import socket, time\ns = socket.socket(socket.AF_UNIX)\ns.bind("\\0${NAME}-inside")\ns.listen()\nopen("listening", "w").close()\ntime.sleep(600)\n`;
    writeFileSync(join(dir, 'listener.py'), listener);
    rmSync(join(dir, 'listening'), { force: true });
    await detached([...HOST_ROOT, '--', 'python3', 'listener.py'], { cwd: dir });
    await waitFor(() => existsSync(join(dir, 'listening')), 'the first sandbox to listen');
    const r = await cli(['run', ...HOST_ROOT, '--', 'python3', 'connect.py', `${NAME}-inside`], { cwd: dir });
    expect(r.stdout).toBe('EPERM\n');
  });

  // A guard, not a fix: pidfd_send_signal(2) refuses a process outside the caller's pid namespace
  // and its descendants with EINVAL (kernel/signal.c, access_pidfd_pidns) before Landlock is asked.
  it("can't signal a host process through a pidfd handed in (pidfd_send_signal: EINVAL); the canary lives", async () => {
    const canary = spawn('sleep', ['600'], { stdio: 'ignore' });
    const sock = join(dir, 'pidfd.sock');
    const helper = spawn('python3', [join(dir, 'pidfd-server.py'), sock, String(canary.pid)], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    try {
      await new Promise<void>((resolve) => helper.stdout!.once('data', () => resolve()));
      const r = await cli(
        ['run', ...HOST_ROOT, '-v', `${sock}:/tmp/pidfd.sock`, '--', 'python3', 'send-signal.py', '/tmp/pidfd.sock'],
        { cwd: dir },
      );
      expect(r.stderr).toBe('');
      expect(r.stdout).toBe('EINVAL\n');
      expect(canary.exitCode).toBe(null);
      expect(canary.signalCode).toBe(null);
    } finally {
      stop(helper);
      stop(canary);
    }
  });

  it("the workload can't open /proc/PID/fd of a `sandbox exec` process (outside its Landlock domain), nor read its environ", async () => {
    const script =
      'while [ ! -s execpid ]; do sleep 0.05; done; p=$(cat execpid); ' +
      '{ readlink /proc/$p/fd/1 || echo refused; cat /proc/$p/environ >/dev/null 2>&1 && echo environ-read || echo environ-refused; } > result 2>&1; touch done; sleep 600';
    const id = await detached([...HOST_ROOT, '--', 'sh', '-c', script], { cwd: dir });
    rmSync(join(dir, 'done'), { force: true });
    const exec = cli(['exec', id, '--', 'sh', '-c', 'echo $$ > execpid; while [ ! -e done ]; do sleep 0.05; done']);
    await waitFor(() => existsSync(join(dir, 'done')), 'the workload to try');
    expect((await exec).code).toBe(0);
    expect(readFileSync(join(dir, 'result'), 'utf8')).toBe('refused\nenviron-refused\n');
  });

  it('signals still reach in: `sandbox exec` signalling the workload, `sandbox kill`', async () => {
    const id = await detached(
      [...HOST_ROOT, '--', 'sh', '-c', 'trap "echo got-usr1 > usr1" USR1; while :; do sleep 0.1; done'],
      { cwd: dir },
    );
    const r = await cli(['exec', id, '--', 'kill', '-USR1', '2']);
    expect(r.code).toBe(0);
    await waitFor(() => existsSync(join(dir, 'usr1')), 'the workload to take SIGUSR1 from sandbox exec');
    expect((await cli(['kill', id])).code).toBe(0);
  });
});

/** SIGKILL a child of the test if it still runs. */
function stop(child: ChildProcess): void {
  if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
}
