// A `sandbox procfs serve` of the bench's own (a temp mount and socket), for the scenarios that run
// sandboxes with a running server: stopped, and its directory removed, when the scenario ends.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { CLI } from './sandbox-proc.js';

/** A running daemon: its socket, and how to stop it. */
export interface BenchDaemon {
  socket: string;
  /** The keeper and the server it runs (procfs/daemon/keeper.ts): whose CPU time is the daemon's. */
  pids(): number[];
  stop(): Promise<void>;
}

/**
 * Node flags for the daemon alone (SANDBOX_BENCH_DAEMON_NODE_ARGS, e.g. `--cpu-prof
 * --cpu-prof-dir=/tmp/prof` to profile its server's threads under a fleet): the keeper passes its
 * execArgv to the server it starts, and workers inherit them.
 */
const DAEMON_NODE_ARGS = (process.env.SANDBOX_BENCH_DAEMON_NODE_ARGS ?? '').split(' ').filter(Boolean);

/** Start the daemon of build `cli` (default: this one); resolves once it serves (its "serving views at" line). */
export function startViewDaemon(cli = CLI): Promise<BenchDaemon> {
  const dir = mkdtempSync('/tmp/sandbox-bench-daemon.');
  const child = spawn(
    process.execPath,
    [...DAEMON_NODE_ARGS, cli, 'procfs', 'serve', '--mount', `${dir}/mnt`, '--socket', `${dir}/api.sock`],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let log = '';
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await exited;
    rmSync(dir, { recursive: true, force: true });
  };
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => void stop().then(() => reject(new Error(`procfs serve: not serving after 10 s: ${log}`))),
      10_000,
    );
    child.stderr.on('data', (d: Buffer) => {
      log += d.toString();
      if (!log.includes('serving views at')) return;
      clearTimeout(timer);
      // The keeper's line "keeper: server pid N (#k) started" names the server that reads requests.
      const servers = () => [...log.matchAll(/keeper: server pid (\d+) /g)].map((m) => Number(m[1]));
      resolve({ socket: `${dir}/api.sock`, pids: () => [child.pid!, ...servers().slice(-1)], stop });
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      // Before it served (after, this rejects nothing): its directory goes with it, unless its
      // mount is still there (a killed server's): stop() and the caller's checks report that.
      try {
        rmSync(dir, { recursive: true, force: true });
      } catch {
        // busy or not connected: left for stop()
      }
      reject(new Error(`procfs serve exited ${code ?? signal}: ${log}`));
    });
  });
}
