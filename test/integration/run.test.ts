// `sandbox run` end to end as root: real cgroups, namespaces, a real FUSE mount and real tools
// (top, free, nproc, getconf, python3, node, ps) inside. Nothing may be left behind after any test.
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join, posix } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { parseDiskstats } from '../../procfs/parse/diskstats.js';
import { DISK_DIR, diskOf } from '../helpers/disk.js';
import {
  HOST_IS_V2,
  cli,
  finish,
  leftovers,
  ownCgroupDirs,
  removeLeftoverCgroups,
  sandboxUnavailable,
  startCli,
} from '../helpers/sandbox.js';
import { machineLacks, requireOrSkip } from '../helpers/skip.js';

const skip = requireOrSkip(sandboxUnavailable());
const LIMITS = ['--cpu', '20%', '--mem', '256M'];
const MiB = 1024 * 1024;

/** Run a shell snippet in a 20% / 256M sandbox. */
const sh = (script: string, extra: string[] = []) => cli(['run', ...LIMITS, ...extra, '--', 'sh', '-c', script]);

describe.skipIf(skip)('sandbox run (root, real cgroups and FUSE)', () => {
  afterEach(() => {
    const left = leftovers();
    removeLeftoverCgroups();
    expect(left).toEqual([]);
  });

  describe('tools inside see the limits', () => {
    it('top -b -n 1 shows 256.0 MiB total and only the sandbox processes', async () => {
      const r = await cli(['run', ...LIMITS, '--', 'top', '-b', '-n', '1']);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(/^MiB Mem :\s+256\.0 total/m);
      const header = r.stdout.split('\n').findIndex((l) => /^\s*PID\s+USER/.test(l));
      const processes = r.stdout
        .split('\n')
        .slice(header + 1)
        .filter((l) => l.trim() !== '');
      // PID 1 (the stage's init) and top itself: not the host's hundreds.
      expect(processes.length).toBeLessThanOrEqual(3);
      expect(processes.some((l) => /\btop\s*$/.test(l))).toBe(true);
    });

    it('top -b -n 1 -1 shows exactly one %Cpu0 line', async () => {
      const r = await cli(['run', ...LIMITS, '--', 'top', '-b', '-n', '1', '-1']);
      expect(r.code).toBe(0);
      expect(r.stdout.match(/^%Cpu\d+/gm)).toEqual(['%Cpu0']);
    });

    it('top refreshing over a loop that uses the whole quota shows ~100% busy, then the loop near 20% of wall time', async () => {
      // top keeps /proc/stat open and re-reads it from offset 0 on every refresh: the second
      // summary is only right if that re-read regenerates the view (a per-open snapshot would
      // repeat the first text and show 0% busy). The loop's own %CPU stays its share of wall time.
      const r = await sh('(while :; do :; done) & sleep 0.5; top -b -n 2 -d 1 -w 200; kill $!');
      expect(r.code).toBe(0);
      const summaries = r.stdout.split('\n').filter((l) => l.startsWith('%Cpu(s):'));
      expect(summaries).toHaveLength(2);
      const idle = Number(/([\d.]+) id/.exec(summaries[1]!)?.[1]);
      expect(idle).toBeLessThanOrEqual(15);
      const second = r.stdout.slice(r.stdout.lastIndexOf('PID'));
      const loop = second.split('\n').find((l) => /\bsh\s*$/.test(l) && Number(l.trim().split(/\s+/)[8]) > 1);
      expect(loop, second).toBeDefined();
      expect(Number(loop!.trim().split(/\s+/)[8])).toBeGreaterThan(12);
      expect(Number(loop!.trim().split(/\s+/)[8])).toBeLessThan(30);
    });

    it('free -b reports the memory limit as total', async () => {
      const r = await cli(['run', ...LIMITS, '--', 'free', '-b']);
      expect(r.code).toBe(0);
      const mem = r.stdout
        .split('\n')
        .find((l) => l.startsWith('Mem:'))!
        .trim()
        .split(/\s+/);
      expect(Number(mem[1])).toBe(256 * MiB);
      const used = Number(mem[2]);
      const free = Number(mem[3]);
      expect(used).toBeGreaterThan(0);
      expect(used + free).toBeLessThanOrEqual(256 * MiB);
    });

    it('nproc, getconf, python3 and node all count one CPU; node sees the memory limit', async () => {
      const r = await sh(
        'nproc; getconf _NPROCESSORS_ONLN; python3 -c "import os; print(os.cpu_count())"; ' +
          `node -p 'const os = require("os"); [os.cpus().length, os.totalmem(), process.constrainedMemory()].join(" ")'`,
      );
      expect(r.stderr).toBe('');
      expect(r.stdout.trim().split('\n')).toEqual(['1', '1', '1', `1 ${256 * MiB} ${256 * MiB}`]);
    });

    it('--cpu 150% shows two CPUs', async () => {
      const r = await cli([
        'run',
        '--cpu',
        '150%',
        '--mem',
        '256M',
        '--',
        'sh',
        '-c',
        'nproc; grep -c ^processor /proc/cpuinfo; cat /sys/devices/system/cpu/online',
      ]);
      expect(r.stdout.trim().split('\n')).toEqual(['2', '2', '0-1']);
    });

    it('/proc/uptime and ps -o etime count from the sandbox start', async () => {
      // Both at most the time since the test launched the sandbox, by the test's own clock (the
      // host's uptime and PID 1's host start time would be far more).
      const launched = Date.now();
      const r = await sh('cat /proc/uptime; ps -o etimes= -p 1');
      const sinceLaunchS = (Date.now() - launched) / 1000;
      expect(r.code).toBe(0);
      const [uptimeLine = '', etimes = ''] = r.stdout.trim().split('\n');
      const uptime = Number(uptimeLine.split(' ')[0]);
      expect(uptime).toBeGreaterThanOrEqual(0);
      expect(uptime).toBeLessThanOrEqual(sinceLaunchS);
      expect(Number(etimes.trim())).toBeGreaterThanOrEqual(0);
      expect(Number(etimes.trim())).toBeLessThanOrEqual(Math.ceil(sinceLaunchS));
    });
    it('loadavg counts the sandbox tasks and its last pid, procs_running the running ones', async () => {
      // PID 1, sh, two sleeps and the reader: 5 threads, last pid 5, only the reader running. sh
      // first waits, with builtins only (no new pid), until both sleeps are asleep in sleep(1):
      // /proc/PID/stat reads "PID (sleep) S …".
      const asleep = (pid: string) =>
        `until read -r _ c s _ < /proc/${pid}/stat && [ "$c $s" = "(sleep) S" ]; do :; done`;
      const r = await sh(
        `sleep 1000 & a=$!; sleep 1000 & b=$!; ${asleep('$a')}; ${asleep('$b')}; cat /proc/loadavg; grep ^procs_running /proc/stat`,
      );
      expect(r.stderr).toBe('');
      expect(r.stdout).toMatch(/^\d+\.\d\d \d+\.\d\d \d+\.\d\d 1\/5 5\nprocs_running 1\n$/);
    });

    it('busybox cat (which copies with sendfile) gets the views whole', async () => {
      const r = await sh(
        'busybox cat /proc/meminfo | grep ^MemTotal; busybox cat /proc/stat | tail -n 1; busybox cat /proc/cpuinfo | grep -c ^processor',
      );
      expect(r.stderr).toBe('');
      const [memTotal, lastStat, processors] = r.stdout.split('\n');
      expect(memTotal).toMatch(/^MemTotal:\s+262144 kB$/);
      expect(lastStat).toMatch(/^softirq( \d+)+$/);
      expect(processors).toBe('1');
    });

    it('uptime, vmstat and ps agree with the views', async () => {
      const r = await sh('uptime; vmstat -s | grep "total memory"; ps -p 1 -o args=');
      expect(r.stderr).toBe('');
      const [uptime, vmstat, init] = r.stdout.split('\n');
      expect(uptime).toMatch(/ up 0 min, /); // not the host's days
      expect(vmstat?.trim()).toBe('262144 K total memory');
      expect(init).toBe('sandbox-init'); // PID 1's argv (host paths) is not shown inside
    });
  });

  describe('limits are enforced', () => {
    it('a CPU-bound loop gets no more than its 20% quota (+5%) over 3 s and is throttled', async () => {
      // Usage and throttling come from the sandbox's own cgroup files, visible read-only inside.
      const usage =
        'cat /sys/fs/cgroup/cpuacct/cpuacct.usage 2>/dev/null || echo $(( $(sed -n "s/^usage_usec //p" /sys/fs/cgroup/cpu.stat) * 1000 ))';
      const r = await sh(
        // The usage readings lie inside [start, end], so the quota bounds usage by 20% of end - start.
        `start=$(date +%s%N); u0=$(${usage}); timeout 3 sh -c "while :; do :; done"; u1=$(${usage}); end=$(date +%s%N); ` +
          'echo wall $((end - start)); echo usage $((u1 - u0)); ' +
          'grep nr_throttled /sys/fs/cgroup/cpu/cpu.stat 2>/dev/null || grep nr_throttled /sys/fs/cgroup/cpu.stat',
      );
      expect(r.stderr).toBe('');
      const value = (key: string) => Number(new RegExp(`^${key} (\\d+)$`, 'm').exec(r.stdout)?.[1]);
      const wallNs = value('wall');
      const usageNs = value('usage');
      expect(wallNs).toBeGreaterThan(2.9e9); // timeout 3: a minimum
      // The quota's bound: 20 ms per 100 ms period, plus the window's partial periods at its ends.
      expect(usageNs / wallNs).toBeLessThanOrEqual(0.2 * 1.05);
      expect(usageNs).toBeGreaterThan(0);
      // Throttled: in some period the loop used the whole quota, and the kernel stopped it there.
      expect(value('nr_throttled')).toBeGreaterThan(0);
    });

    it('an allocation past the memory limit is OOM-killed: 137 and a one-line message', async () => {
      const r = await cli(['run', '--mem', '64M', '--', 'python3', '-c', 'x = b"a" * (256 * 1024 * 1024)']);
      expect(r.code).toBe(137);
      expect(r.stderr).toBe('sandbox: python3 was killed: out of memory (limit 64 MiB)\n');
    });

    it('an OOM kill of a child keeps the workload status and still says so', async () => {
      const r = await cli([
        'run',
        '--mem',
        '64M',
        '--',
        'sh',
        '-c',
        'python3 -c "x = b\\"a\\" * (256 << 20)"; echo child $?',
      ]);
      expect(r.code).toBe(0);
      expect(r.stdout).toBe('child 137\n');
      // sh prints "Killed" for its child first; ours is the last line.
      expect(r.stderr.trim().split('\n').at(-1)).toBe(
        'sandbox: a process of sh was killed: out of memory (limit 64 MiB)',
      );
    });

    it('--pids caps the number of tasks', async () => {
      // Eight forks against pids.max 5: PID 1 and perl hold two, three children fit, the kernel
      // refuses the rest (EAGAIN) and counts them in pids.events "max"
      // (Documentation/admin-guide/cgroup-v1/pids.rst). perl, unlike dash, survives a failed fork.
      const r = await cli([
        'run',
        '--pids',
        '5',
        '--',
        'perl',
        '-e',
        'my ($ok, $failed) = (0, 0); for (1..8) { my $p = fork; if (!defined $p) { $failed++ } elsif ($p == 0) { sleep 5; exit 0 } else { $ok++ } } ' +
          'my $ev = -e "/sys/fs/cgroup/pids" ? "/sys/fs/cgroup/pids/pids.events" : "/sys/fs/cgroup/pids.events"; open my $f, "<", $ev; my $e = <$f>; chomp $e; print "$ok $failed $e\n"',
      ]);
      expect(r.code).toBe(0);
      expect(r.stdout).toBe('3 5 max 5\n');
    });
  });

  describe('every limit flag reaches the kernel', () => {
    // Both tests pin or place a sandbox on a CPU other than the first: this needs two.
    const oneCpu =
      availableParallelism() < 2
        ? machineLacks(`${availableParallelism()} CPU usable here: no second CPU to pin or place a sandbox on`)
        : null;

    it.skipIf(requireOrSkip(oneCpu))(
      'quota, period, burst, weight, cpuset, memory, swap and pids as the cgroup files inside show them',
      async () => {
        // The swap file exists only where the kernel accounts swap (CONFIG_SWAP; on v1 not with
        // swapaccount=0): without it swap can't be limited, and --swap is refused (cgroup/v1/memory.ts).
        const swapFile = HOST_IS_V2 ? 'memory.swap.max' : 'memory/memory.memsw.limit_in_bytes';
        const swap = ownCgroupDirs().some((d) => existsSync(join(d, posix.basename(swapFile))));
        const files = (
          HOST_IS_V2
            ? ['cpu.max', 'cpu.max.burst', 'cpu.weight', 'cpuset.cpus', 'memory.max', swapFile, 'pids.max']
            : [
                'cpu/cpu.cfs_quota_us',
                'cpu/cpu.cfs_period_us',
                'cpu/cpu.cfs_burst_us',
                'cpu/cpu.shares',
                'cpuset/cpuset.cpus',
                'memory/memory.limit_in_bytes',
                swapFile,
                'pids/pids.max',
              ]
        )
          .filter((f) => swap || f !== swapFile)
          .join(' ');
        const r = await cli([
          'run',
          '--cpu',
          '50%',
          '--cpu-period',
          '50ms',
          '--cpu-burst',
          '10ms',
          '--cpu-weight',
          '200',
          '--cpuset-cpus',
          '1',
          '--mem',
          '128M',
          '--pids',
          '77',
          '--',
          'sh',
          '-c',
          `cd /sys/fs/cgroup; cat ${files}; taskset -pc $$ | sed "s/.*: //"`,
        ]);
        expect(r.stderr).toBe('');
        // v1: weight 200 -> shares 200*1024/100; no --swap: memsw = memory (no swap at all).
        // v2: cpu.max "quota period", cpu.weight as given, memory.swap.max 0 (no swap at all).
        const expected = HOST_IS_V2
          ? ['25000 50000', '10000', '200', '1', `${128 * MiB}`, ...(swap ? ['0'] : []), '77', '1']
          : ['25000', '50000', '10000', '2048', '1', `${128 * MiB}`, ...(swap ? [`${128 * MiB}`] : []), '77', '1'];
        expect(r.stdout.trim().split('\n')).toEqual(expected);
      },
    );

    it.skipIf(requireOrSkip(oneCpu))('a second sandbox is placed on the CPU the first one does not use', async () => {
      // The first runs until the test has run the second (SIGTERM reaches its sh), however slow the launches.
      const first = startCli([
        'run',
        '--cpu',
        '50%',
        '--',
        'sh',
        '-c',
        'cat /sys/fs/cgroup/cpuset/cpuset.cpus 2>/dev/null || cat /sys/fs/cgroup/cpuset.cpus; sleep 1000',
      ]);
      const firstDone = finish(first);
      const firstCpu = await new Promise<string>((resolve) =>
        first.stdout!.on('data', (d: Buffer) => resolve(d.toString().trim())),
      );
      const second = await cli([
        'run',
        '--cpu',
        '50%',
        '--',
        'cat',
        HOST_IS_V2 ? '/sys/fs/cgroup/cpuset.cpus' : '/sys/fs/cgroup/cpuset/cpuset.cpus',
      ]);
      expect(first.exitCode).toBeNull(); // the first still ran while the second was placed
      first.kill('SIGTERM');
      expect((await firstDone).code).toBe(143);
      expect(firstCpu).toMatch(/^\d+$/);
      expect(second.stdout.trim()).toMatch(/^\d+$/);
      expect(second.stdout.trim()).not.toBe(firstCpu);
    });
  });

  describe('isolation', () => {
    let dir: string;
    beforeAll(() => {
      dir = mkdtempSync(join(tmpdir(), 'sandbox-cwd-'));
    });
    afterAll(() => rmSync(dir, { recursive: true, force: true }));

    it('the host root is read-only, the current directory and /tmp are writable', async () => {
      const r = await cli(
        [
          'run',
          '--userns=host',
          '--',
          'sh',
          '-c',
          'touch /etc/sandbox-probe 2>&1; touch ./written && echo cwd-ok; touch /tmp/x && echo tmp-ok',
        ],
        { cwd: dir },
      );
      expect(r.stdout).toMatch(/Read-only file system/);
      expect(r.stdout).toMatch(/cwd-ok/);
      expect(r.stdout).toMatch(/tmp-ok/);
      expect(existsSync(join(dir, 'written'))).toBe(true);
      expect(existsSync('/etc/sandbox-probe')).toBe(false);
    });

    it('sees only its own processes and its own hostname', async () => {
      const r = await cli(['run', '--hostname', 'box1', '--', 'sh', '-c', 'hostname; ps -e --no-headers | wc -l']);
      expect(r.stdout.trim().split('\n')).toEqual(['box1', expect.stringMatching(/^[1-4]$/)]);
    });

    it('--net none leaves only loopback, up', async () => {
      const r = await cli([
        'run',
        '--net',
        'none',
        '--',
        'sh',
        '-c',
        'ls /sys/class/net; cat /sys/class/net/lo/operstate /sys/class/net/lo/flags',
      ]);
      const [ifaces, , flags] = r.stdout.trim().split('\n');
      expect(ifaces).toBe('lo');
      expect(Number(flags) & 1).toBe(1); // IFF_UP
    });

    it('the workload cannot raise its own limits', async () => {
      const r = await cli([
        'run',
        '--mem',
        '256M',
        '--',
        'sh',
        '-c',
        HOST_IS_V2
          ? 'echo max > /sys/fs/cgroup/memory.max || echo refused'
          : 'echo -1 > /sys/fs/cgroup/memory/memory.limit_in_bytes || echo refused',
      ]);
      expect(r.stdout).toMatch(/refused/);
    });
  });

  describe('I/O views', () => {
    let dir: string;
    beforeAll(() => {
      dir = mkdtempSync(`${DISK_DIR}/sandbox-io-`); // ext4 on the machine's disk (not the sandbox's tmpfs /tmp)
    });
    afterAll(() => rmSync(dir, { recursive: true, force: true }));
    const noDisk =
      diskOf(DISK_DIR) === null ? machineLacks(`${DISK_DIR} is not on a block device: no disk I/O to count`) : null;

    it.skipIf(requireOrSkip(noDisk))(
      'after dd oflag=direct, /proc/diskstats lists only the disk written to, with the 8 MiB in sectors',
      async () => {
        const disk = diskOf(dir);
        expect(disk).not.toBeNull();
        const r = await cli(
          [
            'run',
            '--userns=host',
            ...LIMITS,
            '--',
            'sh',
            '-c',
            'dd if=/dev/zero of=./f bs=1M count=8 oflag=direct status=none && cat /proc/diskstats',
          ],
          { cwd: dir },
        );
        expect(r.stderr).toBe('');
        expect(r.code).toBe(0);
        const lines = parseDiskstats(r.stdout);
        expect(lines.map((l) => l.name)).toEqual([disk?.name]);
        const f = lines[0]?.fields ?? [];
        expect(f[6]).toBeGreaterThanOrEqual(16384); // sectors written: 8 MiB / 512
        expect(f[6]).toBeLessThan(16384 + 2048);
        expect(f[4]).toBeGreaterThanOrEqual(8); // writes completed
        for (const i of [1, 3, 5, 7, 8, 9, 10]) expect(f[i], `field ${i + 1}`).toBe(0); // merges, times, in flight: not per cgroup
      },
    );
  });

  describe('pressure views', () => {
    const psi = existsSync('/proc/pressure/cpu');
    const noPsi = psi
      ? null
      : machineLacks('no /proc/pressure: this kernel has no PSI (CONFIG_PSI, or psi=0 on its command line)');
    const onV1 = HOST_IS_V2 ? null : machineLacks('cgroup v1 has no per-cgroup *.pressure files to serve');

    it.skipIf(requireOrSkip(noPsi ?? onV1))(
      "/proc/pressure/{cpu,memory,io} are FUSE views of the sandbox cgroup's own *.pressure",
      async () => {
        const r = await sh(
          'for f in cpu memory io; do awk -v p=/proc/pressure/$f \'$5 == p { for (i = 6; i <= NF; i++) if ($i == "-") print p, $(i + 1) }\' /proc/self/mountinfo; done; ' +
            'cat /proc/pressure/cpu /proc/pressure/memory /proc/pressure/io',
        );
        expect(r.stderr).toBe('');
        const lines = r.stdout.trim().split('\n');
        expect(lines.slice(0, 3).map((l) => l.replace(/ fuse(\.\S+)?$/, ' fuse'))).toEqual([
          '/proc/pressure/cpu fuse',
          '/proc/pressure/memory fuse',
          '/proc/pressure/io fuse',
        ]);
        // kernel/sched/psi.c psi_show(): "some" and "full" lines for each resource (cpu "full" since 5.13).
        const psi = /^(some|full) avg10=\d+\.\d\d avg60=\d+\.\d\d avg300=\d+\.\d\d total=\d+$/;
        expect(lines.slice(3)).toHaveLength(6);
        for (const line of lines.slice(3)) expect(line).toMatch(psi);
      },
    );

    it.skipIf(
      requireOrSkip(
        noPsi ?? (HOST_IS_V2 ? machineLacks('cgroup v2: the pressure files are views here (the test above)') : null),
      ),
    )("v1: /proc/pressure/* inside are the kernel's own host-wide files, not views", async () => {
      const r = await sh('grep -c " /proc/pressure/" /proc/self/mountinfo; head -1 /proc/pressure/cpu');
      expect(r.stderr).toBe('');
      const [mounts, first] = r.stdout.trim().split('\n');
      expect(mounts).toBe('0');
      expect(first).toMatch(/^some avg10=\d+\.\d\d /);
    });
  });

  describe('exit codes and signals', () => {
    it.each([
      [['sh', '-c', 'exit 3'], 3],
      [['sh', '-c', 'kill -9 $$'], 137],
      [['/nonexistent/cmd'], 127],
      [['./not-executable'], 126],
    ])('%j exits %d', async (command, code) => {
      const dir = mkdtempSync(join(tmpdir(), 'sandbox-exec-'));
      writeFileSync(join(dir, 'not-executable'), 'echo hi\n', { mode: 0o644 });
      const r = await cli(['run', '--', ...command], { cwd: dir });
      rmSync(dir, { recursive: true, force: true });
      expect(r.code).toBe(code);
    });

    it('says what could not be executed', async () => {
      const r = await cli(['run', '--', 'no-such-command-xyz']);
      expect(r.code).toBe(127);
      expect(r.stderr).toMatch(/^sandbox: exec "no-such-command-xyz": No such file or directory\n$/);
    });

    it.each(['SIGTERM', 'SIGINT', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2'] as const)(
      '%s reaches the workload',
      async (sig) => {
        const child = startCli([
          'run',
          '--',
          'sh',
          '-c',
          `trap "echo got ${sig}; exit 42" ${sig.slice(3)}; echo ready; sleep 100 & wait`,
        ]);
        const done = finish(child);
        await new Promise<void>((resolve) =>
          child.stdout!.on('data', (d: Buffer) => d.toString().includes('ready') && resolve()),
        );
        child.kill(sig);
        const r = await done;
        expect(r.stdout).toBe(`ready\ngot ${sig}\n`);
        expect(r.code).toBe(42);
      },
    );

    it('background children die with the workload and nothing is left', async () => {
      const r = await cli(['run', '--', 'sh', '-c', 'sleep 1000 & sleep 1000 & echo started']);
      expect(r.code).toBe(0);
      expect(r.stdout).toBe('started\n');
    });
  });
});
