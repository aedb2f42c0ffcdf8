// `sandbox gc`: remove what sandboxes of dead supervisors left behind (supervisor/gc.ts); prints
// each removed id.
import type { Command } from 'commander';
import { SandboxError } from '../errors.js';
import { collectGarbage } from '../gc.js';

/** Register `sandbox gc`. */
export function registerGc(program: Command): void {
  program
    .command('gc')
    .description('remove cgroups, mounts and state left by sandboxes whose supervisor died')
    .action(async () => {
      if (process.getuid?.() !== 0) throw new SandboxError('gc: needs root (it removes cgroups and mounts); try sudo');
      for (const id of await collectGarbage()) process.stdout.write(`removed ${id}\n`);
    });
}
