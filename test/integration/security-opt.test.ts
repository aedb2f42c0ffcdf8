// Loosening (and tightening) the confinement on request: --cap-add/--cap-drop with docker's names
// and rules, --security-opt seccomp=unconfined, both kept for `sandbox exec`; and the filter's
// cut-off: every system call number above the last one of Linux 6.18 gets ENOSYS. The cut-off is
// checked twice: from inside (raw calls) and on the program PID 1 really runs under, dumped with
// PTRACE_SECCOMP_GET_FILTER and evaluated for numbers no kernel has yet (on 6.18 they fail with
// ENOSYS anyway, so only the program itself shows the filter refuses them).
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { AUDIT_ARCH_X86_64, describeResult, runFilter, type Instruction } from '../helpers/cbpf.js';
import { cleanUpAfterEach, detached, scratchDir, stateOf } from '../helpers/lifecycle.js';
import { cli, sandboxUnavailable } from '../helpers/sandbox.js';
import { machineLacks, requireOrSkip } from '../helpers/skip.js';

const skip = requireOrSkip(
  sandboxUnavailable() ??
    (process.arch === 'x64'
      ? null
      : machineLacks(`the probes are written for x86_64, this machine is ${process.arch}`)),
);
const PROBE_SOURCE = fileURLToPath(new URL('./escape-probe.c', import.meta.url));
const DUMP = fileURLToPath(new URL('../helpers/seccomp-filter.py', import.meta.url));
const MOUNT = 'unshare -m sh -c "mount -t tmpfs none /mnt && echo mounted" 2>&1';
const STATUS = 'grep -E "^(CapEff|Seccomp):" /proc/self/status';

/** The capability mask with bits 0..n set, as /proc/PID/status prints it. */
const capsUpTo = (n: number) => ((1n << BigInt(n + 1)) - 1n).toString(16).padStart(16, '0');

/** The host pid of a running sandbox's PID 1 (comm "sandbox-init", in its cgroup). */
function initPid(id: string): number {
  const procs = readFileSync(`${stateOf(id).cgroupDirs[0]}/cgroup.procs`, 'utf8')
    .trim()
    .split('\n');
  const init = procs.find((pid) => readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === 'sandbox-init');
  if (init === undefined) throw new Error(`no sandbox-init among ${procs.join(' ')}`);
  return Number(init);
}

/** What the filter of a sandbox's PID 1 answers to system call `nr` of x86_64 (or of another arch). */
function verdicts(prog: Instruction[], numbers: number[], arch = AUDIT_ARCH_X86_64): string[] {
  return numbers.map((nr) => describeResult(runFilter(prog, { nr, arch })));
}

const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

