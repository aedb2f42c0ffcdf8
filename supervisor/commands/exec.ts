// `sandbox exec ID|NAME -- CMD…`: run a command inside a running sandbox. The native stage does the
// work (--exec-into, native/stage/exec.c): Node runs several threads and setns(2) into a mount
// namespace fails with EINVAL in a threaded process. It joins the sandbox's cgroups (nsenter(1)
// does not), enters all of PID 1's namespaces, drops privileges as PID 1 does, and forks the
// command into the pid namespace; its exit code comes back.
import { spawn } from 'node:child_process';
import type { Command } from 'commander';
import { UsageError } from '../errors.js';
import { FORWARDED_SIGNALS } from '../signals.js';
import { securityArgs, type Security } from '../security.js';
import { STAGE_PATH, stageExitCode } from '../stage.js';
import { runningSandbox } from '../lookup.js';
import { requireRoot } from './root.js';

/** The stage's argv for `exec` (contract at the top of native/stage/options.c). */
export function execStageArgs(
  supervisorPid: number,
  init: number,
  procsFiles: readonly string[],
  workdir: string,
  command: readonly string[],
  user: { uid: number; gid: number } | null = null,
  security: Security | null = null,
  tty = false,
): string[] {
  const args = ['--supervisor-pid', String(supervisorPid), '--exec-into', String(init)];
  for (const f of procsFiles) args.push('--cgroup-procs', f);
  if (user) args.push('--user', `${user.uid}:${user.gid}`);
  args.push(...securityArgs(security));
  if (tty) args.push('--tty');
  args.push('--chdir', workdir, '--', ...command);
  return args;
}

/** Run the command in the sandbox and resolve with its exit code. */
async function execInSandbox(
  ref: string,
  command: string[],
  workdir: string | undefined,
  tty = false,
): Promise<number> {
  const { state, cgroup, procs } = await runningSandbox(ref);
  const stage = spawn(
    STAGE_PATH,
    execStageArgs(
      process.pid,
      procs.init!,
      cgroup.procsFiles,
      workdir ?? state.workdir ?? '/',
      command,
      state.user ?? null,
      state.security ?? null,
      tty,
    ),
    {
      stdio: 'inherit',
    },
  );
  const forward = (sig: NodeJS.Signals): void => void stage.kill(sig);
  for (const sig of FORWARDED_SIGNALS) process.on(sig, forward);
  try {
    return await stageExitCode(stage);
  } finally {
    for (const sig of FORWARDED_SIGNALS) process.off(sig, forward);
  }
}

/** Register `sandbox exec`. */
export function registerExec(program: Command, onExit: (code: number) => void): void {
  program
    .command('exec')
    .description('run a command inside a running sandbox: its namespaces, its cgroups, its /proc views')
    .argument('<sandbox>', 'id, unique id prefix, or name')
    .argument('<command...>', 'the command and its arguments')
    .option('-w, --workdir <dir>', "working directory inside (default: the sandbox's)")
    .option(
      '-t, --tty',
      "give the command a terminal: a new pty of the sandbox's devpts, relayed to this one in raw mode",
    )
    .passThroughOptions()
    .addHelpText(
      'after',
      `
Examples:
  sandbox exec web -- cat /proc/meminfo
  sandbox exec 3f2a9c01b7de -- sh -c 'ps aux'
  sandbox exec -t web -- sh               # an interactive shell inside (top, vi, job control work)

Exit status: the command's own (128+N if killed by signal N), 125 if the sandbox can't be entered,
126 if the command can't be executed, 127 if it is not found. The environment is this one's.`,
    )
    .action(async (ref: string, command: string[], flags: { workdir?: string; tty?: boolean }) => {
      if (flags.workdir !== undefined && !flags.workdir.startsWith('/'))
        throw new UsageError('--workdir', `expected an absolute path, got "${flags.workdir}"`);
      const workdir = flags.workdir;
      requireRoot('exec');
      // After the first operand passThroughOptions hands everything on, "--" included.
      const argv = command[0] === '--' ? command.slice(1) : command;
      if (argv.length === 0) throw new UsageError('exec', 'no command: expected "sandbox exec ID -- CMD [ARGS...]"');
      onExit(await execInSandbox(ref, argv, workdir, flags.tty === true));
    });
}
