// `sandbox gc`: remove what sandboxes of dead supervisors or monitors left behind (supervisor/gc.ts); prints
// each removed id.
import type { Command } from 'commander';
import { collectGarbage } from '../gc.js';
import { requireRoot } from './root.js';

/** Register `sandbox gc`. */
export function registerGc(program: Command): void {
  program
    .command('gc')
    .description('remove cgroups, mounts and state left by sandboxes whose supervisor (or monitor) died')
    .action(async () => {
      requireRoot('gc');
      for (const id of await collectGarbage()) process.stdout.write(`removed ${id}\n`);
    });
}
