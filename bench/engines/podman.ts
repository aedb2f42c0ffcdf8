// Debian's podman run by a test or the bench with state of its own: storage root, run root, tmp
// dir, events log and hooks directory in the caller's 0700 directory; containers.conf,
// storage.conf and registries.conf of the caller's (CONTAINERS_CONF, CONTAINERS_STORAGE_CONF,
// CONTAINERS_REGISTRIES_CONF) so the host's are not read; runc (Debian's crun 1.8 refuses cgroup
// v1 hybrid hosts), the cgroupfs manager with containers and conmon under a cgroup of the caller's,
// no network. podman is no daemon: each command is a process that ends, and conmon, which stays
// beside a running container, lives in the box (libpod puts it in `<cgroup-parent>/conmon`).
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { promisify } from 'node:util';
import type { CgroupBox } from './cgroup-box.js';

const run = promisify(execFile);

/** Debian's podman. */
const PODMAN = '/usr/bin/podman';

/** What running Debian's podman needs that is missing (packages the set-up installs), or null. */
export function podmanMissing(): string | null {
  for (const f of [PODMAN, '/usr/bin/conmon', '/usr/bin/runc', '/usr/bin/unshare']) {
    if (!existsSync(f)) return `needs ${f} (Debian podman, conmon, runc, util-linux; native/setup.sh installs them)`;
  }
  return null;
}

/** A podman of the caller's. */
export interface Podman {
  readonly hooksDir: string;
  /** `podman GLOBAL-FLAGS ARGS…` with the caller's configuration; rejects with podman's stderr. */
  podman(args: string[]): Promise<{ stdout: string; stderr: string }>;
  /** The same command as argv, and the variables to add to the environment (for the caller to spawn and time). */
  argv(args: string[]): [string, string[]];
  readonly env: Record<string, string>;
  /**
   * `podman import TAR NAME` in a mount namespace of its own with a tmpfs on /var/lib: containers/image
   * keeps its blob-info cache in /var/lib/containers/cache for root whatever the storage root
   * (pkg/blobinfocache/default.go), and podman 4.3 has no flag to move it.
   */
  importImage(tar: string, name: string): Promise<string>;
  /** The run flags that put a container under the caller's cgroup. */
  readonly runFlags: string[];
}

/**
 * Limits podman asks for by default as root (RLIMIT_NOFILE/NPROC 1048576) need CAP_SYS_RESOURCE to
 * raise a hard limit; a host without it (this kind of machine) fails `runc create` with EPERM.
 * Keep them at most at this process's own hard limits, or docker's 1024 open files.
 */
function ulimits(): string[] {
  const limits = readFileSync('/proc/self/limits', 'utf8');
  const hard = (name: string) => Number(new RegExp(`^${name}\\s+\\S+\\s+(\\d+)`, 'm').exec(limits)?.[1] ?? 1024);
  return [
    `nofile=${Math.min(1024, hard('Max open files'))}:${Math.min(1024, hard('Max open files'))}`,
    `nproc=${Math.min(4096, hard('Max processes'))}:${Math.min(4096, hard('Max processes'))}`,
  ];
}

/** Set up podman's files under dir (a 0700 directory of the caller's). */
export function setUpPodman(dir: string, box: CgroupBox): Podman {
  for (const d of ['root', 'run', 'tmp', 'hooks', 'net']) mkdirSync(`${dir}/${d}`, { recursive: true, mode: 0o700 });
  writeFileSync(
    `${dir}/containers.conf`,
    [
      '[containers]',
      'netns = "none"',
      `default_ulimits = [${ulimits()
        .map((u) => `"${u}"`)
        .join(', ')}]`,
      '[engine]',
      'cgroup_manager = "cgroupfs"',
      'events_logger = "file"',
      `events_logfile_path = "${dir}/tmp/events.log"`,
      'runtime = "runc"',
      `hooks_dir = ["${dir}/hooks"]`,
      `tmp_dir = "${dir}/tmp"`,
      `volume_path = "${dir}/root/volumes"`,
      `static_dir = "${dir}/root/libpod"`,
      '[network]',
      `network_config_dir = "${dir}/net"`,
      '',
    ].join('\n'),
  );
  writeFileSync(
    `${dir}/storage.conf`,
    `[storage]\ndriver = "overlay"\ngraphroot = "${dir}/root"\nrunroot = "${dir}/run"\n`,
  );
  writeFileSync(`${dir}/registries.conf`, 'unqualified-search-registries = []\n');
  const env = {
    CONTAINERS_CONF: `${dir}/containers.conf`,
    CONTAINERS_STORAGE_CONF: `${dir}/storage.conf`,
    CONTAINERS_REGISTRIES_CONF: `${dir}/registries.conf`,
    TMPDIR: `${dir}/tmp`,
  };
  const global = [
    '--root',
    `${dir}/root`,
    '--runroot',
    `${dir}/run`,
    '--tmpdir',
    `${dir}/tmp`,
    '--hooks-dir',
    `${dir}/hooks`,
    '--runtime',
    'runc',
    '--cgroup-manager',
    'cgroupfs',
    '--events-backend',
    'file',
    '--storage-driver',
    'overlay',
  ];
  const argv = (args: string[]): [string, string[]] => [PODMAN, [...global, ...args]];
  const podman = (args: string[]) => run(...argv(args), { env: { ...process.env, ...env }, maxBuffer: 16 << 20 });
  return {
    hooksDir: `${dir}/hooks`,
    podman,
    argv,
    env,
    importImage: async (tar, name) => {
      const script = `mount -t tmpfs -o mode=0700,size=16m sandbox-engines-cache /var/lib && exec "$@"`;
      const { stdout } = await run(
        'unshare',
        ['-m', '--propagation', 'private', 'sh', '-c', script, 'sh', PODMAN, ...global, 'import', '--quiet', tar, name],
        { env: { ...process.env, ...env } },
      );
      return stdout.trim();
    },
    runFlags: ['--cgroup-parent', box.containersParent],
  };
}
