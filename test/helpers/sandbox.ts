// Test helpers: run the built CLI as a real process, probe what a test needs, and find anything a
// sandbox left behind (cgroups, FUSE mounts, state dirs, stage processes).
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, readlinkSync, rmdirSync } from 'node:fs';
import { posix } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SUPERVISOR_LEAF } from '../../supervisor/cgroup/v2/delegate.js';
import { machineLacks, needsSetup, type Missing } from './skip.js';

/** Absolute path of the built CLI entry point. */
export const CLI = fileURLToPath(new URL('../../dist/supervisor/main.cjs', import.meta.url));
/** Absolute path of the built native stage. */
export const STAGE = fileURLToPath(new URL('../../dist/native/sandbox-stage', import.meta.url));

/**
 * Whether this kernel can ID-map a directory on dir's file system, which the default user namespace
 * needs for --rootfs/--layer (native/stage/rootfs.c map_layers): tmpfs allows it only since Linux
 * 6.3, overlayfs and 9p never (the v2 VM's /tmp). The stage's own probe, as `sandbox doctor` uses it.
 */
export function idmapUnavailable(dir: string): Missing | null {
  try {
    execFileSync(STAGE, ['--probe-idmap', dir], { stdio: ['ignore', 'pipe', 'pipe'] });
    return null;
  } catch (err) {
    const line = String((err as { stderr?: Buffer }).stderr ?? err)
      .trim()
      .split('\n')[0];
    return machineLacks(`ID-mapped mounts on the file system of ${dir}: ${line}`);
  }
}

/** Result of one CLI run. */
export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Start `sandbox ARGS…` without waiting (for signal tests). */
export function startCli(args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): ChildProcess {
  return spawn(process.execPath, [CLI, ...args], {
    cwd: opts.cwd,
    env: opts.env ?? process.env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

/** Collect a started CLI's output and exit status. */
export function finish(child: ChildProcess): Promise<CliResult> {
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve) => child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr })));
}

/** Run `sandbox ARGS…` to completion. */
export function cli(args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<CliResult> {
  return finish(startCli(args, opts));
}

/** What mounting a FUSE filesystem needs that is missing here (root, /dev/fuse), or null. */
export function fuseUnavailable(): Missing | null {
  if (process.getuid?.() !== 0) return needsSetup('needs root');
  if (!existsSync('/dev/fuse')) return needsSetup('needs /dev/fuse');
  return null;
}

/** What a real sandbox needs that is missing here (root, /dev/fuse, cgroupfs, built CLI and stage), or null. */
export function sandboxUnavailable(): Missing | null {
  const fuse = fuseUnavailable();
  if (fuse) return fuse;
  if (!existsSync('/sys/fs/cgroup/cgroup.controllers') && !existsSync('/sys/fs/cgroup/memory'))
    return needsSetup('needs a cgroup filesystem');
  return stageUnavailable() ?? cliUnavailable();
}

/** What running the native stage needs that is missing (the build), or null. */
export function stageUnavailable(): Missing | null {
  return existsSync(STAGE) ? null : needsSetup(`needs the native stage (${STAGE}); run npm run build`);
}

/** What running the built CLI needs that is missing (the build), or null. */
export function cliUnavailable(): Missing | null {
  return existsSync(CLI) ? null : needsSetup(`needs the build (${CLI}); run npm run build`);
}

/** Whether this host runs pure cgroup v2 (cgroup2 mounted on /sys/fs/cgroup itself, as in test/vm's guest). */
export const HOST_IS_V2 = existsSync('/sys/fs/cgroup/cgroup.controllers');

/** This process's own cgroup directory in every mounted hierarchy (from /proc/self/cgroup). */
export function ownCgroupDirs(): string[] {
  const dirs: string[] = [];
  for (const line of readFileSync('/proc/self/cgroup', 'utf8').trim().split('\n')) {
    const [, controllers = '', path = '/'] = line.split(':');
    if (controllers.startsWith('name=')) continue;
    const base = controllers === '' ? ['/sys/fs/cgroup/unified', '/sys/fs/cgroup'] : [`/sys/fs/cgroup/${controllers}`];
    // v2: once a supervisor moved this process into <own>/sandbox-supervisor (the no internal
    // processes rule, supervisor/cgroup/v2/delegate.ts), sandboxes go beside it, in <own>.
    const own = controllers === '' && posix.basename(path) === SUPERVISOR_LEAF ? posix.dirname(path) : path;
    for (const b of base) {
      const dir = `${b}${own === '/' ? '' : own}`;
      if (existsSync(dir)) {
        dirs.push(dir);
        break;
      }
    }
  }
  return dirs;
}

/** Everything a sandbox could leave behind, as readable lines (empty = clean). */
export function leftovers(): string[] {
  const found: string[] = [];
  for (const dir of ownCgroupDirs()) {
    // The supervisor leaf holds this very process (and stays, by design): not a sandbox's leftover.
    for (const name of readdirSync(dir))
      if (name.startsWith('sandbox-') && name !== SUPERVISOR_LEAF) found.push(`cgroup ${dir}/${name}`);
  }
  for (const line of readFileSync('/proc/self/mounts', 'utf8').split('\n')) {
    const mountpoint = line.split(' ')[1];
    // Ours only: /run/sandbox itself or below it (not e.g. a peer's /run/sandbox-lxcfs).
    if (mountpoint === '/run/sandbox' || mountpoint?.startsWith('/run/sandbox/')) found.push(`mount ${mountpoint}`);
  }
  if (existsSync('/run/sandbox'))
    for (const name of readdirSync('/run/sandbox')) found.push(`state /run/sandbox/${name}`);
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      if (readlinkSync(`/proc/${pid}/exe`) === STAGE) found.push(`process ${pid} (sandbox-stage)`);
      // --net private's pasta: its command line names its pid file in a state dir (supervisor/net/pasta.ts).
      else if (
        readFileSync(`/proc/${pid}/cmdline`, 'utf8')
          .split('\0')
          .some((a) => a.startsWith('/run/sandbox/') && a.endsWith('/pasta.pid'))
      )
        found.push(`process ${pid} (pasta, a network helper)`);
    } catch {
      // gone, or a kernel thread
    }
  }
  return found;
}

/** Remove empty sandbox-* cgroups left by a failed test so one failure doesn't cascade. */
export function removeLeftoverCgroups(): void {
  for (const dir of ownCgroupDirs()) {
    for (const name of readdirSync(dir)) {
      if (!name.startsWith('sandbox-') || name === SUPERVISOR_LEAF) continue;
      try {
        rmdirSync(`${dir}/${name}`);
      } catch {
        // still busy: the assertion already reported it
      }
    }
  }
}
