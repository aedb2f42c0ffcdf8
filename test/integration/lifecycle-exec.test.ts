// `sandbox exec` through the CLI: the command runs in every namespace of the sandbox AND in its
// cgroups (so its limits apply), sees the same /proc views, has PID 1's privileges, and its exit
// code comes back. Nothing may be left behind after any test.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { HOST_IS_V2, cli, sandboxUnavailable } from '../helpers/sandbox.js';
import { requireOrSkip } from '../helpers/skip.js';
import { cleanUpAfterEach, detached } from '../helpers/lifecycle.js';

const skip = requireOrSkip(sandboxUnavailable());

describe.skipIf(skip)('sandbox exec', () => {
  cleanUpAfterEach();

  it('sees the sandbox: its /proc views, hostname, processes, root and cgroup namespace', async () => {
    const launched = Date.now();
    const id = await detached([
      '--name',
      'lc-exec',
      '--cpu',
      '20%',
      '--mem',
      '256M',
      '--hostname',
      'inside',
      '--',
      'sleep',
      '100',
    ]);
    const r = await cli([
      'exec',
      'lc-exec',
      '--',
      'sh',
      '-c',
      `head -1 /proc/meminfo; nproc; hostname; cat /proc/1/comm /proc/2/comm; cat /proc/self/cgroup | grep ${HOST_IS_V2 ? '^0::' : ':memory:'}; touch /etc/x 2>/dev/null || echo ro; cat /proc/uptime | cut -d. -f1`,
    ]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const [mem, nproc, host, init, workload, cgroup, ro, uptime] = r.stdout.trim().split('\n');
    expect(mem).toMatch(/^MemTotal:\s+262144 kB$/);
    expect(nproc).toBe('1');
    expect(host).toBe('inside');
    expect(init).toBe('sandbox-init');
    expect(workload).toBe('sleep');
    expect(cgroup).toMatch(HOST_IS_V2 ? /^0::\/$/ : /^\d+:memory:\/$/); // the sandbox's own cgroup namespace
    expect(ro).toBe('ro');
    // Its time namespace: the sandbox's boot time, so at most the seconds since the test launched it (not the host's uptime).
    expect(Number(uptime)).toBeGreaterThanOrEqual(0);
    expect(Number(uptime)).toBeLessThanOrEqual((Date.now() - launched) / 1000);
    expect(id).toMatch(/^[0-9a-f]{12}$/);
  });

  it('enters the network namespace of a --net none sandbox: loopback only', async () => {
    const id = await detached(['--net', 'none', '--', 'sleep', '100']);
    const r = await cli(['exec', id, '--', 'ls', '/sys/class/net']);
    expect(r.stdout).toBe('lo\n');
  });

  it("joins the sandbox's cgroup in every hierarchy, so its limits apply", async () => {
    const id = await detached(['--mem', '64M', '--pids', '20', '--', 'sleep', '100']);
    // Every hierarchy's cgroup.procs (as mounted inside, read-only) lists the exec'd shell; v2 has one.
    const glob = HOST_IS_V2 ? '/sys/fs/cgroup/cgroup.procs' : '/sys/fs/cgroup/*/cgroup.procs';
    const r = await cli([
      'exec',
      id,
      '--',
      'sh',
      '-c',
      `for f in ${glob}; do grep -qx $$ $f && echo in || echo out $f; done`,
    ]);
    const lines = r.stdout.trim().split('\n');
    expect(lines.length).toBeGreaterThanOrEqual(HOST_IS_V2 ? 1 : 5);
    expect(new Set(lines)).toEqual(new Set(['in']));
    // The memory limit kills an allocation of the exec'd command: 137.
    const oom = await cli(['exec', id, '--', 'python3', '-c', 'x = b"a" * (256 << 20)']);
    expect(oom.code).toBe(137);
    // The sandbox itself survives.
    expect((await cli(['exec', id, '--', 'true'])).code).toBe(0);
  });

  it("runs with the workload's privileges: docker's capability set minus CAP_MKNOD, CAP_SETFCAP and (--net host) CAP_NET_RAW, no_new_privs and the seccomp filter", async () => {
    const id = await detached(['--', 'sleep', '100']);
    const r = await cli([
      'exec',
      id,
      '--',
      'sh',
      '-c',
      'grep -E "^(CapEff|CapBnd|NoNewPrivs|Seccomp):" /proc/self/status; grep -E "^(CapEff|CapBnd)" /proc/2/status',
    ]);
    const [effExec, bndExec, nnp, seccomp, effWorkload, bndWorkload] = r.stdout
      .trim()
      .split('\n')
      .map((l) => l.split(/\s+/)[1]);
    // docker's default set a80425fb without bit 27, CAP_MKNOD, and bit 31, CAP_SETFCAP (native/stage/caps.c),
    // and without bit 13, CAP_NET_RAW, in the host's network namespace (supervisor/security.ts).
    expect(effExec).toBe('00000000200405fb');
    expect(bndExec).toBe('00000000200405fb');
    expect(nnp).toBe('1');
    expect(seccomp).toBe('2'); // SECCOMP_MODE_FILTER
    expect(effWorkload).toBe(effExec);
    expect(bndWorkload).toBe(bndExec);
  });

  it('returns the exit code: its own, 127 not found, 126 not executable, 128+N when killed', async () => {
    const id = await detached(['--', 'sleep', '100']);
    expect((await cli(['exec', id, '--', 'sh', '-c', 'exit 7'])).code).toBe(7);
    const missing = await cli(['exec', id, '--', 'no-such-command']);
    expect(missing.code).toBe(127);
    expect(missing.stderr).toBe('sandbox: exec "no-such-command": No such file or directory\n');
    expect((await cli(['exec', id, '--', '/etc/passwd'])).code).toBe(126);
    expect((await cli(['exec', id, '--', 'sh', '-c', 'kill -TERM $$'])).code).toBe(143);
  });

  it('passes stdin and stdout through, in --workdir', async () => {
    const id = await detached(['--', 'sleep', '100']);
    const r = await cli(['exec', '--workdir', '/tmp', id, 'sh', '-c', 'pwd; echo inside > f; cat f']);
    expect(r.stdout).toBe('/tmp\ninside\n');
  });

  it('its processes die with the sandbox (they are in its cgroup and pid namespace)', async () => {
    const id = await detached(['--', 'sleep', '100']);
    const r = await cli(['exec', id, '--', 'sh', '-c', 'sleep 100 > /dev/null 2>&1 & echo started']);
    expect(r.stdout).toBe('started\n');
    const dirs = (JSON.parse(readFileSync(`/run/sandbox/${id}/state.json`, 'utf8')) as { cgroupDirs: string[] })
      .cgroupDirs;
    const memoryDir = HOST_IS_V2 ? dirs[0]! : dirs.find((d) => d.includes('/memory/'))!;
    // PID 1, the workload and the orphaned sleep (reparented to PID 1).
    expect(readFileSync(`${memoryDir}/cgroup.procs`, 'utf8').trim().split('\n')).toHaveLength(3);
    // afterEach kills the sandbox and checks that nothing is left.
  });

  it('with nothing after the sandbox: one line, 125', async () => {
    const id = await detached(['--', 'sleep', '100']);
    const r = await cli(['exec', id, '--']);
    expect(r.code).toBe(125);
    expect(r.stderr).toBe('sandbox: exec: no command: expected "sandbox exec ID -- CMD [ARGS...]"\n');
  });
});
