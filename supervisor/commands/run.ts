// `sandbox run`: its commander options (the --help text), the validation of its flags into a
// RunRequest (supervisor/run.ts runs it), and the background supervisor's report of `run -d`.
import { Option, type Command } from 'commander';
import { UsageError } from '../errors.js';
import { rejectRepeatedOptions } from '../flags.js';
import { readHostFacts } from '../host.js';
import { resolveLimits, type LimitFlags } from '../limits.js';
import type { RunRequest } from '../run/launch.js';
import { runSandbox } from '../run.js';
import { detach, isDetachedSupervisor, reportToForeground } from './detach.js';
import { exitCodeFor } from './exit-code.js';
import { requireRoot } from './root.js';
import { checkWorkdir, collect, parseTimeout, parseUser, workloadEnv } from './run-options.js';
import { validateName } from '../names.js';
import { parseNet, resolveNet } from '../net/mode.js';
import { resolveFilesystem, rootfsWorkdir, type FilesystemFlags } from '../rootfs.js';
import { heldCapabilities, resolveSecurity, type SecurityFlags } from '../security.js';
import { diskOwner } from '../idmap.js';
import { checkKeptIds, layersHoldingHostIds } from '../kept-ids.js';
import { chooseUsernsRange, parseUsernsMode, readIdDatabase } from '../userns.js';

/** Options of `sandbox run` as commander parses them. */
interface RunFlags extends LimitFlags, FilesystemFlags, SecurityFlags {
  net?: string;
  publish?: string[];
  hostname?: string;
  detach?: boolean;
  name?: string;
  env?: string[];
  clearenv?: boolean;
  workdir?: string;
  timeout?: string;
  user?: string;
  tty?: boolean;
  interactive?: boolean;
  userns?: string | boolean;
}

const RUN_EXAMPLES = `
Examples:
  sandbox run --cpu 20% --mem 256M -- top -b -n 1
  sandbox run --cpu 1.5 --mem 1.5G --pids 512 -- make -j2
  sandbox run --cpu 50% --cpu-burst 20ms --net none -- python3 job.py
  sandbox run -it -- sh                    # an interactive shell on a pty (top, vi, job control work)
  sandbox run -d --name web --mem 512M -- python3 -m http.server   # prints the id
  sandbox run -d --name api -p 127.0.0.1:8080:8000 -- python3 -m http.server   # curl 127.0.0.1:8080 on the host
  sandbox run --net sandbox:api -- curl -s 127.0.0.1:8000   # shares api's network namespace
  sandbox run --timeout 30s --env MODE=ci --workdir /srv/app -- ./test.sh
  sandbox run -v /srv/data:/data -- sh   # root inside is uid 100000 outside (the default user namespace)
  sandbox run --userns=host -- python3 -m http.server 80   # no user namespace: host root (port 80 under --net host)
  sandbox run --rootfs /srv/img --layer /srv/app-layer -v /data:/data:ro --tmpfs /run -- sh
  sandbox run --cap-add SYS_ADMIN --security-opt seccomp=unconfined -- unshare -m mount -t tmpfs none /mnt
  sandbox run --device-write-bps /dev/vda:2M --io-weight 200 -- dd if=/dev/zero of=out bs=1M count=8 oflag=direct

Exit status: the command's own, 128+N if it was killed by signal N (137 for an OOM kill),
125 for a sandbox error, 126 if the command can't be executed, 127 if it is not found,
124 if --timeout killed it. With -d: 0 once the sandbox runs (its id on stdout), else 125.`;

