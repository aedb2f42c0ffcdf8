// The lifecycle commands (ps, stats, exec, update, kill, stop, events, doctor, commit), bench and procfs,
// one file each, registered on the program built in cli.ts.
import type { Command } from 'commander';
import { registerBench } from './bench.js';
import { registerCommit } from './commit.js';
import { registerDoctor } from './doctor.js';
import { registerEvents } from './events.js';
import { registerExec } from './exec.js';
import { registerKill } from './kill.js';
import { registerProcfsCommands } from './procfs.js';
import { registerPs } from './ps.js';
import { registerStats } from './stats.js';
import { registerUpdate } from './update.js';

/** Add the lifecycle subcommands and bench; `onExit` receives the exit code of `exec`, `doctor` and `bench`. */
export function registerLifecycleCommands(program: Command, onExit: (code: number) => void): void {
  registerPs(program);
  registerStats(program);
  registerExec(program, onExit);
  registerUpdate(program);
  registerKill(program);
  registerEvents(program);
  registerDoctor(program, onExit);
  registerBench(program, onExit);
  registerProcfsCommands(program, onExit);
  registerCommit(program);
}
