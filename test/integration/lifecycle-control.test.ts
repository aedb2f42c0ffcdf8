// `sandbox ps`, `stats`, `kill`, `stop` and `update` through the CLI against real detached
// sandboxes, including their error paths. Nothing may be left behind after any test.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cli, finish, sandboxUnavailable, startCli } from '../helpers/sandbox.js';
import { requireOrSkip } from '../helpers/skip.js';
import {
  cleanUpAfterEach,
  cpuUsageNs,
  detached,
  gone,
  limitOf,
  oomEventsFile,
  pidsCurrent,
  present,
  sandboxProcs,
  scratchDir,
  throttledPeriods,
} from '../helpers/lifecycle.js';
import { waitFor, within } from '../helpers/wait.js';

const skip = requireOrSkip(sandboxUnavailable());
const MiB = 1024 * 1024;

/** Whether a host process still exists (a zombie counts as gone: it runs nothing). */
function alive(pid: number): boolean {
  try {
    return !/^State:\s+Z/m.test(readFileSync(`/proc/${pid}/status`, 'utf8'));
  } catch {
    return false;
  }
}

interface Figures {
  id: string;
  name: string | null;
  command: string[];
  uptimeSeconds: number;
  cpuPercentOfOneCpu: number;
  cpuPercentOfQuota: number | null;
  quotaCpus: number | null;
  cpuUsageUs: number;
  cpuWindowSeconds: number;
  memoryBytes: number;
  memoryLimitBytes: number | null;
  pids: number;
  pidsMax: number | null;
  throttledPeriods: number;
  oomKills: number;
}