/** Validate the flags of `sandbox run` and build the request (throws UsageError on a bad value). */
async function runRequest(command: string[], flags: RunFlags): Promise<RunRequest> {
  parseNet(flags.net, flags.publish ?? []); // syntax first: a bad -p needs no root
  if (flags.hostname !== undefined && !/^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/.test(flags.hostname)) {
    throw new UsageError(
      '--hostname',
      `expected letters, digits and inner dashes (at most 63), got "${flags.hostname}"`,
    );
  }
  const name = flags.name === undefined ? null : validateName(flags.name);
  const env = workloadEnv(process.env, flags.env ?? [], flags.clearenv === true);
  const fs = resolveFilesystem(flags);
  const ownRoot = fs.layers.length > 0;
  const workdir = ownRoot
    ? rootfsWorkdir(flags.workdir)
    : flags.workdir === undefined
      ? process.cwd()
      : checkWorkdir(flags.workdir);
  const timeoutMs = flags.timeout === undefined ? null : parseTimeout(flags.timeout);
  const user = flags.user === undefined ? null : parseUser(flags.user);
  resolveSecurity(flags, heldCapabilities()); // bad names are usage errors, before the root check
  // The default is a user namespace, with a root of its own too (its layers are ID-mapped with the
  // namespace's mapping: native/stage/rootfs.c map_layers).
  const usernsMode = parseUsernsMode(flags.userns);
  const userns = usernsMode === 'private' ? chooseUsernsRange(readIdDatabase()) : null;
  if (fs.keep !== null) checkKeptIds(fs.keep, userns);
  fs.hostIdLayers = layersHoldingHostIds(fs.layers, userns);
  if (userns && user && (user.uid >= userns.count || user.gid >= userns.count)) {
    throw new UsageError(
      '--user',
      `with a user namespace (the default) the ids are inside it, below ${userns.count}; got "${flags.user}" (--userns=host for host ids)`,
    );
  }
  // What the workload writes in its workdir and writable volumes belongs on disk to this owner
  // (idmap.ts); in a root of its own the workdir is the image's, and the owner is the cwd's.
  const idmap = userns ? diskOwner(process.env, ownRoot ? process.cwd() : workdir) : null;
  if (flags.tty && flags.detach)
    throw new UsageError('--tty', 'a terminal needs the foreground: -t and -d together are not supported');
  const host = await readHostFacts();
  const limits = resolveLimits(flags, host);
  requireRoot('run');
  const net = await resolveNet(flags.net, flags.publish ?? []);
  // Without a network namespace of its own, no CAP_NET_RAW unless asked for (security.ts).
  const security = resolveSecurity(flags, heldCapabilities(), net.mode === 'host');
  return {
    limits,
    command,
    net,
    hostname: flags.hostname ?? null,
    env,
    workdir,
    onlineCpus: host.onlineCpus,
    name,
    timeoutMs,
    user,
    fs,
    tty: flags.tty === true,
    security,
    userns,
    idmap,
  };
}

/** Register `sandbox run`; `onExit` receives the exit code of the finished run. */
export function registerRun(program: Command, onExit: (code: number) => void): void {
  const run = program
    .command('run')
    .description('run a command in new namespaces and a new cgroup, with the host root read-only');
  for (const option of [...limitOptions(), ...processOptions(), ...filesystemOptions(), ...confinementOptions()])
    run.addOption(option);
  run
    .argument('<command...>', 'the command to run and its arguments')
    .passThroughOptions()
    .addHelpText('after', RUN_EXAMPLES)
    .action(async (command: string[], flags: RunFlags) => {
      if (flags.detach && !isDetachedSupervisor()) return onExit(await detach());
      if (!isDetachedSupervisor()) return onExit(await runSandbox(await runRequest(command, flags)));
      // The background supervisor of `run -d`: its stderr is /dev/null, so the outcome of the
      // start goes to the foreground over the report pipe (commands/detach.ts).
      try {
        const req = await runRequest(command, flags);
        onExit(await runSandbox({ ...req, detached: true, onStarted: (id) => reportToForeground(`started ${id}`) }));
      } catch (err) {
        let line = '';
        const code = exitCodeFor(err, (l) => (line = l));
        reportToForeground(`error ${code} ${line}`);
        onExit(code);
      }
    });
  rejectRepeatedOptions(run);
}

