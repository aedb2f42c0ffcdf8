// Issue 19: what a foreground `sandbox run` (without -t) hands the workload. It gets the caller's
// fds 0-2 (as bubblewrap does; SECURITY.md says why they are not relayed) and dies with the run.
// Tried here on a pty of the test's own (test/helpers/pty-driver.py), the controlling terminal of
// the shell that starts the run: TIOCSTI into it is refused by the filter, and when the caller
// redirected all of 0-2 away from it, /dev/tty no longer leads to it (the workload has a session
// of its own).
import { execFile } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanUpAfterEach } from '../helpers/lifecycle.js';
import { CLI, sandboxUnavailable } from '../helpers/sandbox.js';
import { requireOrSkip } from '../helpers/skip.js';

const skip = requireOrSkip(sandboxUnavailable());
const DRIVER = fileURLToPath(new URL('../helpers/pty-driver.py', import.meta.url));

/** Run `bash -c script` on a new pty (its controlling terminal); what the pty showed and the exit code. */
function onPty(script: string, cwd: string): Promise<{ out: string; code: number }> {
  return new Promise((resolve, reject) => {
    execFile(
      'python3',
      [DRIVER, JSON.stringify([['wait', 0.2]]), 'bash', '-c', script],
      { cwd, timeout: 60_000 },
      (err, stdout) => (err ? reject(err) : resolve(JSON.parse(stdout) as { out: string; code: number })),
    );
  });
}

/** Inside: TIOCSTI a character into the terminal on fd 0 (python's fcntl, no shell quoting). */
const TIOCSTI = `
import errno, fcntl, termios
try:
    fcntl.ioctl(0, termios.TIOCSTI, b"X")
    print("injected")
except OSError as e:
    print("tiocsti", errno.errorcode[e.errno])
`;

describe.skipIf(skip)("escape-run-stdio: the caller's terminal and files handed to a foreground run", () => {
  cleanUpAfterEach();
  let dir = '';
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'sandbox-escape-run-stdio-'));
    chmodSync(dir, 0o755); // the scripts are read by the workload: uid 100000 under the default user namespace
    writeFileSync(join(dir, 'tiocsti.py'), TIOCSTI);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const run = `"${process.execPath}" "${CLI}" run`;

  it('stdio redirected away from the terminal: /dev/tty is ENXIO inside, nothing reaches the pty', async () => {
    const r = await onPty(
      `${run} -- sh -c 'echo via-devtty > /dev/tty; echo exit=$?' </dev/null >out 2>&1; echo run=$?`,
      dir,
    );
    expect(r.out).not.toContain('via-devtty');
    expect(r.out).toMatch(/run=0/);
    expect(readFileSync(join(dir, 'out'), 'utf8')).toMatch(/No such device or address\nexit=2\n$/);
  });

  it("stdio on the terminal: it is still the workload's (isatty, /dev/tty), and TIOCSTI into it is refused", async () => {
    // The same session as the caller: the terminal is reachable, as a foreground program's is.
    const tty = await onPty(
      `${run} -- sh -c 'test -t 0 && test -t 1 && echo on-tty; echo via-devtty > /dev/tty'; echo run=$?`,
      dir,
    );
    expect(tty.out).toMatch(/on-tty\r?\nvia-devtty\r?\nrun=0/);
    // TIOCSTI would push "X" into the pty's input queue, read next by the shell: it would print X.
    const sti = await onPty(`${run} -- python3 tiocsti.py; read -t 1 line; echo "after=[$line]"`, dir);
    expect(sti.out).toContain('tiocsti EPERM');
    expect(sti.out).not.toContain('injected');
    expect(sti.out).toContain('after=[]');
  });
});
