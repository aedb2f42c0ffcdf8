// The command line: one commander program whose option definitions drive parsing, validation and
// --help. Usage errors are our exit code 125 (exitOverride), not commander's 1, and everything after
// the command is the workload's (passThroughOptions: `sandbox run ls -l` passes -l to ls).
import { Command } from 'commander';
import { registerLifecycleCommands } from './commands/index.js';
import { registerGc } from './commands/gc.js';
import { registerMonitorExit } from './commands/monitor-exit.js';
import { registerRun } from './commands/run.js';

/** The package's version, which native/compile-ts.sh defines in the CLI bundle from package.json. */
declare const SANDBOX_VERSION: string;
/** What `sandbox --version` prints: "sandbox 0.1.0" (code that is not the bundle says "unbuilt"). */
const VERSION_LINE = `sandbox ${typeof SANDBOX_VERSION === 'string' ? SANDBOX_VERSION : 'unbuilt'}`;

/** Build the program; `onExit` receives the exit code of a finished run. */
export function buildProgram(onExit: (code: number) => void): Command {
  const program = new Command('sandbox')
    .description('Run commands under CPU, memory and pids limits, with /proc views that show those limits.')
    .version(VERSION_LINE, '-V, --version', 'print the version')
    .enablePositionalOptions()
    .exitOverride()
    .configureOutput({ outputError: () => undefined }); // main() prints commander's errors our way

  registerRun(program, onExit);
  registerGc(program);
  registerMonitorExit(program);
  registerLifecycleCommands(program, onExit);
  return program;
}