describe.skipIf(skip)('lifecycle commands on running sandboxes', () => {
  const workDir = scratchDir(tmpdir(), 'sandbox-control-');
  cleanUpAfterEach();

  describe('ps', () => {
    it('with nothing running: only the header, or [] with --json', async () => {
      const r = await cli(['ps']);
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(
        /^ID\s+NAME\s+COMMAND\s+UPTIME\s+CPU%\s+QUOTA%\s+MEM \/ LIMIT\s+PIDS\s+THROTTLED\s+OOM\n$/,
      );
      expect((await cli(['ps', '--json'])).stdout).toBe('[]\n');
    });

    it('lists id, name, command, uptime, CPU of quota and of a CPU, memory / limit, pids, throttling and OOM kills', async () => {
      // A busy loop at 20%: it uses its whole quota (QUOTA% ~100, CPU% ~20) and is throttled; a
      // child allocating past 64 MiB is OOM-killed while the workload lives on.
      const launched = Date.now();
      const busy = await detached([
        '--name',
        'lc-busy',
        '--cpu',
        '20%',
        '--mem',
        '256M',
        '--',
        'sh',
        '-c',
        'while :; do :; done',
      ]);
      const busyStarted = Date.now();
      const oom = await detached([
        '--mem',
        '64M',
        '--pids',
        '50',
        '--',
        'sh',
        '-c',
        `python3 -c 'x = b"a" * (256 << 20)'; sleep 30`,
      ]);
      // The events ps must show, awaited rather than timed: the OOM kill, the sleep that follows it
      // (PID 1, sh and sleep), and the busy loop throttled in more than 5 periods.
      await waitFor(() => readFileSync(oomEventsFile(oom), 'utf8').includes('oom_kill 1'), 'the OOM kill');
      // A pid listed by cgroup.procs may be gone by the time its comm is read (the killed python3
      // being reaped): such a pid is simply not the sleep.
      const commOf = (pid: number): string | null => {
        try {
          return readFileSync(`/proc/${pid}/comm`, 'utf8');
        } catch {
          return null;
        }
      };
      await waitFor(
        () => pidsCurrent(oom) === 3 && sandboxProcs(oom).some((p) => commOf(p) === 'sleep\n'),
        'the sleep after the OOM kill',
      );
      await waitFor(() => throttledPeriods(busy) > 5, 'the busy loop throttled in 6 periods');

      const table = await cli(['ps']);
      expect(table.code).toBe(0);
      const rows = table.stdout.trim().split('\n');
      expect(rows).toHaveLength(3);
      expect(rows[1]).toMatch(
        new RegExp(
          `^${busy}\\s+lc-busy\\s+sh -c while :; do :; do…\\s+\\d+s\\s+\\d+\\.\\d%\\s+\\d+\\.\\d%\\s+[\\d.]+ [KM]iB / 256 MiB\\s+2/4096\\s+\\d+\\s+0$`,
        ),
      );
      expect(rows[2]).toMatch(
        new RegExp(`^${oom}\\s+-\\s+sh -c python3 -c 'x = b…\\s+\\d+s\\s+.*\\s+/ 64 MiB\\s+3/50\\s+0\\s+1$`),
      );
      // The uptime column: seconds since the launch, by the test's own clock (ps can't have run after now).
      const uptimeColumn = Number(/\s(\d+)s\s/.exec(rows[1]!)![1]);
      expect(uptimeColumn).toBeLessThanOrEqual((Date.now() - launched) / 1000);

      // CPU% since start: the sandbox's CPU time (read from its cgroup just before and after) over its uptime.
      const usageBefore = cpuUsageNs(busy);
      const psStarted = Date.now();
      const json = await cli(['ps', '--json']);
      const psEnded = Date.now();
      const usageAfter = cpuUsageNs(busy);
      const list = JSON.parse(json.stdout) as Figures[];
      const b = list.find((f) => f.id === busy)!;
      expect(b.name).toBe('lc-busy');
      expect(b.command).toEqual(['sh', '-c', 'while :; do :; done']);
      expect(b.quotaCpus).toBe(0.2);
      expect(b.memoryLimitBytes).toBe(256 * MiB);
      expect(b.pids).toBe(2); // PID 1 and sh
      expect(b.throttledPeriods).toBeGreaterThan(5);
      expect(b.uptimeSeconds).toBeGreaterThanOrEqual((psStarted - busyStarted) / 1000);
      expect(b.uptimeSeconds).toBeLessThanOrEqual((psEnded - launched) / 1000);
      // usage_percpu_{user,sys} (what ps sums) and cpuacct.usage may differ by a tick: 10 ms of slack.
      expect(b.cpuUsageUs * 1000).toBeGreaterThanOrEqual(usageBefore - 10e6);
      expect(b.cpuUsageUs * 1000).toBeLessThanOrEqual(usageAfter + 10e6);
      expect(b.cpuPercentOfOneCpu).toBeCloseTo((b.cpuUsageUs / (b.uptimeSeconds * 1e6)) * 100, 0);
      expect(b.cpuPercentOfOneCpu).toBeGreaterThan(0);
      // The quota's own bound: 20 ms in each 100 ms period the uptime touches, at most
      // uptime / 100 ms + 2 of them (plus 10 ms for the counters' ticks).
      expect(b.cpuUsageUs / 1e6).toBeLessThanOrEqual(0.2 * b.uptimeSeconds + 0.04 + 0.01);
      expect(b.cpuPercentOfQuota).toBeCloseTo(b.cpuPercentOfOneCpu / 0.2, 0);
      const o = list.find((f) => f.id === oom)!;
      expect(o.oomKills).toBe(1);
      expect(o.memoryLimitBytes).toBe(64 * MiB);
      expect(o.pidsMax).toBe(50);
      expect(o.quotaCpus).toBeNull();
      expect(o.cpuPercentOfQuota).toBeNull();
    });

    it('stats --no-stream measures the current rate: a busy loop at 20% shows what its cgroup used in the window, within the quota', async () => {
      const busy = await detached(['--cpu', '20%', '--', 'sh', '-c', 'while :; do :; done']);
      const idle = await detached(['--cpu', '50%', '--', 'sleep', '30']);
      // The busy loop's CPU time read from its cgroup around the call, and the call's wall time:
      // the 2 s window lies inside both.
      const t0 = Date.now();
      const u0 = cpuUsageNs(busy);
      const r = await cli(['stats', '--no-stream', '--json', busy, idle]);
      const u1 = cpuUsageNs(busy);
      const wallS = (Date.now() - t0) / 1000;
      expect(r.code).toBe(0);
      const lines = r.stdout.trim().split('\n');
      expect(lines).toHaveLength(1);
      const list = JSON.parse(lines[0]!) as Figures[];
      const b = list.find((f) => f.id === busy)!;
      expect(b.cpuWindowSeconds).toBeGreaterThanOrEqual(2);
      expect(b.cpuWindowSeconds).toBeLessThanOrEqual(wallS);
      // The rate is the CPU time in the window over the window: no more than the loop used during
      // the whole call, no less than that minus what the quota let it use outside the window (the
      // quota's bound below, for the time before and the time after it). 10 ms of slack for the
      // counters' ticks.
      const inWindowS = (b.cpuPercentOfOneCpu / 100) * b.cpuWindowSeconds;
      const usedS = (u1 - u0) / 1e9;
      expect(inWindowS).toBeLessThanOrEqual(usedS + 0.01);
      expect(inWindowS).toBeGreaterThanOrEqual(usedS - (0.2 * (wallS - b.cpuWindowSeconds) + 2 * 0.04) - 0.01);
      // The quota's bound: a window of W touches at most W / 100 ms + 2 CFS periods (it can't be
      // aligned with the kernel's period timer), each with at most the 20 ms quota.
      expect(inWindowS).toBeLessThanOrEqual(0.2 * b.cpuWindowSeconds + 0.04 + 0.01);
      expect(b.cpuPercentOfQuota).toBeCloseTo(b.cpuPercentOfOneCpu / 0.2, 0);
      expect(list.find((f) => f.id === idle)!.cpuPercentOfOneCpu).toBeLessThan(2);

      const table = await cli(['stats', '--no-stream', busy]);
      expect(table.stdout).toMatch(
        new RegExp(
          `^ID\\s+NAME\\s+CPU%\\s+QUOTA%\\s+MEM / LIMIT\\s+MEM%\\s+PIDS\\s+THROTTLED\\n${busy}\\s+-\\s+[\\d.]+%\\s+[\\d.]+%\\s+`,
        ),
      );
    });

    it('stats streams one table per refresh until its sandboxes end', async () => {
      // The sandbox ends when the test says so (a file appears), not after a time a slow CLI start could eat.
      const stop = join(workDir(), 'stats-stop');
      const id = await detached([
        '--userns=host',
        '--workdir',
        workDir(),
        '--',
        'sh',
        '-c',
        'while [ ! -e stats-stop ]; do sleep 0.05; done',
      ]);
      const stats = startCli(['stats', '--json', id]);
      const done = finish(stats);
      let out = '';
      stats.stdout!.on('data', (d: Buffer) => (out += d.toString()));
      await waitFor(() => out.split('\n').length > 2, 'two tables from sandbox stats');
      expect(stats.exitCode).toBeNull(); // still streaming while the sandbox runs
      writeFileSync(stop, '');
      expect(await gone(id)).toBe(true);
      const r = await within(done, 'sandbox stats to exit after its sandbox ended');
      expect(r.code).toBe(0);
      expect(r.stderr).toBe('');
      const lines = r.stdout.trim().split('\n');
      expect(lines.length).toBeGreaterThanOrEqual(2);
      for (const line of lines.slice(0, 2)) expect((JSON.parse(line) as Figures[]).map((f) => f.id)).toEqual([id]);
      expect(existsSync(stop)).toBe(true);
    });
  });

  describe('kill and stop', () => {
    it('kill --signal TERM reaches the command, which handles it; the sandbox then ends', async () => {
      const id = await detached([
        '--userns=host',
        '--workdir',
        workDir(),
        '--',
        'sh',
        '-c',
        'trap "echo got-term > term.txt; exit 3" TERM; while :; do sleep 0.05; done',
      ]);
      const r = await cli(['kill', '--signal', 'TERM', id]);
      expect(r).toMatchObject({ code: 0, stdout: `${id}\n`, stderr: '' });
      expect(await gone(id)).toBe(true);
      expect(readFileSync(join(workDir(), 'term.txt'), 'utf8')).toBe('got-term\n');
    });

    it('kill (default SIGKILL) by name takes down everything in the sandbox', async () => {
      const id = await detached(['--name', 'lc-victim', '--', 'sh', '-c', 'sleep 100 & sleep 100 & wait']);
      // Every process of the sandbox (PID 1, sh, both sleeps), once all four are there.
      await waitFor(() => sandboxProcs(id).length === 4, 'PID 1, sh and two sleeps in the sandbox');
      const victims = sandboxProcs(id);
      expect((await cli(['kill', 'lc-victim'])).code).toBe(0);
      await waitFor(() => victims.every((pid) => !alive(pid)), 'every process of the killed sandbox to go');
      expect(await gone(id)).toBe(true);
    });

    it('stop: a command that handles SIGTERM ends at once, not after the grace', async () => {
      // A grace of 10 minutes: stop can only return within the test's timeout if it returns as soon as the sandbox ends.
      const id = await detached([
        '--userns=host',
        '--workdir',
        workDir(),
        '--',
        'sh',
        '-c',
        'trap "echo stopped > stop-term.txt; exit 0" TERM; while :; do sleep 0.05; done',
      ]);
      const r = await cli(['stop', '--time', '600', id]);
      expect(r).toMatchObject({ code: 0, stdout: `${id}\n`, stderr: '' });
      expect(present(id)).toBe(false);
      expect(readFileSync(join(workDir(), 'stop-term.txt'), 'utf8')).toBe('stopped\n');
    });

    it('stop --time 1: a command that ignores SIGTERM is SIGKILLed after the grace', async () => {
      const id = await detached(['--', 'sh', '-c', 'trap "" TERM; while :; do sleep 0.05; done']);
      const procs = sandboxProcs(id);
      const t0 = Date.now();
      const r = await cli(['stop', '--time', '1', id.slice(0, 6)]);
      const took = Date.now() - t0;
      expect(r).toMatchObject({ code: 0, stdout: `${id}\n`, stderr: '' });
      expect(present(id)).toBe(false);
      expect(procs.filter(alive)).toEqual([]); // PID 1 and the loop, which ignored SIGTERM, are gone
      expect(took).toBeGreaterThanOrEqual(1000); // the grace is a minimum
    });

    it.each([
      [['kill', 'no-such-box'], 'sandbox: no such sandbox: "no-such-box" (sandbox ps lists the running ones)'],
      [['stop', 'no-such-box'], 'sandbox: no such sandbox: "no-such-box" (sandbox ps lists the running ones)'],
      [
        ['update', 'no-such-box', '--pids', '5'],
        'sandbox: no such sandbox: "no-such-box" (sandbox ps lists the running ones)',
      ],
      [
        ['exec', 'no-such-box', '--', 'true'],
        'sandbox: no such sandbox: "no-such-box" (sandbox ps lists the running ones)',
      ],
      [
        ['stats', '--no-stream', 'no-such-box'],
        'sandbox: no such sandbox: "no-such-box" (sandbox ps lists the running ones)',
      ],
      [
        ['kill', '--signal', 'SIGBOGUS', 'x'],
        'sandbox: --signal: expected a signal name like TERM, SIGINT or KILL, or its number, got "SIGBOGUS"',
      ],
      [['stop', '--time', 'soon', 'x'], 'sandbox: --time: expected a number of seconds, got "soon"'],
    ])('%j: one line, exit 125', async (args, message) => {
      const r = await cli(args);
      expect(r.code).toBe(125);
      expect(r.stdout).toBe('');
      expect(r.stderr).toBe(`${message}\n`);
    });

    it('a sandbox that has exited is no longer found: kill, stop and exec say so with 125', async () => {
      const id = await detached(['--', 'true']);
      expect(await gone(id)).toBe(true);
      for (const args of [
        ['kill', id],
        ['stop', id],
        ['exec', id, '--', 'true'],
      ]) {
        const r = await cli(args);
        expect(r.code).toBe(125);
        expect(r.stderr).toBe(`sandbox: no such sandbox: "${id}" (sandbox ps lists the running ones)\n`);
      }
    });
  });

  describe('update', () => {
    it('changes memory, CPU and pids limits live; /proc/meminfo inside shows the new limit at the next read', async () => {
      const id = await detached(['--name', 'lc-upd', '--cpu', '20%', '--mem', '256M', '--', 'sleep', '100']);
      const before = await cli(['exec', id, '--', 'head', '-1', '/proc/meminfo']);
      expect(before.stdout).toMatch(/^MemTotal:\s+262144 kB\n$/);

      const r = await cli(['update', 'lc-upd', '--cpu', '50%', '--mem', '512M', '--pids', '64']);
      expect(r).toMatchObject({ code: 0, stdout: `${id}\n`, stderr: '' });
      expect(limitOf(id, 'memory')).toBe(512 * MiB);
      expect(limitOf(id, 'cpuQuotaUs')).toBe(50_000);
      expect(limitOf(id, 'pids')).toBe(64);
      const after = await cli([
        'exec',
        id,
        '--',
        'sh',
        '-c',
        'head -1 /proc/meminfo; cat /sys/fs/cgroup/pids/pids.max 2>/dev/null || cat /sys/fs/cgroup/pids.max',
      ]);
      expect(after.stdout).toMatch(/^MemTotal:\s+524288 kB\n64\n$/);
      const ps = JSON.parse((await cli(['ps', '--json'])).stdout) as Figures[];
      expect(ps.find((f) => f.id === id)).toMatchObject({ quotaCpus: 0.5, memoryLimitBytes: 512 * MiB, pidsMax: 64 });

      // A second update keeps what the first one set.
      expect((await cli(['update', id, '--mem', '128M'])).code).toBe(0);
      expect(limitOf(id, 'cpuQuotaUs')).toBe(50_000);
      expect((await cli(['exec', id, '--', 'head', '-1', '/proc/meminfo'])).stdout).toMatch(
        /^MemTotal:\s+131072 kB\n$/,
      );
    });

    it('a bad value changes nothing: one line, 125', async () => {
      const id = await detached(['--mem', '256M', '--', 'sleep', '100']);
      for (const [flags, message] of [
        [['--mem', '1M'], 'sandbox: --mem: "1M" is below the 6 MiB a sandbox needs'],
        [['--cpu', 'fast'], 'sandbox: --cpu: expected a share like 20%, 150% or 0.5 (CPUs), got "fast"'],
        [['--pids', '0'], 'sandbox: --pids: must be from 1 to 4194304, got "0"'],
        [
          [],
          'sandbox: update: nothing to change: give --cpu, --mem, --swap, --pids, --cpuset-cpus, --cpu-weight, --io-weight or --device-{read,write}-{bps,iops}',
        ],
      ] as const) {
        const r = await cli(['update', id, ...flags]);
        expect(r.code).toBe(125);
        expect(r.stderr).toBe(`${message}\n`);
      }
      expect(limitOf(id, 'memory')).toBe(256 * MiB);
    });
  });
});
