// Issue 19, finding 5: `sandbox exec` must not hand the caller's stdio to the sandbox. The exec'd
// command gets pipes (or, with -t, a pty of the sandbox's devpts) that the stage relays, and a
// session of its own, so the workload (root inside, same pid namespace) finds no descriptor of the
// caller's files or terminal in /proc/PID/fd and no controlling terminal behind /dev/tty.
// Canaries, all made here: a file the exec's stdout and stderr point at, a pipe the test holds
// as its stdin, a pty of the test's own (test/helpers/pty-driver.py), and the attacker script in a
// scratch directory that is the sandbox's cwd.
import { spawn, execFile } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanUpAfterEach, detached } from '../helpers/lifecycle.js';
import { CLI, cli, sandboxUnavailable } from '../helpers/sandbox.js';
import { requireOrSkip } from '../helpers/skip.js';

const skip = requireOrSkip(sandboxUnavailable());
const DRIVER = fileURLToPath(new URL('../helpers/pty-driver.py', import.meta.url));

// The workload: collects a descriptor of fds 0-2 of every other process it sees (reopened through
// /proc/PID/fd, as finding 5 did) until ./go appears, then writes a line into each and reads each
// once, logging what it got into ./log, and makes ./done.
const ATTACKER = `
import os, time
held, seen = {}, []
me = os.getpid()
while not os.path.exists('go'):
    for p in os.listdir('/proc'):
        if not p.isdigit() or int(p) in (me, 1):
            continue
        for n in (0, 1, 2):
            for mode in (os.O_WRONLY | os.O_APPEND, os.O_RDONLY):
                key = (p, n, mode)
                if key in held:
                    continue
                try:
                    held[key] = os.open('/proc/%s/fd/%d' % (p, n), mode | os.O_NONBLOCK | os.O_NOCTTY)
                    seen.append('%s/%d -> %s' % (p, n, os.readlink('/proc/%s/fd/%d' % (p, n))))
                except OSError:
                    pass
    time.sleep(0.02)
log = ['seen ' + s for s in seen]
for (p, n, mode), fd in held.items():
    try:
        if mode == os.O_RDONLY:
            log.append('read %s/%d: %r' % (p, n, os.read(fd, 4096)))
        else:
            os.write(fd, b'PWNED\\n')
            log.append('wrote %s/%d' % (p, n))
    except OSError as e:
        log.append('refused %s/%d: %s' % (p, n, e.strerror))
open('log', 'w').write('\\n'.join(log) + '\\n')
open('done', 'w').close()
`;

async function waitFor(path: string, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (!existsSync(path)) {
    if (Date.now() > end) return false;
    await new Promise((r) => setTimeout(r, 50));
  }
  return true;
}

