// The source of lxcfs's layout that the engines bind into containers (`DIR/proc/meminfo` …,
// `DIR/sys/devices/system/cpu/online`): one function per server, so every engine test runs the
// same recipe against lxcfs or ours by changing one path. Each server runs in the foreground as
// our child on a directory of the test's own (never /var/lib/lxcfs) and is stopped by its pid.
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmdirSync } from 'node:fs';
import { CLI } from '../sandbox.js';
import { needsSetup, type Missing } from '../skip.js';
import { waitFor } from '../wait.js';

/** The files of lxcfs's layout that the recipes bind, relative to its mountpoint. */
export const LAYOUT_FILES = [
  'proc/meminfo',
  'proc/cpuinfo',
  'proc/stat',
  'proc/uptime',
  'proc/loadavg',
  'proc/swaps',
  'proc/diskstats',
  'sys/devices/system/cpu/online',
];

/** A running server of lxcfs's layout. */
export interface ViewsSource {
  /** Which server: 'lxcfs' or 'sandbox'. */
  readonly name: string;
  /** The mountpoint: `${dir}/proc/meminfo` … */
  readonly dir: string;
  readonly pid: number;
  /** Its API socket (ours: the OCI hook registers there), or null. */
  readonly socket: string | null;
  /** Its stderr so far. */
  log(): string;
  /** SIGTERM (SIGKILL after 5 s), wait for it, and detach its mount if it left one. */
  stop(): Promise<void>;
}

/** `-v SRC:DST:rw` arguments binding the layout over the container's files, as the lxcfs recipes do. */
export function layoutBinds(source: ViewsSource): string[] {
  return LAYOUT_FILES.flatMap((f) => ['-v', `${source.dir}/${f}:/${f}:rw`]);
}

/** Whether dir is a mountpoint in our mount namespace. */
function mounted(dir: string): boolean {
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .some((l) => l.split(' ')[4] === dir);
}

/** What running lxcfs needs that is missing, or null. */
export function lxcfsUnavailable(): Missing | null {
  try {
    execFileSync('lxcfs', ['--version'], { stdio: 'ignore' });
    return null;
  } catch {
    return needsSetup('needs lxcfs (Debian lxcfs; native/setup.sh installs it)');
  }
}

/** Spawn a FUSE server in the foreground, wait for `${dir}/proc/meminfo`, and wrap it. */
async function startServer(
  name: string,
  dir: string,
  cmd: string,
  args: string[],
  socket: string | null = null,
): Promise<ViewsSource> {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const child: ChildProcess = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const alive = () => child.exitCode === null && child.signalCode === null;
  await waitFor(() => {
    if (!alive())
      throw new Error(`${name} exited (${child.exitCode ?? child.signalCode}) before serving ${dir}: ${stderr.trim()}`);
    return mounted(dir) && existsSync(`${dir}/proc/meminfo`);
  }, `${name} to serve ${dir}/proc/meminfo`);
  return {
    name,
    dir,
    pid: child.pid!,
    socket,
    log: () => stderr,
    stop: async () => {
      if (alive()) {
        child.kill('SIGTERM'); // both unmount on SIGTERM
        const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
        await exited;
        clearTimeout(timer);
      }
      // Ours only: the mountpoint of this test's directory (a SIGKILLed server leaves ENOTCONN behind).
      if (mounted(dir)) spawnSync('umount', ['-l', dir]);
    },
  };
}

/** Where lxcfs keeps its cgroup mounts (in a mount namespace of its own), made on the host's /run. */
const LXCFS_RUN = '/run/lxcfs';

/** Pids of every process named lxcfs (ours and any the host runs). */
function lxcfsProcesses(): number[] {
  return readdirSync('/proc')
    .filter((p) => /^\d+$/.test(p))
    .filter((p) => {
      try {
        return readFileSync(`/proc/${p}/comm`, 'utf8') === 'lxcfs\n';
      } catch {
        return false;
      }
    })
    .map(Number);
}

/**
 * Debian's lxcfs on dir, as lxcfs.service runs it on /var/lib/lxcfs (plus --enable-cfs: CPU views
 * from the quota too, as CPU-aware deployments run it). It makes /run/lxcfs/{controllers,root} on
 * the host before it enters a mount namespace of its own for its cgroup mounts (lxcfs 5
 * bindings.c cgfs_prepare_mounts: mkdir_p, then unshare): if they were not there before, they go
 * when it stops, unless another lxcfs runs by then.
 */
async function startLxcfs(dir: string): Promise<ViewsSource> {
  const runExisted = existsSync(LXCFS_RUN);
  const server = await startServer('lxcfs', dir, 'lxcfs', ['-f', '--enable-cfs', '-p', `${dir}.pid`, dir]);
  return {
    ...server,
    stop: async () => {
      await server.stop();
      if (runExisted || lxcfsProcesses().length > 0) return;
      for (const d of [`${LXCFS_RUN}/controllers`, `${LXCFS_RUN}/root`, LXCFS_RUN]) {
        try {
          rmdirSync(d); // empty directories only: never anything with content
        } catch {
          // gone, or not empty: not ours to remove
        }
      }
    },
  };
}

/**
 * Ours: `sandbox procfs serve` on dir, lxcfs's layout at the top of its mount answered by the
 * reader's cgroup, and its API socket beside dir (for the OCI hook's registrations).
 */
function startOurs(dir: string): Promise<ViewsSource> {
  const socket = `${dir}-api.sock`;
  return startServer(
    'sandbox',
    dir,
    process.execPath,
    [CLI, 'procfs', 'serve', '--mount', dir, '--socket', socket],
    socket,
  );
}

/** The servers of the layout, each by the one function that starts it. */
export const VIEWS_SOURCES: { name: string; start: (dir: string) => Promise<ViewsSource> }[] = [
  { name: 'sandbox', start: startOurs },
  { name: 'lxcfs', start: startLxcfs },
];
