// Helpers for the OCI hook tests: the views daemon as a child process, runc/crun bundles wired to
// `sandbox oci-hook`, and what a daemon or container could leave behind.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { CLI, leftovers, removeLeftoverCgroups } from './sandbox.js';
import { needsSetup, type Missing } from './skip.js';
import { EVENT_DEADLINE_MS } from './wait.js';

/** Where the tests' daemons live: under the daemon's default parent, one directory per test process. */
export const TEST_BASE = `/run/sandbox-procfs/test-${process.pid}`;

/** A running daemon and its stderr so far. */
export interface Daemon {
  child: ChildProcess;
  log(): string;
}

/** Start `sandbox procfs serve` on base/mnt and base/api.sock; resolves once it serves. */
export function startDaemon(base: string): Promise<Daemon> {
  const child = spawn(
    process.execPath,
    [CLI, 'procfs', 'serve', '--mount', `${base}/mnt`, '--socket', `${base}/api.sock`],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`daemon not serving after ${EVENT_DEADLINE_MS} ms: ${stderr}`)),
      EVENT_DEADLINE_MS,
    );
    child.stderr!.on('data', (d: Buffer) => {
      stderr += d.toString();
      if (stderr.includes('serving views at')) {
        clearTimeout(timer);
        resolve({ child, log: () => stderr });
      }
    });
    child.on('exit', (code) => reject(new Error(`daemon exited ${code}: ${stderr}`)));
  });
}

/** What a stopped daemon left running: its own process if it is still there (by pid, checked with signal 0). */
export function daemonStillRunning(pid: number | undefined): string[] {
  if (pid === undefined) return [];
  try {
    process.kill(pid, 0);
    return [`process ${pid} (the daemon)`];
  } catch {
    return []; // gone, as it must be
  }
}

/** Stop a daemon (SIGTERM, SIGKILL after 5 s) and wait for it. */
export async function stopDaemon(d: Daemon | null, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (!d || d.child.exitCode !== null || d.child.signalCode !== null) return;
  const gone = new Promise((r) => d.child.once('exit', r));
  d.child.kill(signal);
  const timer = setTimeout(() => d.child.kill('SIGKILL'), 5000);
  await gone;
  clearTimeout(timer);
}

/** Limits of a test bundle. */
export const BUNDLE_MEM = 256 * 1024 * 1024;

/** The /proc paths runc's default spec masks and makes read-only (a bundle's linux section). */
export const PROC_MASKS = {
  maskedPaths: ['/proc/kcore', '/proc/keys', '/proc/timer_list'],
  readonlyPaths: ['/proc/sys', '/proc/sysrq-trigger'],
};

/**
 * What every test bundle's config.json shares: `args` run as root in the read-only rootfs at
 * rootfsDir, with /proc, a tmpfs /dev and a read-only /sys, then `mounts`.
 */
export function bundleBase(rootfsDir: string, args: string[], hostname: string, mounts: object[]) {
  return {
    ociVersion: '1.0.2',
    process: {
      terminal: false,
      user: { uid: 0, gid: 0 },
      args,
      env: ['PATH=/usr/bin:/bin', 'TERM=xterm'],
      cwd: '/',
      noNewPrivileges: true,
    },
    root: { path: rootfsDir, readonly: true },
    hostname,
    mounts: [
      { destination: '/proc', type: 'proc', source: 'proc' },
      {
        destination: '/dev',
        type: 'tmpfs',
        source: 'tmpfs',
        options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'],
      },
      { destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['nosuid', 'noexec', 'nodev', 'ro'] },
      ...mounts,
    ],
  };
}

/** Write bundle/config.json: the busybox rootfs at rootfsDir, 256 MiB, 50% of CPU 0, cgroupsPath relative (under the runtime's own cgroup), the hook wired in. */
export function writeBundle(
  bundle: string,
  rootfsDir: string,
  cgroupName: string,
  args: string[],
  socket: string,
): void {
  mkdirSync(bundle, { recursive: true });
  const hook = (extra: string[]) => ({
    path: process.execPath,
    args: ['node', CLI, 'oci-hook', ...extra, '--socket', socket],
  });
  const config = {
    ...bundleBase(rootfsDir, args, 'oci-test', [
      { destination: '/tmp', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'nodev'] },
    ]),
    hooks: { createContainer: [hook([])], poststop: [hook(['poststop'])] },
    linux: {
      // Relative: runc's cgroupfs driver puts it under runc's own cgroup in each hierarchy
      // (libcontainer/cgroups/fs/paths.go subsysPath: GetOwnCgroupPath for a relative path).
      cgroupsPath: cgroupName,
      resources: { memory: { limit: BUNDLE_MEM }, cpu: { quota: 50000, period: 100000, cpus: '0', mems: '0' } },
      namespaces: [{ type: 'pid' }, { type: 'ipc' }, { type: 'uts' }, { type: 'mount' }],
      ...PROC_MASKS,
    },
  };
  writeFileSync(`${bundle}/config.json`, JSON.stringify(config, null, 1));
}

/** What running runc needs that is missing (the package), or null. */
export function runcUnavailable(): Missing | null {
  try {
    execFileSync('runc', ['--version'], { stdio: 'ignore' });
    return null;
  } catch {
    return needsSetup('needs runc (Debian runc; native/setup.sh installs it)');
  }
}

/** Whether the host runs cgroup v1 hybrid (cgroup2 at /sys/fs/cgroup/unified beside v1 hierarchies): crun 1.8 refuses it. */
export function hybridCgroups(): boolean {
  return existsSync('/sys/fs/cgroup/unified') && existsSync('/sys/fs/cgroup/memory');
}

/** Mounts under /run/sandbox-procfs, as leftover lines. */
export function daemonMounts(): string[] {
  return readFileSync('/proc/self/mounts', 'utf8')
    .split('\n')
    .map((l) => l.split(' ')[1] ?? '')
    .filter((m) => m === '/run/sandbox-procfs' || m.startsWith('/run/sandbox-procfs/'))
    .map((m) => `mount ${m}`);
}

/**
 * The end of a suite that ran a daemon: stop it, remove the suite's directories and any cgroup left,
 * and say what was left behind (sandboxes, the daemon's mount at `mount`, its processes).
 */
export async function stopDaemonSuite(
  daemon: Daemon | null,
  mount: string,
  dirs: readonly string[],
): Promise<string[]> {
  const pid = daemon?.child.pid;
  await stopDaemon(daemon);
  const mounted = readFileSync('/proc/self/mounts', 'utf8').includes(` ${mount} `);
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  const left = [...leftovers(), ...(mounted ? [`mount ${mount}`] : []), ...daemonStillRunning(pid)];
  removeLeftoverCgroups();
  return left;
}
