// run -t / -i through the CLI on a real terminal: a pty made by python3's pty module stands for the
// user's terminal (test/helpers/pty-driver.py). With -t the workload's stdin, stdout and stderr are
// a pty of the sandbox's own devpts (/dev/pts/N inside), its controlling terminal, sized like the
// user's and resized with it; Ctrl-C interrupts the workload's foreground job, not the sandbox.
// `sandbox exec -t` gives the exec'd command such a pty too.
import { execFile, execFileSync, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { cleanUpAfterEach, detached } from '../helpers/lifecycle.js';
import { CLI, cli, finish, leftovers, removeLeftoverCgroups, sandboxUnavailable } from '../helpers/sandbox.js';
import { needsSetup, requireOrSkip, type Missing } from '../helpers/skip.js';

const DRIVER = fileURLToPath(new URL('../helpers/pty-driver.py', import.meta.url));

/** What driving a terminal needs that is missing (python3 with its pty module), or null. */
function python3Missing(): Missing | null {
  try {
    execFileSync('python3', ['-c', 'import pty'], { stdio: 'ignore' });
    return null;
  } catch {
    return needsSetup('python3 with the pty module is needed to drive a terminal');
  }
}
const skip = requireOrSkip(sandboxUnavailable() ?? python3Missing());

/** `sandbox ARGS…` with `input` on a pipe as its stdin. */
function withInput(args: string[], input: string): ReturnType<typeof finish> {
  const child = spawn(process.execPath, [CLI, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
  child.stdin.end(input);
  return finish(child);
}

type Step = ['wait', number] | ['until', string, number] | ['send', string] | ['resize', number, number];

/**
 * Shell text that waits (up to 30 s, polling) until the terminal is no longer 30x100, i.e. the
 * resize has been relayed: the relay is asynchronous, so a fixed pause could come too early.
 */
const AWAIT_RESIZE = 'i=0; while [ "$(stty size)" = "30 100" ] && [ $i -lt 600 ]; do sleep 0.05; i=$((i+1)); done; ';

/** Run `sandbox ARGS…` on a fresh 30x100 terminal, playing the steps; its output and exit code. */
function onTerminal(args: string[], steps: Step[]): Promise<{ out: string; code: number }> {
  return new Promise((resolve, reject) => {
    execFile(
      'python3',
      [DRIVER, JSON.stringify(steps), process.execPath, CLI, ...args],
      { timeout: 60_000 },
      (err, stdout) => {
        if (err) reject(err);
        else resolve(JSON.parse(stdout) as { out: string; code: number });
      },
    );
  });
}

describe.skipIf(skip)('run -t and -i', () => {
  afterEach(() => {
    const left = leftovers();
    removeLeftoverCgroups();
    expect(left).toEqual([]);
  });

  it('-t: the shell runs on /dev/pts/N of the sandbox, isatty(0) is True, the exit code comes back', async () => {
    const r = await onTerminal(
      ['run', '-t', '--', 'sh'],
      [
        ['until', '# ', 10],
        [
          'send',
          `tty; stty size; python3 -c 'import os; print(os.isatty(0), os.getsid(0) == os.getpid() or os.tcgetpgrp(0) == os.getpgrp())'; exit 3\n`,
        ],
      ],
    );
    expect(r.out).toMatch(/\r\n\/dev\/pts\/\d+\r\n30 100\r\nTrue True\r\n/);
    expect(r.code).toBe(3);
  }, 60_000);

  it('-t: a resize of the user terminal reaches the workload (SIGWINCH, stty size)', async () => {
    const r = await onTerminal(
      ['run', '-it', '--', 'sh'],
      [
        ['until', '# ', 10],
        ['send', 'stty size\n'],
        ['until', '30 100', 5],
        ['resize', 40, 120],
        ['send', `${AWAIT_RESIZE}stty size; exit\n`],
      ],
    );
    expect(r.out).toContain('30 100\r\n');
    expect(r.out).toContain('40 120\r\n');
    expect(r.code).toBe(0);
  }, 60_000);

  it('-t: Ctrl-C interrupts the foreground job inside; the shell and the sandbox go on', async () => {
    // Without the interrupt, sleep 30 would end by itself and $? would be 0: no "after-130".
    const r = await onTerminal(
      ['run', '-t', '--', 'sh'],
      [
        ['until', '# ', 10],
        ['send', 'sleep 30\n'],
        ['wait', 0.5],
        ['send', '\x03'],
        ['wait', 0.3],
        ['send', 'echo after-$?; exit 0\n'],
      ],
    );
    expect(r.out).toContain('after-130');
    expect(r.code).toBe(0);
  }, 60_000);

  it('-t: top -b -n1 runs and sees the sandbox', async () => {
    const r = await onTerminal(['run', '-t', '--', 'top', '-b', '-n1'], []);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/PID\s+USER/);
    expect(r.out).toMatch(/\btop\b/);
  }, 60_000);

  it('without -t on a terminal: stdin is the user terminal itself, passed through', async () => {
    const r = await onTerminal(
      ['run', '-i', '--', 'python3', '-c', 'import os; print(os.isatty(0), input())'],
      [
        ['wait', 1.5],
        ['send', 'typed\n'],
      ],
    );
    expect(r.out).toContain('True typed');
    expect(r.code).toBe(0);
  }, 60_000);

  it('piped stdin: passed without -t; with -t it is typed into the pty and its end is ^D', async () => {
    const plain = await withInput(
      ['run', '--', 'sh', '-c', 'cat; python3 -c "import os; print(os.isatty(0))"'],
      'hello\n',
    );
    expect(plain.stdout).toBe('hello\nFalse\n');
    const tty = await withInput(['run', '-t', '--', 'sh', '-c', 'cat; tty'], 'hello\n');
    expect(tty.code).toBe(0);
    expect(tty.stdout).toMatch(/hello\r\n(hello\r\n)?\/dev\/pts\/\d+\r\n$/);
  }, 60_000);

  it('-t with -d is a usage error (exit 125, one line naming the flag)', async () => {
    const r = await cli(['run', '-d', '-t', '--', 'true']);
    expect(r.code).toBe(125);
    expect(r.stderr).toMatch(/^sandbox: --tty: .*-d.*\n$/);
  });
});

describe.skipIf(skip)('exec -t', () => {
  cleanUpAfterEach();

  it("a shell on a new /dev/pts/N of the sandbox's devpts: its views, resize, Ctrl-C, the exit code", async () => {
    const id = await detached(['--mem', '256M', '--', 'sleep', '100']);
    const r = await onTerminal(
      ['exec', '-t', id, '--', 'sh'],
      [
        ['until', '# ', 10],
        ['send', 'tty; stty size; head -1 /proc/meminfo; sleep 30\n'],
        ['until', 'kB', 10],
        ['wait', 0.3],
        ['send', '\x03'],
        ['wait', 0.3],
        ['resize', 40, 120],
        ['send', `echo after-$?; ${AWAIT_RESIZE}stty size; exit 4\n`],
      ],
    );
    expect(r.out).toMatch(/\r\n\/dev\/pts\/\d+\r\n30 100\r\nMemTotal:\s+262144 kB\r\n/);
    expect(r.out).toMatch(/\r\nafter-130\r\n40 120\r\n/);
    expect(r.code).toBe(4);
    // The sandbox outlived the interrupted job and the shell: its workload still runs.
    expect((await cli(['exec', id, '--', 'cat', '/proc/2/comm'])).stdout).toBe('sleep\n');
  }, 60_000);

  it('exec -t into a --userns sandbox: root of its user namespace, the pty its own', async () => {
    const id = await detached(['--userns', '--', 'sleep', '100']);
    const r = await onTerminal(
      ['exec', '-t', id, '--', 'sh'],
      [
        ['until', '# ', 10],
        ['send', 'id -u; stat -c %u $(tty); cat /proc/self/uid_map | tr -s " "; exit 5\n'],
      ],
    );
    expect(r.out).toMatch(/\r\n0\r\n0\r\n 0 100000 65536\r\n/);
    expect(r.code).toBe(5);
  }, 60_000);
});
