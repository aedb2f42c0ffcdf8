// A detached sandbox handed over to its stage (native/stage/monitor.c): once the workload runs, the
// supervisor ties the shared view server's registration to the stage, records the stage as the
// sandbox's monitor in the state, and tells the stage to take over; then it exits. From then on the
// stage's death ends the sandbox, and the stage runs the teardown (`sandbox monitor-exit`) when PID
// 1 has exited. Why the stage: a Node process per idle sandbox costs more memory than the whole
// target, the C stage next to nothing (docs/bench/2026-12-07-scale.md).
import type { ChildProcess } from 'node:child_process';
import { resolve } from 'node:path';
import type { Duplex } from 'node:stream';
import { retieShared, type SharedViews } from '../shared-views.js';
import { MONITOR_FD, type StageConfig } from '../stage.js';
import { exitFile, processStartTicks, updateState } from '../state.js';
import type { Launch, RunRequest } from './launch.js';
import type { Prepared } from './prepare.js';
import type { ServedViews } from './views.js';
import type { Timeout } from './wait.js';

/**
 * Whether a launch's stage may take the sandbox over: detached, its views served by the shared
 * server (a view server of our own lives in this process), and no pasta helper (tied to this
 * process by PR_SET_PDEATHSIG: native/stage/stage.c exec_helper). SANDBOX_MONITOR=0 keeps the
 * Node supervisor (the bench's "before").
 */
export function canHandOver(req: RunRequest, views: ServedViews, env: NodeJS.ProcessEnv = process.env): boolean {
  return req.detached === true && views.shared !== null && req.net.mode !== 'private' && env.SANDBOX_MONITOR !== '0';
}

/** The stage's monitor options: where it records the exit code, the teardown it runs then, and what publishes OOM kills. */
export function monitorConfig(id: string): NonNullable<StageConfig['monitor']> {
  // This very CLI, by absolute paths: the stage runs it with only PATH in its environment.
  const cli = [process.execPath, ...process.execArgv, resolve(process.argv[1] ?? '')];
  return { exitFile: exitFile(id), exitCommand: [...cli, 'monitor-exit', id], oomCommand: [...cli, 'monitor-oom', id] };
}

/**
 * Hand the running sandbox over to its stage; true when the stage took it (this process may exit
 * without a teardown), false when it cannot (the stage has exited, or the view server refused):
 * then this process keeps the sandbox as before.
 */
export async function handOver(
  launch: Launch,
  stage: ChildProcess,
  { state }: Prepared,
  shared: SharedViews,
  timeout: Timeout | null,
  releasedAtMs: number,
): Promise<boolean> {
  const pid = stage.pid;
  if (pid === undefined || timeout?.fired()) return false;
  const startTicks = await processStartTicks(pid);
  if (startTicks === null || !(await retieShared(shared.socket, launch.id, pid))) return false;
  state.monitorPid = pid;
  state.monitorStartTicks = startTicks;
  state.viewSocket = shared.socket;
  await updateState(state);
  const ms = launch.req.timeoutMs;
  const remaining = ms ? String(Math.max(0, ms - (Date.now() - releasedAtMs))) : '';
  const taken = await ask(stage.stdio[MONITOR_FD] as Duplex, `h${remaining}\n`);
  if (taken) timeout?.cancel();
  return taken;
}

/** Write the handover line; true on the stage's "a", false on end of file (PID 1 exited first). */
function ask(channel: Duplex, line: string): Promise<boolean> {
  return new Promise((done) => {
    channel.on('data', (d: Buffer) => done(d.includes('a')));
    channel.once('close', () => done(false));
    channel.once('end', () => done(false));
    channel.on('error', () => done(false));
    channel.write(line);
  }).finally(() => channel.destroy()) as Promise<boolean>;
}