describe.skipIf(skip)("sandbox exec keeps the caller's stdio out of the sandbox (issue 19, finding 5)", () => {
  cleanUpAfterEach();
  let dir = '';
  let canaries = '';
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'escape-exec-cwd-'));
    canaries = mkdtempSync(join(tmpdir(), 'escape-exec-canary-'));
    writeFileSync(join(dir, 'attacker.py'), ATTACKER);
  });
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
    rmSync(canaries, { recursive: true, force: true });
  });

  it("a workload holding exec's fds 0-2 through /proc/PID/fd reaches neither the caller's file nor its pipe after exec returned", async () => {
    // --net none: with the host's network the workload is also in a Landlock domain, which keeps
    // it from even opening /proc/PID/fd of exec'd processes (escape-landlock.test.ts); the relay
    // is the wall tested here, so the attacker runs where it is the only one.
    const id = await detached(['--userns=host', '--net', 'none', '--', 'python3', 'attacker.py'], { cwd: dir });
    const out = join(canaries, 'out');
    writeFileSync(out, '');
    const outFd = openSync(out, 'a');
    // stdin: a pipe the test holds; stdout and stderr: the canary file.
    const exec = spawn(process.execPath, [CLI, 'exec', id, '--', 'sh', '-c', 'sleep 2; echo from-exec'], {
      stdio: ['pipe', outFd, outFd],
    });
    const code = await new Promise<number | null>((resolve) => exec.on('exit', (c) => resolve(c)));
    closeSync(outFd);
    expect(code).toBe(0);
    expect(readFileSync(out, 'utf8')).toBe('from-exec\n');
    // After exec returned: the test types into its pipe, then lets the workload strike.
    exec.stdin!.on('error', () => undefined); // EPIPE when nobody holds the read end: the point
    exec.stdin!.write('typed-after-exec\n');
    writeFileSync(join(dir, 'go'), '');
    expect(await waitFor(join(dir, 'done'), 15_000)).toBe(true);
    exec.stdin!.destroy();
    const log = readFileSync(join(dir, 'log'), 'utf8');
    // The workload did find the exec'd command's fds (so the check below means something) ...
    expect(log).toMatch(/^seen \d+\/1 -> /m);
    // ... but neither the canary file nor the canary pipe got or gave anything.
    expect(readFileSync(out, 'utf8')).toBe('from-exec\n');
    expect(log).not.toContain('typed-after-exec');
    expect(log).not.toContain(out);
  }, 60_000);

  it("the exec'd command has no controlling terminal: /dev/tty does not lead to the caller's", async () => {
    const id = await detached(['--', 'sleep', '100']);
    const r = await new Promise<{ out: string; code: number }>((resolve, reject) => {
      execFile(
        'python3',
        [
          DRIVER,
          JSON.stringify([['wait', 0.5]]),
          process.execPath,
          CLI,
          'exec',
          id,
          '--',
          'sh',
          '-c',
          'echo via-devtty > /dev/tty; echo exit=$?',
        ],
        { timeout: 60_000 },
        (err, stdout) => (err ? reject(err) : resolve(JSON.parse(stdout) as { out: string; code: number })),
      );
    });
    expect(r.out).not.toContain('via-devtty');
    expect(r.out).toMatch(/No such device or address/);
    expect(r.out).toContain('exit=2');
    expect(r.code).toBe(0);
  }, 60_000);

  it('returns when the command ends, though a process it left holds the pipes', async () => {
    const id = await detached(['--', 'sleep', '100']);
    const started = Date.now();
    const r = await cli(['exec', id, '--', 'sh', '-c', 'sleep 30 & echo hi']);
    expect(r.stdout).toBe('hi\n');
    expect(r.code).toBe(0);
    expect(Date.now() - started).toBeLessThan(15_000);
  }, 60_000);

  it('stdin reaches the command and its end is an end of file', async () => {
    const id = await detached(['--', 'sleep', '100']);
    const child = spawn(process.execPath, [CLI, 'exec', id, '--', 'sh', '-c', 'cat; echo eof'], {
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stdin.end('hi\n');
    const code = await new Promise<number | null>((resolve) => child.on('close', (c) => resolve(c)));
    expect(stdout).toBe('hi\neof\n');
    expect(code).toBe(0);
  }, 60_000);

  it('a signal to `sandbox exec` still reaches the command, and its exit code comes back', async () => {
    const id = await detached(['--', 'sleep', '100']);
    const child = spawn(
      process.execPath,
      [CLI, 'exec', id, '--', 'sh', '-c', 'trap "echo got-term; exit 7" TERM; echo ready; while :; do sleep 0.1; done'],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let stdout = '';
    const ready = new Promise<void>((resolve) =>
      child.stdout.on('data', (d: Buffer) => {
        stdout += d.toString();
        if (stdout.includes('ready')) resolve();
      }),
    );
    await ready;
    child.kill('SIGTERM');
    const code = await new Promise<number | null>((resolve) => child.on('close', (c) => resolve(c)));
    expect(stdout).toBe('ready\ngot-term\n');
    expect(code).toBe(7);
  }, 60_000);
});
