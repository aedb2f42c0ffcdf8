// SIGKILL the supervisor at random points of a run, SANDBOX_SOAK_KILLS times (10 in `npm test`,
// 200 with `npm run soak`): before the launch (state, cgroup, FUSE mount being made), while the
// workload runs, and while it tears down. Every time, no stage process is left and every sandbox
// cgroup empties (PR_SET_PDEATHSIG on the stage and PID 1, the pid namespace dying with its PID 1),
// and after `sandbox gc` nothing at all is left: no cgroup, mount, state dir or process. Each is
// awaited with a generous deadline (a loaded machine delays it); how long it took is printed (the
// worst case), not asserted.
import { readFileSync, readdirSync, readlinkSync } from 'node:fs';
import { createServer } from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import {
  STAGE,
  cli,
  leftovers,
  ownCgroupDirs,
  removeLeftoverCgroups,
  sandboxUnavailable,
  startCli,
} from '../helpers/sandbox.js';
import { requireOrSkip } from '../helpers/skip.js';
import { freePort, pastaUnavailable } from '../helpers/net.js';
import { EVENT_DEADLINE_MS, waitFor, within } from '../helpers/wait.js';

const skip = requireOrSkip(sandboxUnavailable());
const KILLS = Number(process.env.SANDBOX_SOAK_KILLS ?? '10');
/**
 * Even rounds: the workload lives ~300 ms after a ~200 ms launch, so delays up to 700 ms cover every
 * phase (teardown too). Odd rounds: it never ends by itself, so under the generous deadline only
 * the kill can have ended it (a 300 ms workload would also end without PDEATHSIG).
 */
const MAX_DELAY_MS = 700;

/** State, parent and kernel wait channel of a process, for the failure message. */
function describeProcess(pid: string): string {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const field = (k: string) => new RegExp(`^${k}:\\s*(.*)$`, 'm').exec(status)?.[1] ?? '?';
    const stack = (() => {
      try {
        return readFileSync(`/proc/${pid}/stack`, 'utf8').split('\n').slice(0, 4).join(' | ');
      } catch {
        return '';
      }
    })();
    return `(state ${field('State')}, ppid ${field('PPid')}, wchan ${readFileSync(`/proc/${pid}/wchan`, 'utf8')}, sig pending ${field('ShdPnd')} ${stack})`;
  } catch {
    return '(gone)';
  }
}

/** What still runs for a sandbox: stage processes and tasks in sandbox-* cgroups. */
function running(): string[] {
  const found: string[] = [];
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      if (readlinkSync(`/proc/${pid}/exe`) === STAGE) found.push(`stage ${pid} ${describeProcess(pid)}`);
    } catch {
      // gone, or a kernel thread
    }
  }
  for (const dir of ownCgroupDirs()) {
    for (const name of readdirSync(dir)) {
      if (!name.startsWith('sandbox-')) continue;
      try {
        const procs = readFileSync(`${dir}/${name}/cgroup.procs`, 'utf8').trim();
        if (procs !== '') found.push(`tasks in ${dir}/${name}: ${procs.replace(/\n/g, ',')}`);
      } catch {
        // removed meanwhile
      }
    }
  }
  return found;
}

