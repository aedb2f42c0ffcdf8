// Leaks: many sequential runs, many concurrent runs for a while, and one long-lived supervisor
// serving a reader that hammers its views. Nothing may accumulate: cgroups, mounts, state dirs,
// processes, the supervisor's descriptors or its memory. Sizes come from the environment
// (`npm test` runs a short form; `npm run soak` the issue's: 1000 sequential runs, 16 concurrent
// for 10 minutes): SANDBOX_SOAK_RUNS, SANDBOX_SOAK_CONCURRENCY, SANDBOX_SOAK_CONCURRENT_S,
// SANDBOX_SOAK_VIEW_ROUNDS.
import { readFileSync, readdirSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { spawn } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { CLI, cli, leftovers, removeLeftoverCgroups, requireOrSkip, sandboxUnavailable } from '../helpers/sandbox.js';

const skip = requireOrSkip(sandboxUnavailable());
const RUNS = Number(process.env.SANDBOX_SOAK_RUNS ?? '20');
const CONCURRENCY = Number(process.env.SANDBOX_SOAK_CONCURRENCY ?? '4');
const CONCURRENT_S = Number(process.env.SANDBOX_SOAK_CONCURRENT_S ?? '5');
const VIEW_ROUNDS = Number(process.env.SANDBOX_SOAK_VIEW_ROUNDS ?? '6');
const READER = fileURLToPath(new URL('../../dist/native/view-reader', import.meta.url));
const LIMITS = ['--cpu', '50%', '--mem', '64M'];

/** Mount count of this (the host's) mount namespace. */
const mountCount = () => readFileSync('/proc/self/mountinfo', 'utf8').trim().split('\n').length;

/** Resident memory (kB) and open descriptors of a process. */
function footprint(pid: number): { rssKb: number; fds: number } {
  const rss = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
  return { rssKb: Number(rss), fds: readdirSync(`/proc/${pid}/fd`).length };
}

describe.skipIf(skip)('soak: nothing leaks', () => {
  afterEach(() => {
    const left = leftovers();
    removeLeftoverCgroups();
    expect(left).toEqual([]);
  });

  it(`${RUNS} sequential runs leave no cgroup, mount, state dir or process`, { timeout: 30_000 + RUNS * 2_000 }, async () => {
    const mountsBefore = mountCount();
    for (let i = 0; i < RUNS; i++) {
      const r = await cli(['run', ...LIMITS, '--', 'true']);
      expect(r.code, r.stderr).toBe(0);
    }
    expect(mountCount()).toBe(mountsBefore);
    console.log(`soak: ${RUNS} sequential runs, no leftovers`);
  });

  it(`${CONCURRENCY} concurrent runs for ${CONCURRENT_S} s leave nothing`, { timeout: 60_000 + CONCURRENT_S * 1_500 }, async () => {
    const mountsBefore = mountCount();
    const deadline = Date.now() + CONCURRENT_S * 1000;
    let runs = 0;
    const worker = async () => {
      while (Date.now() < deadline) {
        const r = await cli(['run', ...LIMITS, '--', 'sh', '-c', 'head -c 100000 /dev/urandom | md5sum >/dev/null; cat /proc/meminfo /proc/stat >/dev/null']);
        expect(r.code, r.stderr).toBe(0);
        runs++;
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
    expect(mountCount()).toBe(mountsBefore);
    console.log(`soak: ${runs} runs by ${CONCURRENCY} concurrent workers over ${CONCURRENT_S} s, no leftovers`);
  });

  it(`a supervisor serving ${VIEW_ROUNDS} rounds of view reads keeps its descriptors and memory flat`, { timeout: 60_000 + VIEW_ROUNDS * 20_000 }, async () => {
    const child = spawn(process.execPath, [CLI, 'run', ...LIMITS, '--', READER], { stdio: ['pipe', 'pipe', 'inherit'] });
    const lines = createInterface({ input: child.stdout! });
    const answers: string[] = [];
    let waiting: ((line: string) => void) | null = null;
    lines.on('line', (line) => (waiting ? (waiting(line), (waiting = null)) : answers.push(line)));
    const ask = (command: string) =>
      new Promise<string>((resolve) => {
        waiting = resolve;
        child.stdin!.write(`${command}\n`);
      });
    const samples: Array<{ rssKb: number; fds: number }> = [];
    try {
      for (let round = 0; round < VIEW_ROUNDS; round++) {
        for (const file of ['meminfo', 'stat', 'cpuinfo', 'uptime', 'loadavg', 'swaps']) {
          const answer = await ask(`lat 1000 /proc/${file}`);
          expect(answer.startsWith('ok ')).toBe(true);
        }
        samples.push(footprint(child.pid!));
      }
    } finally {
      child.stdin!.end('quit\n');
      await new Promise((resolve) => child.once('exit', resolve));
    }
    // Round 1 warms up (V8 code, kept descriptors); after it the descriptors may not change and RSS
    // may only drift. Measured here over 20 rounds (120,000 reads): +5.7 to +7 MB, in steps with
    // plateaus, the same with V8's heap capped at 24 MB (--max-old-space-size), so it is native
    // allocation (glibc arenas of the libfuse threads and Node's sync reads), not a JS leak.
    const settled = samples.slice(1);
    const fds = new Set(settled.map((s) => s.fds));
    expect(fds.size, JSON.stringify(samples)).toBe(1);
    const growthKb = settled.at(-1)!.rssKb - settled[0]!.rssKb;
    expect(growthKb, JSON.stringify(samples)).toBeLessThan(8 * 1024);
    console.log(`soak: ${VIEW_ROUNDS * 6000} view reads; supervisor fds ${[...fds].join()} throughout, RSS by round (kB): ${samples.map((s) => s.rssKb).join(' ')}`);
  });
});
