// `sandbox ps`, `stats`, `kill`, `stop` and `update` through the CLI against real detached
// sandboxes, including their error paths. Nothing may be left behind after any test.
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cli, sandboxUnavailable } from '../helpers/sandbox.js';
import { requireOrSkip } from '../helpers/skip.js';
import { cleanUpAfterEach, detached, gone, limitOf, oomEventsFile, present, scratchDir } from '../helpers/lifecycle.js';

const skip = requireOrSkip(sandboxUnavailable());
const MiB = 1024 * 1024;

/** Poll until fn() is true (or fail after timeoutMs). */
async function until(fn: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!fn()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
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
      expect(r.stdout).toMatch(/^ID\s+NAME\s+COMMAND\s+UPTIME\s+CPU%\s+QUOTA%\s+MEM \/ LIMIT\s+PIDS\s+THROTTLED\s+OOM\n$/);
      expect((await cli(['ps', '--json'])).stdout).toBe('[]\n');
    });

    it('lists id, name, command, uptime, CPU of quota and of a CPU, memory / limit, pids, throttling and OOM kills', async () => {
      // A busy loop at 20%: it uses its whole quota (QUOTA% ~100, CPU% ~20) and is throttled; a
      // child allocating past 64 MiB is OOM-killed while the workload lives on.
      const busy = await detached(['--name', 'lc-busy', '--cpu', '20%', '--mem', '256M', '--', 'sh', '-c', 'while :; do :; done']);
      const oom = await detached(['--mem', '64M', '--pids', '50', '--', 'sh', '-c', `python3 -c 'x = b"a" * (256 << 20)'; sleep 30`]);
      await until(() => readFileSync(oomEventsFile(oom), 'utf8').includes('oom_kill 1'));
      await new Promise((r) => setTimeout(r, 1500));

      const table = await cli(['ps']);
      expect(table.code).toBe(0);
      const rows = table.stdout.trim().split('\n');
      expect(rows).toHaveLength(3);
      expect(rows[1]).toMatch(new RegExp(`^${busy}\\s+lc-busy\\s+sh -c while :; do :; do…\\s+\\ds\\s+\\d+\\.\\d%\\s+\\d+\\.\\d%\\s+[\\d.]+ [KM]iB / 256 MiB\\s+2/4096\\s+\\d+\\s+0$`));
      expect(rows[2]).toMatch(new RegExp(`^${oom}\\s+-\\s+sh -c python3 -c 'x = b…\\s+\\ds\\s+.*\\s+/ 64 MiB\\s+3/50\\s+0\\s+1$`));

      const json = await cli(['ps', '--json']);
      const list = JSON.parse(json.stdout) as Figures[];
      const b = list.find((f) => f.id === busy)!;
      expect(b.name).toBe('lc-busy');
      expect(b.command).toEqual(['sh', '-c', 'while :; do :; done']);
      expect(b.quotaCpus).toBe(0.2);
      expect(b.memoryLimitBytes).toBe(256 * MiB);
      expect(b.pids).toBe(2); // PID 1 and sh
      expect(b.throttledPeriods).toBeGreaterThan(5);
      // Since start, including the ~0.1 s before the loop began: a little under the quota.
      expect(b.cpuPercentOfOneCpu).toBeGreaterThan(14);
      expect(b.cpuPercentOfOneCpu).toBeLessThan(23);
      expect(b.cpuPercentOfQuota).toBeCloseTo(b.cpuPercentOfOneCpu / 0.2, 0);
      const o = list.find((f) => f.id === oom)!;
      expect(o.oomKills).toBe(1);
      expect(o.memoryLimitBytes).toBe(64 * MiB);
      expect(o.pidsMax).toBe(50);
      expect(o.quotaCpus).toBeNull();
      expect(o.cpuPercentOfQuota).toBeNull();
    });

    it('stats --no-stream measures the current rate: a busy loop at 20% shows ~100% of its quota', async () => {
      const busy = await detached(['--cpu', '20%', '--', 'sh', '-c', 'while :; do :; done']);
      const idle = await detached(['--cpu', '50%', '--', 'sleep', '30']);
      await new Promise((r) => setTimeout(r, 300));
      const r = await cli(['stats', '--no-stream', '--json', busy, idle]);
      expect(r.code).toBe(0);
      const lines = r.stdout.trim().split('\n');
      expect(lines).toHaveLength(1);
      const list = JSON.parse(lines[0]!) as Figures[];
      const b = list.find((f) => f.id === busy)!;
      // A 2 s window holds 20 CFS periods give or take one (it can't be aligned with the kernel's
      // period timer), each with the 20 ms quota used up: 95-105%, plus a little timing slack.
      expect(b.cpuPercentOfQuota).toBeGreaterThan(85);
      expect(b.cpuPercentOfQuota).toBeLessThan(112);
      expect(list.find((f) => f.id === idle)!.cpuPercentOfOneCpu).toBeLessThan(2);

      const table = await cli(['stats', '--no-stream', busy]);
      expect(table.stdout).toMatch(new RegExp(`^ID\\s+NAME\\s+CPU%\\s+QUOTA%\\s+MEM / LIMIT\\s+MEM%\\s+PIDS\\s+THROTTLED\\n${busy}\\s+-\\s+[\\d.]+%\\s+[\\d.]+%\\s+`));
    });

    it('stats streams one table per second until its sandboxes end', async () => {
      const id = await detached(['--', 'sleep', '2.5']);
      const t0 = Date.now();
      const r = await cli(['stats', '--json', id]);
      expect(r.code).toBe(0);
      const lines = r.stdout.trim().split('\n');
      expect(lines.length).toBeGreaterThanOrEqual(2);
      expect(JSON.parse(lines[0]!)[0].id).toBe(id);
      expect(Date.now() - t0).toBeLessThan(5000);
    });
  });

  describe('kill and stop', () => {
    it('kill --signal TERM reaches the command, which handles it; the sandbox then ends', async () => {
      const id = await detached(['--workdir', workDir(), '--', 'sh', '-c', 'trap "echo got-term > term.txt; exit 3" TERM; while :; do sleep 0.05; done']);
      const r = await cli(['kill', '--signal', 'TERM', id]);
      expect(r).toMatchObject({ code: 0, stdout: `${id}\n`, stderr: '' });
      expect(await gone(id)).toBe(true);
      expect(readFileSync(join(workDir(), 'term.txt'), 'utf8')).toBe('got-term\n');
    });

    it('kill (default SIGKILL) by name takes down everything in the sandbox within 1 s', async () => {
      const id = await detached(['--name', 'lc-victim', '--', 'sh', '-c', 'sleep 100 & sleep 100 & wait']);
      const t0 = Date.now();
      expect((await cli(['kill', 'lc-victim'])).code).toBe(0);
      expect(await gone(id, 1000)).toBe(true);
      expect(Date.now() - t0).toBeLessThan(1500);
    });

    it('stop: a command that handles SIGTERM ends at once', async () => {
      const id = await detached(['--', 'sleep', '100']);
      const t0 = Date.now();
      const r = await cli(['stop', id]);
      expect(r).toMatchObject({ code: 0, stdout: `${id}\n` });
      expect(present(id)).toBe(false);
      expect(Date.now() - t0).toBeLessThan(1500);
    });

    it('stop --time 1: a command that ignores SIGTERM is SIGKILLed after the grace', async () => {
      const id = await detached(['--', 'sh', '-c', 'trap "" TERM; while :; do sleep 0.05; done']);
      const t0 = Date.now();
      const r = await cli(['stop', '--time', '1', id.slice(0, 6)]);
      const took = Date.now() - t0;
      expect(r).toMatchObject({ code: 0, stdout: `${id}\n`, stderr: '' });
      expect(present(id)).toBe(false);
      expect(took).toBeGreaterThanOrEqual(1000);
      expect(took).toBeLessThan(3000);
    });

    it.each([
      [['kill', 'no-such-box'], 'sandbox: no such sandbox: "no-such-box" (sandbox ps lists the running ones)'],
      [['stop', 'no-such-box'], 'sandbox: no such sandbox: "no-such-box" (sandbox ps lists the running ones)'],
      [['update', 'no-such-box', '--pids', '5'], 'sandbox: no such sandbox: "no-such-box" (sandbox ps lists the running ones)'],
      [['exec', 'no-such-box', '--', 'true'], 'sandbox: no such sandbox: "no-such-box" (sandbox ps lists the running ones)'],
      [['stats', '--no-stream', 'no-such-box'], 'sandbox: no such sandbox: "no-such-box" (sandbox ps lists the running ones)'],
      [['kill', '--signal', 'SIGBOGUS', 'x'], 'sandbox: --signal: expected a signal name like TERM, SIGINT or KILL, or its number, got "SIGBOGUS"'],
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
      for (const args of [['kill', id], ['stop', id], ['exec', id, '--', 'true']]) {
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
      const after = await cli(['exec', id, '--', 'sh', '-c', 'head -1 /proc/meminfo; cat /sys/fs/cgroup/pids/pids.max 2>/dev/null || cat /sys/fs/cgroup/pids.max']);
      expect(after.stdout).toMatch(/^MemTotal:\s+524288 kB\n64\n$/);
      const ps = JSON.parse((await cli(['ps', '--json'])).stdout) as Figures[];
      expect(ps.find((f) => f.id === id)).toMatchObject({ quotaCpus: 0.5, memoryLimitBytes: 512 * MiB, pidsMax: 64 });

      // A second update keeps what the first one set.
      expect((await cli(['update', id, '--mem', '128M'])).code).toBe(0);
      expect(limitOf(id, 'cpuQuotaUs')).toBe(50_000);
      expect((await cli(['exec', id, '--', 'head', '-1', '/proc/meminfo'])).stdout).toMatch(/^MemTotal:\s+131072 kB\n$/);
    });

    it('a bad value changes nothing: one line, 125', async () => {
      const id = await detached(['--mem', '256M', '--', 'sleep', '100']);
      for (const [flags, message] of [
        [['--mem', '1M'], 'sandbox: --mem: "1M" is below the 6 MiB a sandbox needs'],
        [['--cpu', 'fast'], 'sandbox: --cpu: expected a share like 20%, 150% or 0.5 (CPUs), got "fast"'],
        [['--pids', '0'], 'sandbox: --pids: must be from 1 to 4194304, got "0"'],
        [[], 'sandbox: update: nothing to change: give --cpu, --mem, --swap, --pids, --cpuset-cpus, --cpu-weight, --io-weight or --device-{read,write}-{bps,iops}'],
      ] as const) {
        const r = await cli(['update', id, ...flags]);
        expect(r.code).toBe(125);
        expect(r.stderr).toBe(`${message}\n`);
      }
      expect(limitOf(id, 'memory')).toBe(256 * MiB);
    });
  });
});
