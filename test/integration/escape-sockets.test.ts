// Issue 19, finding 2: host unix sockets and FIFOs reached from inside a sandbox. A read-only mount
// does not stop connect(2) to a socket file nor an open of a FIFO for writing, and the workload is
// host uid 0 with CAP_DAC_OVERRIDE. Every test attacks only canaries it makes itself: a unix socket
// server and a FIFO in a 0700 directory of its own under /run, its own `sandbox events` subscriber,
// its own views daemon with a canary process in a private mount namespace as the target; never the
// host's real sockets or daemons. The barriers behind /run's cover (peer credentials, validated and
// bounded input) are tested through a volume that hands the sandbox the test's own socket, as a
// user widening the sandbox would.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import {
  chmodSync,
  closeSync,
  constants,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  readSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { connect, createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  CLI,
  cli,
  finish,
  leftovers,
  removeLeftoverCgroups,
  sandboxUnavailable,
  startCli,
  type CliResult,
} from '../helpers/sandbox.js';
import { startDaemon, stopDaemon } from '../helpers/oci.js';
import { requireOrSkip } from '../helpers/skip.js';

const skip = requireOrSkip(sandboxUnavailable());

/** The canary directory: root-only, under the host's /run, named after this test process. */
const CANARY = `/run/sandbox-test-canary-${process.pid}`;
const SOCK = `${CANARY}/canary.sock`;
const FIFO = `${CANARY}/canary.fifo`;

/** A Python probe run inside: connect to SOCK and send a line, open FIFO for writing; prints one result line each. */
const PROBE = `
import errno, os, socket
try:
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(${JSON.stringify(SOCK)})
    s.sendall(b"forged from inside\\n")
    print("socket connected")
except OSError as e:
    print("socket", errno.errorcode[e.errno])
try:
    fd = os.open(${JSON.stringify(FIFO)}, os.O_WRONLY | os.O_NONBLOCK)
    os.write(fd, b"forged from inside\\n")
    print("fifo written")
except OSError as e:
    print("fifo", errno.errorcode[e.errno])
`;

describe.skipIf(skip)('escape-sockets: host unix sockets and FIFOs are out of reach', () => {
  let server: Server;
  let received: string[] = [];
  let fifoFd = -1;
  let work = '';

  beforeAll(async () => {
    mkdirSync(CANARY, { mode: 0o700 });
    chmodSync(CANARY, 0o700);
    server = createServer((sock) => {
      received.push('connection');
      sock.on('data', (d: Buffer) => received.push(d.toString()));
      sock.on('error', () => undefined);
    });
    await new Promise<void>((resolve) => server.listen(SOCK, resolve));
    chmodSync(SOCK, 0o600);
    execFileSync('mkfifo', ['-m', '0600', FIFO]);
    // Held open for reading, so a writer's non-blocking open would succeed (no ENXIO) if it could reach it.
    fifoFd = openSync(FIFO, constants.O_RDONLY | constants.O_NONBLOCK);
    work = mkdtempSync(join(tmpdir(), 'sandbox-escape-sockets-'));
    writeFileSync(join(work, 'probe.py'), PROBE);
  });
  afterAll(async () => {
    if (fifoFd >= 0) closeSync(fifoFd);
    await new Promise<void>((resolve) => server.close(() => resolve()));
    rmSync(CANARY, { recursive: true, force: true });
    rmSync(work, { recursive: true, force: true });
  });
  afterEach(() => {
    const left = leftovers();
    removeLeftoverCgroups();
    expect(left).toEqual([]);
  });

  /** Bytes the FIFO received since the last call. */
  const fifoText = (): string => {
    const buf = Buffer.alloc(4096);
    try {
      const n = readSync(fifoFd, buf, 0, buf.length, null);
      return buf.subarray(0, n).toString();
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EAGAIN') return '';
      throw err;
    }
  };

  for (const net of ['host', 'none']) {
    it(`a root workload (--net ${net}) can neither connect to a 0600 root socket under /run nor write a 0600 FIFO there`, async () => {
      received = [];
      const r = await cli(['run', '--userns=host', '--net', net, '--', 'python3', 'probe.py'], { cwd: work });
      expect(r.stderr).toBe('');
      expect(r.stdout.trim().split('\n')).toEqual(['socket ENOENT', 'fifo ENOENT']);
      // Give a connection that did get through time to show itself.
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(received).toEqual([]);
      expect(fifoText()).toBe('');
    });
  }

  it('/run and /var/run are empty and read-only inside; the host /run still holds the canary', async () => {
    const r = await cli([
      'run',
      '--',
      'sh',
      '-c',
      'ls -A /run | wc -l; ls -A /var/run/ | wc -l; touch /run/x 2>&1; grep -c sandbox-test-canary /proc/self/mountinfo',
    ]);
    const [run, varRun, touch, mentions] = r.stdout.trim().split('\n');
    expect(run).toBe('0');
    expect(varRun).toBe('0');
    expect(touch).toMatch(/Read-only file system/);
    expect(mentions).toBe('0');
  });

  it('a volume, the workdir and --tmpfs under /run still mount on top of the cover', async () => {
    const sub = join(work, 'vol');
    mkdirSync(sub, { recursive: true });
    writeFileSync(join(sub, 'hello'), 'from the volume\n');
    const r = await cli([
      'run',
      '-v',
      `${sub}:/run/app/data:ro`,
      '--tmpfs',
      '/run/scratch:1M',
      '--',
      'sh',
      '-c',
      'cat /run/app/data/hello; echo ok > /run/scratch/f && cat /run/scratch/f; ls -A /run | tr "\\n" " "',
    ]);
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('from the volume\nok\napp scratch ');
    const t = await cli(['run', '--tmpfs', '/run', '--', 'sh', '-c', 'echo ok > /run/f && cat /run/f']);
    expect(t.stdout).toBe('ok\n');
    // A current directory under /run is still bound writable (its mount point is made on the cover).
    const wd = `${CANARY}/workdir`;
    mkdirSync(wd, { mode: 0o700 });
    const w = await cli(['run', '--userns=host', '--', 'sh', '-c', 'pwd; echo written > f; ls -A /run'], { cwd: wd });
    expect(w.stderr).toBe('');
    expect(w.stdout).toBe(`${wd}\n${CANARY.slice('/run/'.length)}\n`);
    expect(readFileSync(`${wd}/f`, 'utf8')).toBe('written\n');
  });

  it('/etc/resolv.conf pointing into /run (systemd-resolved) still reads inside: its text is carried over', async () => {
    // The host's /etc is never touched: in a private mount namespace of this test only, an overlay
    // on /etc replaces resolv.conf by a symlink to a canary file under /run, as systemd-resolved does.
    const ov = mkdtempSync(join(tmpdir(), 'sandbox-escape-etc-'));
    mkdirSync(`${ov}/upper`);
    mkdirSync(`${ov}/work`);
    writeFileSync(`${CANARY}/resolv.conf`, 'nameserver 192.0.2.53\n');
    const script = [
      `mount -t overlay overlay -o lowerdir=/etc,upperdir=${ov}/upper,workdir=${ov}/work /etc`,
      `ln -sf ..${CANARY}/resolv.conf /etc/resolv.conf`,
      `exec "$0" "$1" run -- sh -c 'cat /etc/resolv.conf; ls -A /run'`,
    ].join(' && ');
    try {
      const r = spawnSync('unshare', ['-m', '--propagation', 'private', 'sh', '-c', script, process.execPath, CLI], {
        encoding: 'utf8',
      });
      expect(r.stderr).toBe('');
      expect(r.stdout).toBe(`nameserver 192.0.2.53\n${CANARY.slice('/run/'.length)}\n`);
    } finally {
      rmSync(ov, { recursive: true, force: true });
    }
  });
});

