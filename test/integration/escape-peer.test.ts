// Issue 19: our sockets trust a peer by the pid namespace of the pid SO_PEERCRED names
// (supervisor/peer.ts). A pid outlives nothing: a sandboxed peer that connects, sends and exits
// leaves its pid, and a host root process that takes it before the subscriber looks would vouch for
// the forged line. Played out deterministically in a pid namespace of the test's own (P, with its
// own /proc, so ns_last_pid there is the test's, not the host's): `sandbox events` runs in P and
// is stopped (SIGSTOP); an attacker in a pid namespace below P connects, sends a well-formed event
// and exits; a `sleep` is then started in P on the attacker's pid (ns_last_pid); the subscriber
// resumes. SO_PEERPIDFD (Linux 6.5) names the attacker itself, reaped by then: refused.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanUpAfterEach } from '../helpers/lifecycle.js';
import { CLI, sandboxUnavailable } from '../helpers/sandbox.js';
import { machineLacks, requireOrSkip } from '../helpers/skip.js';

const [major = 0, minor = 0] = (await import('node:os'))
  .release()
  .split('.')
  .map((n) => parseInt(n, 10));
const skip = requireOrSkip(
  sandboxUnavailable() ??
    (major > 6 || (major === 6 && minor >= 5) ? null : machineLacks('SO_PEERPIDFD needs Linux 6.5')),
);

/** The forged event's id: a line with it printed means the attacker was believed. */
const FORGED_ID = 'ab12ab12ab12';

/**
 * PID 1 of the test's pid namespace P (unshare -pf --mount-proc): argv node, CLI. Prints
 * "reused" when the impostor got the attacker's pid, then the subscriber's stdout and stderr.
 */
const ORCHESTRATE = `
import json, os, signal, socket, subprocess, sys, time
node, cli = sys.argv[1], sys.argv[2]
sub = subprocess.Popen([node, cli, "events"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
path = "/run/sandbox-events.%d.sock" % sub.pid
for _ in range(500):
    if os.path.exists(path):
        break
    time.sleep(0.02)
os.kill(sub.pid, signal.SIGSTOP)
line = json.dumps({"type": "exit", "time": "2026-01-01T00:00:00.000Z", "id": "${FORGED_ID}", "name": None, "exitCode": 0}, separators=(",", ":"))
attack = "import socket, sys; s = socket.socket(socket.AF_UNIX); s.connect(%r); s.sendall(%r); s.shutdown(socket.SHUT_WR); print('sent', flush=True); sys.stdin.read()" % (path, (line + "\\n").encode())
# The attacker: PID 1 of a pid namespace below P, the child unshare forks; held until its pid in P is known.
att = subprocess.Popen(["unshare", "-p", "-f", "python3", "-c", attack], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
assert att.stdout.readline() == "sent\\n"
victim = int(open("/proc/%d/task/%d/children" % (att.pid, att.pid)).read().split()[0])
att.stdin.close()
att.wait()
time.sleep(0.1)
with open("/proc/sys/kernel/ns_last_pid", "w") as f:
    f.write(str(victim - 1))
impostor = subprocess.Popen(["sleep", "60"])
print("reused" if impostor.pid == victim else "not-reused %d %d" % (impostor.pid, victim), flush=True)
os.kill(sub.pid, signal.SIGCONT)
time.sleep(1.5)
sub.send_signal(signal.SIGTERM)
o, e = sub.communicate()
impostor.kill()
impostor.wait()
print("STDOUT", o.decode())
print("STDERR", e.decode())
`;

describe.skipIf(skip)('escape-peer: a reused pid does not vouch for a peer that is gone', () => {
  cleanUpAfterEach();
  let dir = '';
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'sandbox-escape-peer-'));
    writeFileSync(join(dir, 'orchestrate.py'), ORCHESTRATE);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('`sandbox events`: the forged line of a reaped peer is not printed though a root process of its pid namespace now has its pid', async () => {
    const out = await new Promise<string>((resolve, reject) => {
      execFile(
        'unshare',
        ['-p', '-f', '--mount-proc', 'python3', join(dir, 'orchestrate.py'), process.execPath, CLI],
        { timeout: 60_000 },
        (err, stdout, stderr) => (err ? reject(new Error(`${err.message}\n${stdout}\n${stderr}`)) : resolve(stdout)),
      );
    });
    expect(out.split('\n')[0]).toBe('reused'); // the set-up worked: the impostor holds the attacker's pid
    expect(out).not.toContain(FORGED_ID);
    expect(out).toMatch(/refused a connection from pid \d+ uid 0/);
  });
});
