// `sandbox run -d`: the supervisor must outlive the command line (it serves the FUSE views and
// waits for the workload), and Node cannot fork(2). So the foreground CLI re-runs its own command
// line as a new process in a new session (spawn's `detached`: setsid(2)), with stdio on /dev/null and
// one pipe, fd 3, on which the background supervisor reports "started ID" once the workload runs, or
// "error CODE MESSAGE" if it could not start it. The foreground prints the id (or the error) and
// exits; the background supervisor is reparented to init (or the nearest subreaper) and runs the
// sandbox exactly as a foreground `sandbox run` would. Only -d pays for the second Node start; the
// foreground does no validation of its own (the background one reports every bad flag), so nothing
// is checked twice. The workload's stdin, stdout and stderr are /dev/null: there are no logs.
import { spawn } from 'node:child_process';
import { closeSync, writeSync } from 'node:fs';
import { SandboxError } from '../errors.js';
import { DETACHED_ENV } from './run-options.js';

/** fd of the report pipe in the background supervisor. */
const REPORT_FD = 3;

/** True in the background supervisor of `run -d`. */
export function isDetachedSupervisor(): boolean {
  return process.env[DETACHED_ENV] === '1';
}

/** In the background supervisor: send one report line to the foreground and close the pipe. */
export function reportToForeground(line: string): void {
  try {
    writeSync(REPORT_FD, line.replace(/\n/g, ' ') + '\n');
    closeSync(REPORT_FD);
  } catch {
    // the foreground is gone (killed): nothing to tell
  }
}

/** In the foreground: start the background supervisor, wait for its report, print the id; the exit code. */
export async function detach(): Promise<number> {
  const child = spawn(process.execPath, [...process.execArgv, ...process.argv.slice(1)], {
    detached: true,
    stdio: ['ignore', 'ignore', 'ignore', 'pipe'],
    env: { ...process.env, [DETACHED_ENV]: '1' },
  });
  let report = '';
  const pipe = child.stdio[REPORT_FD];
  if (!pipe) throw new SandboxError('run -d: no report pipe to the background supervisor');
  // Done at the first full line, not at EOF: processes the supervisor starts (the stage, pasta:
  // they live as long as the sandbox) may inherit the pipe's write end. If the supervisor
  // exits without a line, its last writes are read within a short grace.
  await new Promise<void>((resolve, reject) => {
    pipe.on('data', (d: Buffer) => {
      report += d.toString();
      if (report.includes('\n')) resolve();
    });
    pipe.once('close', () => resolve());
    child.once('exit', () => setTimeout(resolve, 100));
    child.once('error', (err) => reject(new SandboxError(`run -d: spawn ${process.execPath}: ${err.message}`)));
  });
  pipe.destroy();
  child.unref();
  const line = report.split('\n')[0] ?? '';
  const started = /^started ([0-9a-f]+)$/.exec(line);
  if (started) {
    process.stdout.write(`${started[1]}\n`);
    return 0;
  }
  const failed = /^error (\d+) (.*)$/.exec(line);
  if (failed) {
    process.stderr.write(`${failed[2]}\n`);
    return Number(failed[1]);
  }
  throw new SandboxError('run -d: the background supervisor exited before the sandbox started');
}