/** Start `sandbox events` and wait until its socket exists. */
async function subscribe(): Promise<{ socket: string; stop(): Promise<CliResult>; alive(): boolean }> {
  const child = startCli(['events']);
  const done = finish(child);
  const socket = `/run/sandbox-events.${child.pid}.sock`;
  for (let i = 0; i < 250 && !existsSync(socket); i++) await new Promise((r) => setTimeout(r, 20));
  expect(existsSync(socket)).toBe(true);
  return {
    socket,
    alive: () => child.exitCode === null && child.signalCode === null,
    async stop() {
      child.kill('SIGTERM');
      return done;
    },
  };
}

/** Write text to a Unix socket from this (host) process and wait until the peer closes or 500 ms pass. */
function sendFromHost(path: string, text: string | Buffer): Promise<void> {
  return new Promise((resolve) => {
    const sock = connect(path, () => sock.end(text));
    const timer = setTimeout(() => (sock.destroy(), resolve()), 500);
    sock.on('error', () => undefined);
    sock.on('close', () => (clearTimeout(timer), resolve()));
  });
}

/** A forged event, well-formed: what a supervisor would send. */
const forged = (id: string): string =>
  JSON.stringify({ type: 'exit', time: new Date().toISOString(), id, name: null, exitCode: 0 });

