// Starting `sandbox run` from the bench and finding its cgroup from the host side: the supervisor
// writes /run/sandbox/<id>/state.json (supervisor/state.ts) with its pid and cgroup dirs, and
// rewrites it with the limits once they are applied.
import { spawn, type ChildProcess, type StdioOptions } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';

/** The CLI the bench measures (dist/supervisor/main.cjs, which runs the bundle). */
export const CLI = fileURLToPath(new URL('../supervisor/main.cjs', import.meta.url));
/** The CPU workloads (native/bench/busy/busy.c). */
export const BUSY = fileURLToPath(new URL('../native/bench-busy', import.meta.url));
const RUN_DIR = '/run/sandbox';

/** What the bench needs of a running sandbox. */
export interface SandboxInfo {
  id: string;
  cgroupDirs: string[];
}

/** Start `sandbox run ARGS`. */
export function runSandbox(
  args: string[],
  stdio: StdioOptions = ['ignore', 'ignore', 'inherit'],
  env: NodeJS.ProcessEnv = process.env,
): ChildProcess {
  return spawn(process.execPath, [CLI, 'run', ...args], { stdio, env });
}

/** Wait (polling every 5 ms, up to 10 s) until the sandbox of supervisor `pid` has applied its limits. */
export async function sandboxOf(child: ChildProcess): Promise<SandboxInfo> {
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) break;
    let entries: string[] = [];
    try {
      entries = readdirSync(RUN_DIR);
    } catch {
      /* not made yet */
    }
    for (const id of entries) {
      try {
        const state = JSON.parse(readFileSync(`${RUN_DIR}/${id}/state.json`, 'utf8')) as {
          id: string;
          supervisorPid: number;
          cgroupDirs: string[];
          limits?: unknown;
        };
        if (state.supervisorPid === child.pid && state.limits) return { id: state.id, cgroupDirs: state.cgroupDirs };
      } catch {
        /* another sandbox's, or being replaced */
      }
    }
    await sleep(5);
  }
  throw new Error(`sandbox run (pid ${child.pid}) did not show its cgroup in ${RUN_DIR} within 10 s`);
}

/** Resolve with the exit code (or 128+signal) of a child. */
export function exited(child: ChildProcess): Promise<number> {
  if (child.exitCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code, signal) => resolve(code ?? (signal ? 128 : 1)));
  });
}
