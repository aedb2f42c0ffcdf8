// The lifecycle commands (ps, stats, exec, update, kill, stop, events, doctor, commit), one file each, registered on the
// program built in cli.ts.
import type { Command } from 'commander';
import { registerCommit } from './commit.js';
import { registerDoctor } from './doctor.js';
import { registerEvents } from './events.js';
import { registerExec } from './exec.js';
import { registerKill } from './kill.js';
import { registerPs } from './ps.js';
import { registerStats } from './stats.js';
import { registerUpdate } from './update.js';

/** Add the lifecycle subcommands; `onExit` receives the exit code of `exec` and `doctor`. */
export function registerLifecycleCommands(program: Command, onExit: (code: number) => void): void {
  registerPs(program);
  registerStats(program);
  registerExec(program, onExit);
  registerUpdate(program);
  registerKill(program);
  registerEvents(program);
  registerDoctor(program, onExit);
  registerCommit(program);
}