describe.skipIf(skip)('escape-sockets: our own sockets', () => {
  let work = '';
  beforeAll(() => {
    work = mkdtempSync(join(tmpdir(), 'sandbox-escape-own-'));
  });
  afterAll(() => rmSync(work, { recursive: true, force: true }));
  afterEach(() => {
    const left = leftovers();
    removeLeftoverCgroups();
    expect(left).toEqual([]);
  });

  it("the events socket and journal are not reachable inside; forged lines through a bound socket aren't printed", async () => {
    const sub = await subscribe();
    const client = (path: string) => `
import errno, socket
try:
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect("${path}")
    print("connected")
    s.sendall(b${JSON.stringify(forged('f0f0f0f0f0f0') + '\n')} + b"not json\\n")
    s.shutdown(socket.SHUT_WR)
    s.recv(1)
    print("sent")
except OSError as e:
    print(errno.errorcode[e.errno])
`;
    writeFileSync(join(work, 'direct.py'), client(sub.socket));
    writeFileSync(join(work, 'bound.py'), client('/tmp/events.sock'));
    const direct = await cli(
      ['run', '--userns=host', '--', 'sh', '-c', `python3 direct.py; cat /run/sandbox-events.log 2>&1 | head -c 200`],
      { cwd: work },
    );
    expect(direct.stdout).toBe('ENOENT\ncat: /run/sandbox-events.log: No such file or directory\n');
    // Handed in by a volume: the subscriber refuses the peer (root in the sandbox's pid namespace).
    const bound = await cli(
      ['run', '--userns=host', '-v', `${sub.socket}:/tmp/events.sock`, '--', 'python3', 'bound.py'],
      { cwd: work },
    );
    expect(bound.stderr).toBe('');
    // Connected, then cut off at once: the sends may fail with EPIPE or ECONNRESET.
    expect(bound.stdout).toMatch(/^connected\n(sent|EPIPE|ECONNRESET)\n$/);
    expect(sub.alive()).toBe(true);
    const r = await sub.stop();
    expect(r.code).toBe(0);
    expect(r.stdout).not.toContain('f0f0f0f0f0f0');
    expect(r.stderr).toMatch(/refused a connection from pid \d+ uid 0: not a supervisor/);
    // Every line printed is a sandbox's real event (the two runs' start and exit).
    const events = r.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { type: string });
    expect(events.map((e) => e.type)).toEqual(['start', 'exit', 'start', 'exit']);
  });

  it('garbage from a host peer (not JSON, an oversized line, a bad event) neither kills `sandbox events` nor is printed', async () => {
    const sub = await subscribe();
    await sendFromHost(sub.socket, 'not json at all\n');
    await sendFromHost(sub.socket, '{"type":"exit"}\n[1,2,3]\nnull\n');
    await sendFromHost(sub.socket, Buffer.alloc(4 << 20, 'x'));
    await sendFromHost(sub.socket, `${forged('e1e1e1e1e1e1').replace('"exitCode":0', '"exitCode":"0"')}\n`);
    expect(sub.alive()).toBe(true);
    // Still working: a real sandbox's events arrive.
    expect((await cli(['run', '--name', 'esc-ev', '--', 'true'])).code).toBe(0);
    await new Promise((r) => setTimeout(r, 100));
    const r = await sub.stop();
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines.map((l) => (JSON.parse(l) as { type: string; name: string }).type)).toEqual(['start', 'exit']);
  });

  it('a register sent from inside a sandbox to the views daemon is refused, alike for live and missing pids', async () => {
    const base = `${work}/procfs`;
    const daemon = await startDaemon(base);
    // The target a forged register would name: a canary process of this test, in a private mount
    // namespace of its own (so even a daemon that obeyed would bind views only there).
    const canary = spawn('unshare', ['-m', '--propagation', 'private', 'sleep', '60'], { stdio: 'ignore' });
    try {
      await new Promise((r) => setTimeout(r, 200));
      const pids = [canary.pid!, 4194000, 1];
      writeFileSync(
        join(work, 'register.py'),
        `
import json, socket
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect("/tmp/api.sock")
f = s.makefile("rw")
for pid in ${JSON.stringify(pids)}:
    f.write(json.dumps({"op": "register", "id": "escape-%d" % pid, "pid": pid, "root": ""}) + "\\n")
f.write(json.dumps({"op": "list"}) + "\\n")
f.write("x" * 70000 + "\\n")
f.flush()
for _ in range(${pids.length + 1}):
    print(f.readline().strip())
print("closed" if f.readline() == "" else "open")
`,
      );
      const r = await cli(
        ['run', '--userns=host', '-v', `${base}/api.sock:/tmp/api.sock`, '--', 'python3', 'register.py'],
        { cwd: work },
      );
      expect(r.stderr).toBe('');
      const replies = r.stdout.trim().split('\n');
      const regs = replies.slice(0, pids.length).map((l) => JSON.parse(l) as { ok: boolean; error?: string });
      pids.forEach((pid, i) => {
        expect(regs[i]).toEqual({
          ok: false,
          error: `register escape-${pid}: refused: pid ${pid} is not the init of the caller's pid namespace (a hook inside a container may register only that container)`,
        });
      });
      expect(JSON.parse(replies[pids.length]!)).toEqual({ ok: true, containers: [] });
      expect(replies[pids.length + 1]).toBe('closed'); // the oversized line cut the connection
      expect(daemon.log()).not.toMatch(/register escape/);
      // The canary's mount namespace got no views.
      expect(readFileSync(`/proc/${canary.pid}/mountinfo`, 'utf8')).not.toContain('/proc/meminfo');
    } finally {
      canary.kill('SIGKILL');
      await stopDaemon(daemon);
      rmSync(base, { recursive: true, force: true });
    }
  });
});