describe.skipIf(skip)(`soak: ${KILLS} supervisors SIGKILLed at random points`, () => {
  const stats = {
    kills: 0,
    worstGoneMs: 0,
    netKills: 0,
    worstNetGoneMs: 0,
    phases: { launch: 0, running: 0, after: 0 },
  };
  afterAll(() => {
    removeLeftoverCgroups();
    console.log(
      `soak: ${stats.kills} kills survived, workload gone within ${stats.worstGoneMs} ms at worst; ` +
        `killed during launch ${stats.phases.launch}, while running ${stats.phases.running}, at teardown/after ${stats.phases.after}` +
        (stats.netKills > 0
          ? `; with -p: ${stats.netKills} kills, pasta and the workload gone within ${stats.worstNetGoneMs} ms at worst`
          : ''),
    );
  });

  it('the workload goes every time and gc leaves nothing', {
    timeout: 60_000 + EVENT_DEADLINE_MS + KILLS * 3_000,
  }, async () => {
    for (let i = 0; i < KILLS; i++) {
      const child = startCli([
        'run',
        '--mem',
        '64M',
        '--',
        'sh',
        '-c',
        `echo ready; sleep ${i % 2 === 0 ? '0.3' : '1000'}`,
      ]);
      let ready = false;
      let exited = false;
      child.stdout!.on('data', () => (ready = true));
      // 'close' waits for every holder of the stdout pipe (the workload too), 'exit' only for the
      // supervisor: the time is counted from the kill to the pipe's close as well.
      const closed = new Promise<void>((resolve) => child.on('close', () => resolve()));
      const exit = new Promise<void>((resolve) => child.on('exit', () => ((exited = true), resolve())));
      await new Promise((r) => setTimeout(r, Math.random() * MAX_DELAY_MS));
      stats.phases[exited ? 'after' : ready ? 'running' : 'launch']++;
      const killedAt = Date.now();
      child.kill('SIGKILL');
      await exit;
      let left = running();
      await waitFor(
        () => (left = running()).length === 0,
        `kill ${i}: every stage process and sandbox task to go after the SIGKILL`,
        EVENT_DEADLINE_MS,
        10,
      ).catch((err: Error) => expect.fail(`${err.message}; still running: ${left.join('; ')}`));
      await within(closed, `kill ${i}: the workload to close the output pipe`);
      stats.worstGoneMs = Math.max(stats.worstGoneMs, Date.now() - killedAt);

      const gc = await cli(['gc']);
      expect(gc.code, `kill ${i}: gc failed: ${gc.stderr}`).toBe(0);
      expect(leftovers(), `kill ${i}: left after gc`).toEqual([]);
      stats.kills++;
    }
  });

  // --net private: pasta is not in the sandbox's cgroup; PR_SET_PDEATHSIG ends it with a SIGKILLed
  // supervisor (gc would kill it by the pid it wrote in the state dir), and its host port is free again.
  it.skipIf(requireOrSkip(pastaUnavailable()))(
    'with -p: pasta goes too, gc leaves nothing, the host port is free',
    { timeout: 60_000 + EVENT_DEADLINE_MS + KILLS * 3_000 },
    async () => {
      const rounds = Math.max(3, Math.ceil(KILLS / 3));
      const helpers = () => leftovers().filter((l) => l.includes('network helper'));
      for (let i = 0; i < rounds; i++) {
        const port = await freePort();
        const child = startCli(['run', '-p', `127.0.0.1:${port}:8000`, '--', 'sh', '-c', 'echo ready; sleep 1000']);
        const exit = new Promise<void>((resolve) => child.on('exit', () => resolve()));
        // Every third round waits for the workload (pasta surely up); the others die at a random point of the launch.
        if (i % 3 === 0) await new Promise<void>((resolve) => child.stdout!.once('data', () => resolve()));
        else await new Promise((r) => setTimeout(r, Math.random() * 900));
        const killedAt = Date.now();
        child.kill('SIGKILL');
        await exit;
        let alive: string[] = [];
        await waitFor(
          () => (alive = [...running(), ...helpers()]).length === 0,
          `net kill ${i}: pasta, stage processes and sandbox tasks to go after the SIGKILL`,
          EVENT_DEADLINE_MS,
          10,
        ).catch((err: Error) => expect.fail(`${err.message}; still running: ${alive.join('; ')}`));
        stats.worstNetGoneMs = Math.max(stats.worstNetGoneMs, Date.now() - killedAt);
        stats.netKills++;
        const gc = await cli(['gc']);
        expect(gc.code, `net kill ${i}: gc failed: ${gc.stderr}`).toBe(0);
        expect(leftovers(), `net kill ${i}: left after gc`).toEqual([]);
        const again = createServer();
        await new Promise<void>(
          (resolve, reject) => (again.once('error', reject), again.listen(port, '127.0.0.1', resolve)),
        );
        await new Promise((r) => again.close(r));
      }
    },
  );
});