/** The resource limits: CPU, memory, pids, block I/O. */
function limitOptions(): Option[] {
  return [
    new Option('--cpu <share>', 'CPU quota: 20% of one CPU, 150%, or 0.5 CPUs'),
    new Option('--mem <size>', 'memory limit: 256M, 256MiB, 1.5G (base 1024) or 25% of host RAM'),
    new Option('--swap <size>', 'swap allowed on top of --mem (default none)'),
    new Option('--pids <n>', 'maximum number of tasks, or "max" (default 4096)'),
    new Option('--cpu-period <duration>', 'CFS period, 1ms to 1s (default 100ms)'),
    new Option('--cpu-burst <duration>', 'CFS burst credit on top of the quota, e.g. 20ms'),
    new Option('--cpuset-cpus <list>', 'pin to these host CPUs, e.g. 0-1 or 1 (default: least-loaded)'),
    new Option('--cpu-weight <n>', 'relative CPU weight, 1 to 10000 (default 100)'),
    new Option('--io-weight <n>', 'relative block I/O weight, 1 to 1000 (default 100; effective on bfq disks)'),
    new Option(
      '--device-read-bps <dev:rate>',
      'read at most RATE bytes/s from whole disk DEV, e.g. /dev/vda:10M (repeatable)',
    ).argParser(collect),
    new Option(
      '--device-write-bps <dev:rate>',
      'write at most RATE bytes/s to whole disk DEV, e.g. /dev/vda:2M (repeatable)',
    ).argParser(collect),
    new Option('--device-read-iops <dev:n>', 'at most N read requests/s on DEV (repeatable)').argParser(collect),
    new Option('--device-write-iops <dev:n>', 'at most N write requests/s on DEV (repeatable)').argParser(collect),
  ];
}

/** The network, the environment, the user and how the command is attached. */
function processOptions(): Option[] {
  return [
    new Option(
      '--net <mode>',
      'network: host (default), none (loopback only), private (user-mode networking, pasta), sandbox:ID (join its network)',
    ),
    new Option(
      '-p, --publish <[ip:]host:port[/proto]>',
      'publish a port of the sandbox on the host, e.g. 127.0.0.1:8080:80 (repeatable; implies --net private)',
    ).argParser(collect),
    new Option('--hostname <name>', 'hostname inside (default sandbox-<id>)'),
    new Option('-d, --detach', "run in the background and print the id (the command's stdio is /dev/null)"),
    new Option('--name <name>', 'a name, unique among running sandboxes, for ps/exec/kill/stop/update'),
    new Option('-e, --env <name=value>', 'set a variable (repeatable); a bare NAME copies it from here').argParser(
      collect,
    ),
    new Option('--clearenv', 'start from an empty environment (then --env)'),
    new Option('-w, --workdir <dir>', 'working directory (absolute, bound writable; default: the current one)'),
    new Option(
      '-u, --user <uid[:gid]>',
      'run the command as this numeric user and group (default gid = uid), with no capabilities',
    ),
    new Option(
      '--userns [mode]',
      'default: a user namespace, root inside is uid 100000 outside (or the "sandbox" entry of /etc/subuid), 65536 ids; =host: none, root inside is host root',
    ),
    new Option('-i, --interactive', 'pass stdin to the command (always so in the foreground; -d gives it /dev/null)'),
    new Option(
      '-t, --tty',
      'give the command a terminal (a pty of its own), relayed to this one in raw mode; implies -i',
    ),
    new Option('--timeout <duration>', 'SIGTERM the command after 30s, 1.5m, 250ms…, SIGKILL 2 s later; exit 124'),
  ];
}

/** The filesystem: a root of its own, its layers, binds and tmpfs. */
function filesystemOptions(): Option[] {
  return [
    new Option('--rootfs <dir>', 'root of its own: pivot_root into an overlay of DIR with a throwaway writable layer'),
    new Option('--layer <dir>', 'overlay layer (repeatable, lowest first; above --rootfs if given)').argParser(collect),
    new Option(
      '--keep <dir>',
      'keep the writable layer in DIR/upper (with --rootfs/--layer) instead of throwing it away',
    ),
    new Option('-v, --volume <src:dst[:ro]>', 'bind host path SRC on DST, read-only with :ro (repeatable)').argParser(
      collect,
    ),
    new Option('--tmpfs <dst[:size]>', 'a private tmpfs on DST, e.g. /run:64M (repeatable)').argParser(collect),
  ];
}

/** Capabilities, the syscall filter and a read-only root. */
function confinementOptions(): Option[] {
  return [
    new Option(
      '--cap-add <cap>',
      'add a capability (docker names: SYS_ADMIN, CAP_NET_ADMIN, ALL; repeatable)',
    ).argParser(collect),
    new Option('--cap-drop <cap>', 'drop a capability (CHOWN, CAP_KILL, ALL; repeatable)').argParser(collect),
    new Option('--security-opt <opt>', 'seccomp=unconfined: no syscall filter (repeatable; see SECURITY.md)').argParser(
      collect,
    ),
    new Option('--read-only', 'nothing of the root is writable: no writable layer, the workdir not bound writable'),
  ];
}
