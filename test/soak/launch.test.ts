// Launches that never return (issue 20): fuse-native's libfuse forked fusermount outside libuv, and a
// SIGCHLD landing in that child took libuv's signal lock with it, so once in ~575 launches a
// `sandbox run -- true` hung for good. The views now mount through child_process (uv_spawn) and
// nothing forks outside libuv; this run shows it by count: SANDBOX_SOAK_LAUNCHES sequential
// launches (`npm test` 10, `npm run soak` 2000, not in CI) beside a CPU load of two busy loops,
// each of which must end within a generous deadline. A launch that does not is described (its
// threads' kernel stacks) and killed, and the test fails.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, leftovers, removeLeftoverCgroups, sandboxUnavailable } from '../helpers/sandbox.js';
import { requireOrSkip } from '../helpers/skip.js';
import { EVENT_DEADLINE_MS } from '../helpers/wait.js';

const skip = requireOrSkip(sandboxUnavailable());
const LAUNCHES = Number(process.env.SANDBOX_SOAK_LAUNCHES ?? '10');

/** What each thread of a process is blocked in (wchan and the first kernel frames), for a hung launch's report. */
function describeThreads(pid: number): string {
  try {
    return readdirSync(`/proc/${pid}/task`)
      .map((tid) => {
        const read = (f: string) => {
          try {
            return readFileSync(`/proc/${pid}/task/${tid}/${f}`, 'utf8').trim();
          } catch {
            return '?';
          }
        };
        return `${tid} ${read('comm')} ${read('wchan')} [${read('stack').split('\n').slice(0, 3).join(' | ')}]`;
      })
      .join('; ');
  } catch {
    return 'gone';
  }
}

/** Run `sandbox run -- true`; the exit code, or 'hung' (described, then SIGKILLed) after the deadline. */
function launch(): Promise<{ code: number | null; hung: string | null }> {
  const child = spawn(process.execPath, [CLI, 'run', '--cpu', '20%', '--mem', '256M', '--', 'true'], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve) => {
    let hung: string | null = null;
    const timer = setTimeout(() => {
      hung = `pid ${child.pid} still running after ${EVENT_DEADLINE_MS} ms: ${describeThreads(child.pid!)}`;
      child.kill('SIGKILL');
    }, EVENT_DEADLINE_MS);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, hung });
      if (code !== 0 && !hung) process.stderr.write(stderr);
    });
  });
}

describe.skipIf(skip)(`soak: ${LAUNCHES} launches under load, none hangs`, () => {
  const load: ChildProcess[] = [];

  beforeAll(() => {
    for (let i = 0; i < 2; i++)
      load.push(spawn('nice', ['-n', '10', 'sh', '-c', 'while :; do :; done'], { stdio: 'ignore' }));
  });

  afterAll(() => {
    for (const p of load) p.kill('SIGKILL');
    const left = leftovers();
    removeLeftoverCgroups();
    expect(left).toEqual([]);
  });

  it('every launch ends within the deadline, exit 0', {
    timeout: 60_000 + LAUNCHES * (EVENT_DEADLINE_MS / 10),
  }, async () => {
    const hung: string[] = [];
    let failed = 0;
    for (let i = 0; i < LAUNCHES; i++) {
      const r = await launch();
      if (r.hung) hung.push(`launch ${i + 1}: ${r.hung}`);
      else if (r.code !== 0) failed++;
    }
    expect(hung).toEqual([]);
    expect(failed).toBe(0);
    console.log(`soak: ${LAUNCHES} launches beside two busy loops, none hung`);
  });
});
