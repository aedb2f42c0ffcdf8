// The command line: one commander program whose option definitions drive parsing, validation and
// --help. Usage errors are our exit code 125 (exitOverride), not commander's 1, and everything after
// the command is the workload's (passThroughOptions: `sandbox run ls -l` passes -l to ls).
import { Command, CommanderError, Option } from 'commander';
import { EXIT_SANDBOX_ERROR, SandboxError, UsageError, oneLine } from './errors.js';
import { rejectRepeatedOptions } from './flags.js';
import { collectGarbage } from './gc.js';
import { readHostFacts } from './host.js';
import { resolveLimits, type LimitFlags } from './limits.js';
import { runSandbox } from './run.js';

/** Options of `sandbox run` as commander parses them. */
interface RunFlags extends LimitFlags {
  net: string;
  hostname?: string;
}

const RUN_EXAMPLES = `
Examples:
  sandbox run --cpu 20% --mem 256M -- top -b -n 1
  sandbox run --cpu 1.5 --mem 1.5G --pids 512 -- make -j2
  sandbox run --cpu 50% --cpu-burst 20ms --net none -- python3 job.py

Exit status: the command's own, 128+N if it was killed by signal N (137 for an OOM kill),
125 for a sandbox error, 126 if the command can't be executed, 127 if it is not found.`;

/** Build the program; `onExit` receives the exit code of a finished run. */
export function buildProgram(onExit: (code: number) => void): Command {
  const program = new Command('sandbox')
    .description('Run commands under CPU, memory and pids limits, with /proc views that show those limits.')
    .enablePositionalOptions()
    .exitOverride()
    .configureOutput({ outputError: () => undefined }); // main() prints commander's errors our way

  const run = program
    .command('run')
    .description('run a command in new namespaces and a new cgroup, with the host root read-only')
    .addOption(new Option('--cpu <share>', 'CPU quota: 20% of one CPU, 150%, or 0.5 CPUs'))
    .addOption(new Option('--mem <size>', 'memory limit: 256M, 256MiB, 1.5G (base 1024) or 25% of host RAM'))
    .addOption(new Option('--swap <size>', 'swap allowed on top of --mem (default none)'))
    .addOption(new Option('--pids <n>', 'maximum number of tasks, or "max" (default 4096)'))
    .addOption(new Option('--cpu-period <duration>', 'CFS period, 1ms to 1s (default 100ms)'))
    .addOption(new Option('--cpu-burst <duration>', 'CFS burst credit on top of the quota, e.g. 20ms'))
    .addOption(new Option('--cpuset-cpus <list>', 'pin to these host CPUs, e.g. 0-1 or 1 (default: least-loaded)'))
    .addOption(new Option('--cpu-weight <n>', 'relative CPU weight, 1 to 10000 (default 100)'))
    .addOption(new Option('--net <mode>', 'network: host, or none (new namespace, loopback only)').default('host'))
    .addOption(new Option('--hostname <name>', 'hostname inside (default sandbox-<id>)'))
    .argument('<command...>', 'the command to run and its arguments')
    .passThroughOptions()
    .addHelpText('after', RUN_EXAMPLES)
    .action(async (command: string[], flags: RunFlags) => {
      if (flags.net !== 'none' && flags.net !== 'host') throw new UsageError('--net', `expected "none" or "host", got "${flags.net}"`);
      if (flags.hostname !== undefined && !/^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/.test(flags.hostname)) {
        throw new UsageError('--hostname', `expected letters, digits and inner dashes (at most 63), got "${flags.hostname}"`);
      }
      const host = await readHostFacts();
      const limits = resolveLimits(flags, host);
      if (process.getuid?.() !== 0) throw new SandboxError('run: needs root (cgroups, namespaces and a FUSE mount); try sudo');
      onExit(
        await runSandbox({
          limits,
          command,
          net: flags.net,
          hostname: flags.hostname ?? null,
          env: process.env,
          workdir: process.cwd(),
          onlineCpus: host.onlineCpus,
        }),
      );
    });
  rejectRepeatedOptions(run);

  program
    .command('gc')
    .description('remove cgroups, mounts and state left by sandboxes whose supervisor died')
    .action(async () => {
      if (process.getuid?.() !== 0) throw new SandboxError('gc: needs root (it removes cgroups and mounts); try sudo');
      for (const id of await collectGarbage()) process.stdout.write(`removed ${id}\n`);
    });

  return program;
}

/** Turn anything thrown by the program into an exit code, printing one line for errors. */
export function exitCodeFor(err: unknown, write: (line: string) => void): number {
  if (err instanceof CommanderError) {
    if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help') return 0;
    // commander puts its suggestion on a second line ("(Did you mean --mem?)"): join it.
    write(`sandbox: ${oneLine(err.message.replace(/^error: /, '').replace(/\n+/g, ' '))}`);
    return EXIT_SANDBOX_ERROR;
  }
  if (err instanceof SandboxError) {
    write(`sandbox: ${oneLine(err.message)}`);
    return err.exitCode;
  }
  write(`sandbox: internal error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
  return EXIT_SANDBOX_ERROR;
}
