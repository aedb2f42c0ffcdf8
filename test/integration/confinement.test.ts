// Escapes a root workload tries inside a default `sandbox run`, each asserted to fail, and what the
// host must not notice: fork and memory bombs, other sandboxes' views, the host's hostname. The raw
// system calls come from escape-probe.c (built here with the system cc), so each refusal is checked
// by its errno, not by a tool's wording. SECURITY.md lists what these walls promise.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { EXPECTED, PROBE_SOURCE, parse, runProbeTable } from '../helpers/escape.js';
import { cli, finish, leftovers, removeLeftoverCgroups, sandboxUnavailable, startCli } from '../helpers/sandbox.js';
import { machineLacks, requireOrSkip } from '../helpers/skip.js';
import { waitFor } from '../helpers/wait.js';

const skip = requireOrSkip(
  sandboxUnavailable() ??
    (process.arch === 'x64'
      ? null
      : machineLacks(`the probes are written for x86_64, this machine is ${process.arch}`)),
);

describe.skipIf(skip)('confinement: a root workload in a default sandbox cannot get out', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'sandbox-escape-'));
    execFileSync('cc', ['-O0', '-Wall', '-o', join(dir, 'probe'), PROBE_SOURCE]);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  afterEach(() => {
    const left = leftovers();
    removeLeftoverCgroups();
    expect(left).toEqual([]);
  });

  /** Run a shell snippet in a 256M sandbox whose current directory holds the probe. The workload is
   * host root (--userns=host): these are the walls that must hold even then (the default's user
   * namespace is tried in userns-default.test.ts); the 0700 directory is root's. */
  const sh = (script: string, flags: string[] = []) =>
    cli(['run', '--userns=host', '--mem', '256M', ...flags, '--', 'sh', '-c', script], { cwd: dir });

  it(`refuses all ${Object.keys(EXPECTED).length - 3} escape system calls (3 harmless look-alikes still work)`, async () => {
    const r = await runProbeTable(dir, ['--userns=host', '--mem', '256M']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(parse(r.stdout)).toEqual(EXPECTED);
    expect(existsSync(join(dir, 'sda'))).toBe(false);
    expect(existsSync('/etc/sandbox-escape')).toBe(false);
  });

  it('runs no i386 system call: the process dies and its mkdir never happens (a deny list by number would miss it)', async () => {
    // The same call on the host first: whether this kernel runs i386 calls at all. Where it does
    // (CONFIG_IA32_EMULATION, not ia32_emulation=0), only the filter stands in the way: SIGSYS from
    // SECCOMP_RET_KILL_PROCESS, 128 + 31. Where int $0x80 faults before any system call (SIGSEGV,
    // 128 + 11), the fault stops it first and the filter never sees it.
    const host = spawnSync(join(dir, 'probe'), [`int80-mkdir=${join(dir, 'host-made')}`], { encoding: 'utf8' });
    const hostRuns = host.status === 0 && existsSync(join(dir, 'host-made'));
    if (!hostRuns)
      expect(host.signal, `the host's i386 call neither ran nor faulted: ${host.stdout}${host.stderr}`).toBe('SIGSEGV');
    const r = await sh('./probe int80-mkdir=sandbox-made; echo status $?');
    expect(hostRuns ? ['status 159\n'] : ['status 139\n', 'status 159\n']).toContain(r.stdout);
    expect(existsSync(join(dir, 'sandbox-made'))).toBe(false);
  });

  it("runs under seccomp mode 2, no_new_privs and docker's capabilities minus CAP_MKNOD and CAP_SETFCAP (and CAP_NET_RAW with --net host)", async () => {
    const status = 'grep -E "^(CapEff|CapBnd|CapAmb|NoNewPrivs|Seccomp):" /proc/self/status';
    // capabilities(7) numbers: chown 0, dac_override 1, fowner 3, fsetid 4, kill 5, setgid 6,
    // setuid 7, setpcap 8, net_bind_service 10, net_raw 13, sys_chroot 18, audit_write 29; not
    // mknod 27 nor setfcap 31 (native/stage/caps.c); net_raw only in a network namespace of its
    // own (supervisor/security.ts: packet sockets in the host's would see its traffic).
    const expected = (bits: number[]): string => {
      const hex = bits
        .reduce((m, c) => m | (1n << BigInt(c)), 0n)
        .toString(16)
        .padStart(16, '0');
      return `CapEff:\t${hex}\nCapBnd:\t${hex}\nCapAmb:\t0000000000000000\nNoNewPrivs:\t1\nSeccomp:\t2\n`;
    };
    expect((await sh(status)).stdout).toBe(expected([0, 1, 3, 4, 5, 6, 7, 8, 10, 18, 29]));
    expect((await sh(status, ['--net', 'none'])).stdout).toBe(expected([0, 1, 3, 4, 5, 6, 7, 8, 10, 13, 18, 29]));
  });

  it('sees its cgroup limits but cannot open a single cgroup file for writing', async () => {
    const r = await sh(
      'cat /sys/fs/cgroup/memory/memory.limit_in_bytes 2>/dev/null || cat /sys/fs/cgroup/memory.max; ./probe $(find /sys/fs/cgroup -type f | sed "s/^/open-w=/")',
    );
    const [limit, ...lines] = r.stdout.trim().split('\n');
    expect(limit).toBe(String(256 * 1024 * 1024));
    expect(lines.length).toBeGreaterThan(20);
    const notRefused = lines.filter((l) => !l.endsWith(' EROFS'));
    expect(notRefused).toEqual([]);
  });

  it('cannot write the kernel knobs: /proc/sys, /sys, /proc/sysrq-trigger', async () => {
    const knobs = [
      '/proc/sys/kernel/hostname',
      '/proc/sys/vm/drop_caches',
      '/proc/sys/kernel/core_pattern',
      '/proc/sysrq-trigger',
      '/sys/kernel/profiling',
      '/sys/kernel/rcu_expedited',
      '/sys/kernel/mm/transparent_hugepage/enabled',
    ].filter((p) => existsSync(p));
    expect(knobs.length).toBeGreaterThanOrEqual(4);
    const r = await sh(`./probe ${knobs.map((k) => `open-w=${k}`).join(' ')}`);
    expect(parse(r.stdout)).toEqual(Object.fromEntries(knobs.map((k) => [`open-w=${k}`, 'EROFS'])));
  });

  it("masks docker's masked paths: they read empty inside", async () => {
    const masked = [
      '/proc/acpi',
      '/proc/asound',
      '/proc/interrupts',
      '/proc/kcore',
      '/proc/keys',
      '/proc/latency_stats',
      '/proc/sched_debug',
      '/proc/scsi',
      '/proc/timer_list',
      '/proc/timer_stats',
      '/sys/devices/virtual/powercap',
      '/sys/firmware',
    ];
    const present = masked.filter((p) => existsSync(p));
    expect(readFileSync('/proc/interrupts', 'utf8').length).toBeGreaterThan(0); // the host's is not empty
    const r = await sh(
      `for p in ${present.join(' ')}; do if [ -d $p ]; then echo "$p $(ls -A $p | wc -l)"; else echo "$p $(cat $p | wc -c)"; fi; done`,
    );
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe(present.map((p) => `${p} 0\n`).join(''));
  });

  it("inherits no descriptor but stdio (before: the supervisor's /dev/fuse, a socket and a pipe)", async () => {
    // The workload itself lists its descriptors, no shell in between: while dash sets up a pipeline
    // or a redirection it briefly holds extra descriptors of its own (the pipe's read end, a saved
    // copy of stdout at fd 10). ls's only own descriptor is the directory it lists.
    const r = await cli(['run', '--', 'ls', '-l', '/proc/self/fd']);
    expect(r.code).toBe(0);
    const fds = [...r.stdout.matchAll(/ (\d+) -> (.*)$/gm)].map((m) => [Number(m[1]), m[2]] as const);
    expect(fds.filter(([fd]) => fd <= 2).map(([fd]) => fd)).toEqual([0, 1, 2]);
    expect(fds.filter(([fd]) => fd > 2).map(([, target]) => target)).toEqual([
      expect.stringMatching(/^\/proc\/\d+\/fd$/),
    ]);
  });

  it('has a private /dev: no host devices', async () => {
    const r = await sh('ls /dev | tr "\\n" " "');
    expect(r.stdout).toBe('fd full null ptmx pts random shm stderr stdin stdout tty urandom zero ');
  });

  it("cannot reach another sandbox's views or state under /run/sandbox", async () => {
    const other = startCli(['run', '--', 'sh', '-c', 'echo ready; sleep 30']);
    const otherDone = finish(other);
    await new Promise<void>((resolve) =>
      other.stdout!.on('data', (d: Buffer) => d.toString().includes('ready') && resolve()),
    );
    const [otherId] = execFileSync('ls', ['/run/sandbox']).toString().trim().split('\n');
    const hostView = `/run/sandbox/${otherId}/views/${otherId}/meminfo`;
    expect(readFileSync(hostView, 'utf8')).toMatch(/^MemTotal:/); // the host sees it...
    const r = await sh(`ls -A /run/sandbox | wc -l; cat ${hostView} 2>&1; grep -c ${otherId} /proc/self/mountinfo`);
    other.kill('SIGTERM');
    await otherDone;
    const [count, cat, mentions] = r.stdout.trim().split('\n');
    expect(count).toBe('0'); // ...the sandbox sees an empty, read-only directory
    expect(cat).toMatch(/No such file or directory/);
    expect(mentions).toBe('0'); // and not even a mount point naming it
  });

  it("cannot change the host's hostname or see host processes", async () => {
    const before = hostname();
    const r = await sh('hostname escaped 2>/dev/null || echo refused; ps -e --no-headers | wc -l');
    expect(r.stdout).toMatch(/^refused\n[1-4]\n$/);
    expect(hostname()).toBe(before);
  });

  it('a fork bomb hits --pids; the run ends and another sandbox starts meanwhile', async () => {
    // The bomb forks in every child until fork fails (EAGAIN from the pids controller); the workload
    // itself needs no fork to read pids.events and exit, and its exit ends the whole pid namespace.
    // It says when forks were refused ("bombing" in its directory), and holds the bomb at the limit
    // until the test, having started another sandbox meanwhile, creates "bomb-done".
    for (const f of ['bombing', 'bomb-done']) rmSync(join(dir, f), { force: true });
    const bomb =
      'import os, time\n' +
      'd = "/sys/fs/cgroup/pids/" if os.path.isdir("/sys/fs/cgroup/pids") else "/sys/fs/cgroup/"\n' +
      'if os.fork() == 0:\n' +
      '    while True:\n' +
      '        try: os.fork()\n' +
      '        except OSError: pass\n' +
      'while open(d + "pids.events").read().split()[1] == "0": time.sleep(0.05)\n' +
      'open("bombing", "w").close()\n' +
      'while not os.path.exists("bomb-done"): time.sleep(0.05)\n' +
      // flush: os._exit skips it, and stdout is a pipe (block-buffered unless PYTHONUNBUFFERED is set)
      'print(open(d + "pids.current").read().strip(), open(d + "pids.events").read().strip(), flush=True)\n' +
      'os._exit(0)\n';
    const bombRun = cli(
      ['run', '--userns=host', '--pids', '64', '--cpu', '50%', '--mem', '256M', '--', 'python3', '-c', bomb],
      { cwd: dir },
    );
    await waitFor(() => existsSync(join(dir, 'bombing')), 'the fork bomb to hit --pids');
    const meanwhile = await cli(['run', '--', 'echo', 'still here']);
    writeFileSync(join(dir, 'bomb-done'), '');
    const r = await bombRun;
    expect(meanwhile).toMatchObject({ code: 0, stdout: 'still here\n' });
    expect(r.code).toBe(0);
    const m = /^(\d+) max (\d+)$/.exec(r.stdout.trim());
    expect(m).not.toBeNull();
    expect(Number(m![1])).toBeLessThanOrEqual(64);
    expect(Number(m![2])).toBeGreaterThan(0); // forks were refused at the limit
  });

  it('a memory bomb is OOM-killed inside (137); the supervisor ranks below the workload for the OOM killer', async () => {
    rmSync(join(dir, 'go'), { force: true });
    const child = startCli(
      [
        'run',
        '--userns=host',
        '--mem',
        '64M',
        '--',
        'sh',
        '-c',
        'cat /proc/self/oom_score_adj; echo -1000 > /proc/self/oom_score_adj 2>/dev/null || echo cannot-lower; ' +
          'while [ ! -e go ]; do sleep 0.02; done; exec python3 -c "x = [b\\"a\\" * (1 << 20) for i in range(1024)]"',
      ],
      { cwd: dir },
    );
    const done = finish(child);
    // The supervisor lowers its own oom_score_adj before it launches anything (supervisor/oom.ts):
    // read it once the workload has printed its line, i.e. is running.
    let out = '';
    child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    await waitFor(() => out.includes('\n'), "the workload's first line");
    const supervisorAdj = Number(readFileSync(`/proc/${child.pid}/oom_score_adj`, 'utf8'));
    writeFileSync(join(dir, 'go'), '');
    const r = await done;
    const [workloadAdj, lowered] = r.stdout.trim().split('\n');
    expect(lowered).toBe('cannot-lower');
    expect(Number(workloadAdj)).toBeGreaterThanOrEqual(0);
    expect(Number(workloadAdj) - supervisorAdj).toBeGreaterThanOrEqual(500);
    expect(r.code).toBe(137);
    expect(r.stderr).toBe('sandbox: sh was killed: out of memory (limit 64 MiB)\n');
  });
});
