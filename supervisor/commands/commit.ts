// `sandbox commit ID|NAME DIR`: write a running sandbox's writable layer as a new layer directory
// (supervisor/commit.ts); prints DIR's absolute path. Errors: one line, exit 125.
import type { Command } from 'commander';
import { commitLayer } from '../commit.js';
import { runningSandbox } from '../lookup.js';
import { requireRoot } from './root.js';

/** Register `sandbox commit`. */
export function registerCommit(program: Command): void {
  program
    .command('commit')
    .description(
      "write a running sandbox's writable layer (--rootfs/--layer) as a new layer directory DIR, for --layer DIR",
    )
    .argument('<sandbox>', 'id, unique id prefix, or name')
    .argument('<dir>', "the new layer: a missing or empty directory, not on the sandbox's own layers")
    .addHelpText(
      'after',
      `
Examples:
  sandbox commit web /srv/layers/web-v2
  sandbox run --rootfs /srv/images/base --layer /srv/layers/web-v2 -- sh

The sandbox is frozen while its layer is copied. Not committed: /etc/hostname, /etc/hosts,
/etc/resolv.conf, the mount points /proc, /sys, /dev, /tmp, and volume and --tmpfs targets.`,
    )
    .action(async (ref: string, dir: string) => {
      requireRoot('commit');
      const { state, cgroup, procs } = await runningSandbox(ref);
      process.stdout.write(`${await commitLayer(state, cgroup, procs.init!, dir)}\n`);
    });
}
