// `sandbox procfs serve` (the views daemon for containers we did not start) and `sandbox oci-hook`
// (the OCI runtime hook that registers containers with it). The work is in procfs/daemon/.
import { isAbsolute } from 'node:path';
import { text } from 'node:stream/consumers';
import type { Command } from 'commander';
import { UsageError } from '../errors.js';
import { runOciHook } from '../../procfs/daemon/oci-hook.js';
import { DEFAULT_MOUNT, DEFAULT_SOCKET, LXCFS_DIR, serveProcfs } from '../../procfs/daemon/serve.js';
import { keepProcfs } from '../../procfs/daemon/keeper.js';
import { keeperLink } from '../../procfs/daemon/keeper-link.js';
import { adoptedConnection } from '../../procfs/daemon/reexec.js';
import { requireRoot } from './root.js';

const SERVE_EXAMPLES = `
Examples:
  sandbox procfs serve                     # views at ${DEFAULT_MOUNT}, API at ${DEFAULT_SOCKET}
  sandbox procfs serve --mount /run/v/mnt --socket /run/v/api.sock
  sandbox procfs serve --mount ${LXCFS_DIR}      # where lxcfs recipes look (refused if something is mounted there)

DIR/proc/meminfo, cpuinfo, stat, uptime, loadavg, swaps, diskstats and DIR/sys/devices/system/cpu/online
(lxcfs's layout; DIR/proc/pressure/* on cgroup v2) answer each reader for its own cgroup: bind them
into a container (docker run -v DIR/proc/meminfo:/proc/meminfo:ro …), no registration needed.
Containers registered by the OCI hook are served under DIR/<container-id>/ as well.

Runs in the foreground until SIGTERM or SIGINT, then unmounts. The process holds the FUSE
connection and runs the server as its child: SIGHUP restarts the server from the CLI on disk (an
upgrade of the server), SIGUSR2 re-executes the holding process itself from the CLI on disk, same
pid, the connection kept (an upgrade of everything), and a server that dies is restarted at once;
readers wait, no read fails. Registrations
survive a restart of the whole daemon too: the next start binds fresh views into every registered
container that still runs.`;

const HOOK_EXAMPLES = `
Wire it into an OCI bundle's config.json (the state comes on stdin):
  "hooks": {
    "createContainer": [{ "path": "/usr/local/bin/sandbox", "args": ["sandbox", "oci-hook"] }],
    "poststop": [{ "path": "/usr/local/bin/sandbox", "args": ["sandbox", "oci-hook", "poststop"] }]
  }
Without a running daemon it warns and exits 0 (the container starts without views).`;

/** An absolute path flag, or a UsageError naming it. */
function absolute(flag: string, value: string): string {
  if (!isAbsolute(value) || value.includes('\n'))
    throw new UsageError(flag, `expected an absolute path, got "${value}"`);
  return value.replace(/\/+$/, '') || '/';
}

/** Add `procfs serve` and `oci-hook`; `onExit` receives their exit codes. */
export function registerProcfsCommands(program: Command, onExit: (code: number) => void): void {
  const procfs = program.command('procfs').description('the /proc views daemon for runc/crun containers');
  procfs
    .command('serve')
    .description(
      "serve /proc views: lxcfs's layout for every reader's own cgroup, and registered containers (foreground, until SIGTERM/SIGINT)",
    )
    .option(
      '--mount <dir>',
      `FUSE mountpoint: DIR/proc/meminfo … (lxcfs's layout), DIR/<container-id>/proc/meminfo …; ${LXCFS_DIR} for lxcfs's recipes`,
      DEFAULT_MOUNT,
    )
    .option('--socket <path>', 'the registration API (JSON lines, mode 0600)', DEFAULT_SOCKET)
    .addHelpText('after', SERVE_EXAMPLES)
    .action(async (flags: { mount: string; socket: string }) => {
      const mountDir = absolute('--mount', flags.mount);
      const socketPath = absolute('--socket', flags.socket);
      requireRoot('procfs serve');
      const log = (line: string): void => void process.stderr.write(`sandbox-procfs: ${line}\n`);
      // The keeper's child (procfs/daemon/keeper.ts) serves; the keeper holds the connection.
      const keeper = keeperLink();
      // An earlier image of this process (SIGUSR2) mounted the connection and handed it over.
      const adopted = keeper ? null : adoptedConnection();
      if (keeper) return onExit(await serveProcfs({ mountDir, socketPath, log, stop: keeper.stop, keeper }));
      const stop = new Promise<void>((resolve) => {
        process.once('SIGTERM', () => resolve());
        process.once('SIGINT', () => resolve());
      });
      onExit(
        await keepProcfs({
          mountDir,
          socketPath,
          log,
          stop,
          adopted,
          onReload: (reload) => process.on('SIGHUP', reload),
          onUpgrade: (upgrade) => process.on('SIGUSR2', upgrade),
        }),
      );
    });

  program
    .command('oci-hook')
    .description('OCI hook: register a container with the views daemon (createContainer) or unregister it (poststop)')
    .argument('[stage]', 'createContainer (default, or detected from the state) or poststop')
    .option('--socket <path>', "the daemon's API socket", DEFAULT_SOCKET)
    .addHelpText('after', HOOK_EXAMPLES)
    .action(async (stage: string | undefined, flags: { socket: string }) => {
      if (stage !== undefined && stage !== 'poststop' && stage !== 'createContainer' && stage !== 'create') {
        throw new UsageError('oci-hook', `stage "${stage}": expected createContainer or poststop`);
      }
      const socketPath = absolute('--socket', flags.socket);
      requireRoot('oci-hook');
      onExit(
        await runOciHook(
          stage,
          await text(process.stdin),
          socketPath,
          (line) => void process.stderr.write(`${line}\n`),
        ),
      );
    });
}
