// Debian's dockerd (docker.io) started and stopped by a test or the bench, confined to state of
// its own: data, exec root (its own containerd, started by dockerd under the exec root since no
// --containerd is given), socket and pid file in the caller's 0700 directory, no bridge, no
// iptables, no userland proxy, an empty --config-file (so /etc/docker/daemon.json is not read),
// the client's configuration there too (DOCKER_CONFIG, not ~/.docker), and its containers under a
// cgroup of the caller's own. It runs in a mount namespace of its own (slave: host mounts made
// later, such as a views server's, still reach it; its own never reach the host) where a tmpfs
// covers /run and the caller's directory covers /etc/docker: dockerd 20.10 writes
// /etc/docker/key.json (daemon/daemon.go loadOrCreateTrustKey, no flag moves it) and
// /run/docker/plugins (pkg/plugins/discovery_unix.go) whatever its flags say.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { promisify } from 'node:util';
import type { CgroupBox } from './cgroup-box.js';
import { waitFor } from './wait.js';

const run = promisify(execFile);

/** Debian's client: another `docker` (e.g. /usr/local/bin's) may come first on PATH. */
const DOCKER = '/usr/bin/docker';
/** Debian's daemon. */
const DOCKERD = '/usr/sbin/dockerd';

/** What running Debian's docker.io needs that is missing (packages the set-up installs), or null. */
export function dockerMissing(): string | null {
  for (const f of [DOCKER, DOCKERD, '/usr/bin/containerd', '/usr/bin/containerd-shim-runc-v2', '/usr/bin/unshare']) {
    if (!existsSync(f)) return `needs ${f} (Debian docker.io, containerd, util-linux; native/setup.sh installs them)`;
  }
  return null;
}

/** A running dockerd of the caller's. */
export interface Dockerd {
  readonly socket: string;
  readonly pid: number;
  /** `docker -H unix://SOCKET ARGS…`; rejects with docker's stderr. */
  docker(args: string[]): Promise<{ stdout: string; stderr: string }>;
  /** The same command as argv, and the variables to add to the environment (for the caller to spawn and time). */
  argv(args: string[]): [string, string[]];
  readonly env: Record<string, string>;
  log(): string;
  /** SIGTERM by pid, wait, SIGKILL after 15 s; then nothing of it may run (the box is checked by the caller). */
  stop(): Promise<void>;
}

/** Start dockerd with its state under dir (a 0700 directory of the caller's); resolves once it answers. */
export async function startDockerd(dir: string, box: CgroupBox): Promise<Dockerd> {
  for (const d of ['data', 'exec', 'etc-docker', 'client']) mkdirSync(`${dir}/${d}`, { recursive: true, mode: 0o700 });
  writeFileSync(`${dir}/daemon.json`, '{}\n');
  const socket = `${dir}/docker.sock`;
  const flags = [
    '--bridge=none',
    '--iptables=false',
    '--ip6tables=false',
    '--ip-forward=false',
    '--ip-masq=false',
    '--userland-proxy=false',
    '--data-root',
    `${dir}/data`,
    '--exec-root',
    `${dir}/exec`,
    '-H',
    `unix://${socket}`,
    '--pidfile',
    `${dir}/docker.pid`,
    '--config-file',
    `${dir}/daemon.json`,
    '--storage-driver',
    'overlay2',
    '--exec-opt',
    'native.cgroupdriver=cgroupfs',
    '--cgroup-parent',
    box.containersParent,
  ];
  // The shell joins the engine's cgroup in every hierarchy before anything of dockerd runs.
  const script = [
    'set -e',
    'for f in "$@"; do echo $$ > "$f"; done',
    'mount -t tmpfs -o mode=0755,size=16m sandbox-engines-run /run',
    `mount --bind '${dir}/etc-docker' /etc/docker`,
    `exec ${DOCKERD} ${flags.map((f) => `'${f}'`).join(' ')}`,
  ].join('\n');
  const child: ChildProcess = spawn(
    'unshare',
    ['-m', '--propagation', 'slave', 'sh', '-c', script, 'sh', ...box.daemonProcs],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const alive = () => child.exitCode === null && child.signalCode === null;
  const env = { DOCKER_CONFIG: `${dir}/client` };
  const argv = (args: string[]): [string, string[]] => [DOCKER, ['-H', `unix://${socket}`, ...args]];
  const docker = (args: string[]) => run(...argv(args), { env: { ...process.env, ...env }, maxBuffer: 16 << 20 });
  await waitFor(async () => {
    if (!alive())
      throw new Error(
        `dockerd exited (${child.exitCode ?? child.signalCode}): ${stderr.trim().split('\n').slice(-3).join(' | ')}`,
      );
    return (
      existsSync(socket) &&
      (await docker(['version', '--format', '{{.Server.Version}}']).then(
        () => true,
        () => false,
      ))
    );
  }, `dockerd to answer on ${socket}`);
  return {
    socket,
    pid: child.pid!,
    docker,
    argv,
    env,
    log: () => stderr,
    stop: async () => {
      if (alive()) {
        child.kill('SIGTERM'); // unshare exec'd sh, sh exec'd dockerd: this pid is dockerd
        const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
        await exited;
        clearTimeout(timer);
      }
      // Its containerd and shims are in the box: the caller checks box.pids() and box.remove() ends any left.
    },
  };
}

/** Mounts under dir in our mount namespace (none may be there: dockerd's stay in its own). */
export function mountsUnder(dir: string): string[] {
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((l) => l.split(' ')[4] ?? '')
    .filter((m) => m === dir || m.startsWith(`${dir}/`));
}
