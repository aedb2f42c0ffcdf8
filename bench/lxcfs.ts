// lxcfs as a peer for the view benchmarks: Debian's lxcfs, started by the bench on a mountpoint of
// its own (never the host-wide /var/lib/lxcfs), stopped and unmounted afterwards. lxcfs serves the
// cgroup of the init of the reader's pid namespace (lxcfs's proc_fuse.c looks up the reader's
// pid namespace init), so a reader inside a sandbox makes it serve that sandbox's cgroup.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

/** A running lxcfs of ours. */
export interface Lxcfs {
  /** Its pid (to sample its CPU time). */
  pid: number;
  /** Where its /proc files are: `${procDir}/meminfo` … */
  procDir: string;
  /** Stop it and remove its mountpoint. */
  stop(): Promise<void>;
}

/** Install lxcfs from Debian when missing; the reason it can't be had, or null. */
export function ensureLxcfs(): string | null {
  if (spawnSync('sh', ['-c', 'command -v lxcfs']).status === 0) return null;
  process.stderr.write('bench: installing lxcfs (apt-get install lxcfs)\n');
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  let r = spawnSync('apt-get', ['install', '-y', '--no-install-recommends', 'lxcfs'], {
    env,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  if (r.status !== 0) {
    spawnSync('apt-get', ['update'], { env, stdio: 'ignore' });
    r = spawnSync('apt-get', ['install', '-y', '--no-install-recommends', 'lxcfs'], {
      env,
      stdio: ['ignore', 'ignore', 'pipe'],
    });
  }
  return r.status === 0 ? null : `apt-get install lxcfs failed: ${String(r.stderr).trim().split('\n').pop()}`;
}

function mounted(dir: string): boolean {
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .some((l) => l.split(' ')[4] === dir);
}

/** Start lxcfs in the foreground on `${dir}/mnt` (with --enable-cfs and -l, as a CPU-aware deployment runs it). */
export async function startLxcfs(dir: string): Promise<Lxcfs> {
  const mnt = `${dir}/mnt`;
  mkdirSync(mnt, { recursive: true });
  const child: ChildProcess = spawn('lxcfs', ['-f', '-l', '--enable-cfs', '-p', `${dir}/lxcfs.pid`, mnt], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  for (let i = 0; i < 200 && !existsSync(`${mnt}/proc/meminfo`); i++) {
    if (child.exitCode !== null) throw new Error(`lxcfs exited ${child.exitCode}: ${stderr.trim()}`);
    await sleep(25);
  }
  if (!existsSync(`${mnt}/proc/meminfo`)) throw new Error(`lxcfs did not mount ${mnt} within 5 s: ${stderr.trim()}`);
  return {
    pid: child.pid!,
    procDir: `${mnt}/proc`,
    stop: async () => {
      child.kill('SIGTERM'); // lxcfs unmounts itself on SIGTERM
      await Promise.race([exited, sleep(3000)]);
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGKILL');
        await exited;
      }
      if (mounted(mnt)) spawnSync('fusermount', ['-uz', mnt]);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