describe.skipIf(skip)('security options: --cap-add, --cap-drop, --security-opt seccomp=unconfined', () => {
  const scratch = scratchDir(tmpdir(), 'sandbox-secopt-');
  beforeAll(() => void execFileSync('cc', ['-O0', '-Wall', '-o', join(scratch(), 'probe'), PROBE_SOURCE]));
  cleanUpAfterEach();

  // --userns=host: these flags are about capabilities over the host's objects (a mount, a chown), and
  // the probe lives in a 0700 directory of root's.
  const sh = (script: string, flags: string[] = []) =>
    cli(['run', '--userns=host', ...flags, '--', 'sh', '-c', script], { cwd: scratch() });

  it('refuses a mount by default; --cap-add SYS_ADMIN --security-opt seccomp=unconfined allows it', async () => {
    const denied = await sh(MOUNT);
    expect(denied.stdout).toMatch(/Operation not permitted/);
    const allowed = await sh(`${MOUNT}; ${STATUS}`, ['--cap-add', 'SYS_ADMIN', '--security-opt', 'seccomp=unconfined']);
    expect(allowed.stderr).toBe('');
    // CAP_SYS_ADMIN is bit 21: the default set under --net host (0x200405fb: docker's without MKNOD,
    // SETFCAP and, in the host's network namespace, NET_RAW) plus 0x200000.
    expect(allowed.stdout).toBe('mounted\nCapEff:\t00000000202405fb\nSeccomp:\t0\n');
  });

  it("--cap-add SYS_ADMIN alone lifts the filter's mount and namespace denials, as docker's profile does; the filter stays", async () => {
    const r = await sh(`${MOUNT}; ./probe pivot-root keyctl userfaultfd; grep Seccomp: /proc/self/status`, [
      '--cap-add',
      'sys_admin',
    ]);
    expect(r.stdout).toBe('mounted\npivot-root EPERM\nkeyctl EPERM\nuserfaultfd EPERM\nSeccomp:\t2\n');
  });

  it('seccomp=unconfined alone: no filter, so a user namespace can be made; the capabilities still refuse a mount', async () => {
    const r = await sh(`./probe mount-tmpfs keyctl unshare-user; ${STATUS}`, ['--security-opt', 'seccomp=unconfined']);
    expect(r.stdout).toBe('mount-tmpfs EPERM\nkeyctl OK\nunshare-user OK\nCapEff:\t00000000200405fb\nSeccomp:\t0\n');
  });

  it('--cap-drop CHOWN: chown fails where it works by default', async () => {
    const script = 'touch /tmp/f && chown 1000:1000 /tmp/f 2>&1 && stat -c %u /tmp/f';
    expect((await sh(script)).stdout).toBe('1000\n');
    const dropped = await sh(script, ['--cap-drop', 'CHOWN']);
    expect(dropped.stdout).toMatch(/chown: changing ownership of '\/tmp\/f': Operation not permitted/);
  });

  it('--cap-drop ALL keeps only what --cap-add names; --cap-add ALL keeps every capability the kernel has', async () => {
    const last = Number(readFileSync('/proc/sys/kernel/cap_last_cap', 'utf8'));
    expect((await sh(STATUS, ['--cap-drop', 'ALL'])).stdout).toBe('CapEff:\t0000000000000000\nSeccomp:\t2\n');
    expect((await sh(STATUS, ['--cap-drop', 'ALL', '--cap-add', 'CAP_KILL'])).stdout).toBe(
      'CapEff:\t0000000000000020\nSeccomp:\t2\n',
    );
    // ALL is every capability the kernel has that the supervisor (this test's root) holds itself.
    const held = BigInt(`0x${/^CapPrm:\t([0-9a-f]+)$/m.exec(readFileSync('/proc/self/status', 'utf8'))![1]}`);
    const all = (BigInt(`0x${capsUpTo(last)}`) & held).toString(16).padStart(16, '0');
    expect((await sh(STATUS, ['--cap-add', 'ALL'])).stdout).toBe(`CapEff:\t${all}\nSeccomp:\t2\n`);
  });

  it("`sandbox exec` gets the sandbox's own capabilities and filter", async () => {
    const loose = await detached([
      '--cap-add',
      'SYS_ADMIN',
      '--security-opt',
      'seccomp=unconfined',
      '--',
      'sleep',
      '100',
    ]);
    const strict = await detached(['--cap-drop', 'ALL', '--', 'sleep', '100']);
    expect((await cli(['exec', loose, '--', 'sh', '-c', STATUS])).stdout).toBe(
      'CapEff:\t00000000202405fb\nSeccomp:\t0\n',
    );
    expect((await cli(['exec', strict, '--', 'sh', '-c', STATUS])).stdout).toBe(
      'CapEff:\t0000000000000000\nSeccomp:\t2\n',
    );
  });

  it('answers ENOSYS to every number above 469 from inside, and to 451-469 as the host does (but open_tree_attr)', async () => {
    const known = range(451, 469).map((nr) => `nr=${nr}`);
    const host = execFileSync(join(scratch(), 'probe'), known, { cwd: scratch() }).toString();
    const r = await sh(
      `./probe ${known.join(' ')} ${range(470, 600)
        .map((nr) => `nr=${nr}`)
        .join(' ')}`,
    );
    const lines = r.stdout.trim().split('\n');
    const expected = host
      .trim()
      .split('\n')
      .map((l) => (l.startsWith('nr=467 ') ? 'nr=467 EPERM' : l));
    expect(lines.slice(0, known.length)).toEqual(expected);
    expect(lines.slice(known.length)).toEqual(range(470, 600).map((nr) => `nr=${nr} ENOSYS`));
  });

  it("PID 1's installed filter refuses every number a newer kernel could add (ENOSYS) and still allows 0-469 but the denied", async () => {
    const id = await detached(['--', 'sleep', '100']);
    const prog = JSON.parse(execFileSync('python3', [DUMP, String(initPid(id))]).toString()) as Instruction[];
    const future = [470, 471, 500, 512, 547, 600, 1000, 4095, 65535, 0x3fffffff];
    expect(new Set(verdicts(prog, future))).toEqual(new Set(['errno 38']));
    expect(verdicts(prog, [0x40000000 | 39])).toEqual(['errno 38']); // x32 getpid
    expect(verdicts(prog, [20], 0x40000003 /* AUDIT_ARCH_I386 */)).toEqual(['kill']);
    // read, write, openat, cachestat, mseal, file_setattr: allowed; mount, pivot_root, open_tree_attr: EPERM; clone3: ENOSYS.
    expect(verdicts(prog, [0, 1, 257, 451, 462, 469, 165, 155, 467, 435])).toEqual([
      'allow',
      'allow',
      'allow',
      'allow',
      'allow',
      'allow',
      'errno 1',
      'errno 1',
      'errno 1',
      'errno 38',
    ]);
    const allowed = range(0, 469).filter((nr) => verdicts(prog, [nr])[0] === 'allow');
    expect(allowed.length).toBeGreaterThan(400); // a deny list: everything but ~45 calls
  });

  it('with --cap-add SYS_ADMIN the installed filter allows mount and clone3 but keeps pivot_root, the keyrings and the cut-off', async () => {
    const id = await detached(['--cap-add', 'SYS_ADMIN', '--', 'sleep', '100']);
    const prog = JSON.parse(execFileSync('python3', [DUMP, String(initPid(id))]).toString()) as Instruction[];
    // mount, umount2, setns, unshare, clone3 | pivot_root, keyctl, userfaultfd, io_uring_setup | 470.
    expect(verdicts(prog, [165, 166, 308, 272, 435, 155, 250, 323, 425, 470])).toEqual([
      'allow',
      'allow',
      'allow',
      'allow',
      'allow',
      'errno 1',
      'errno 1',
      'errno 1',
      'errno 1',
      'errno 38',
    ]);
  });
});
