// --net private: user-mode networking by pasta (Debian package passt), attached to the sandbox's new
// network namespace by the supervisor before the workload is released. Chosen over slirp4netns by
// measurement (bench/net-helpers.py): more bytes per second through a published port and equal or
// lower round trips (docs/bench/2026-11-23-pasta-vs-slirp4netns.md).
//
// pasta runs in the foreground as the supervisor's child and writes PIDFILE (in the sandbox's state
// dir) once its tap device is configured and its host ports are bound: that is the "ready" signal.
// It is ended by that pid at teardown; PR_SET_PDEATHSIG ends it with a SIGKILLed supervisor, and
// `sandbox gc` checks again (it kills only a process whose command line names that pid file: never
// a recycled pid).
import { spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { readFile, readlink } from 'node:fs/promises';
import { SandboxError } from '../errors.js';
import { sleep } from '../sleep.js';
import { parsePidStat } from '../../procfs/parse/index.js';
import { STAGE_PATH } from '../stage.js';
import { processStartTicks } from '../state.js';
import type { PortSpec } from './publish.js';

/** pasta's pid file in a sandbox's state dir. */
export const PIDFILE = 'pasta.pid';

/** A running helper. */
export interface NetHelper {
  pid: number;
  /** SIGKILL it and wait until it is gone (its host ports are free again). */
  stop(): Promise<void>;
}

/**
 * Wait until process `pid` (the outer stage) is in a network namespace other than ours, i.e. its
 * unshare(CLONE_NEWNET) is done (it changes namespace once). False when it exited first.
 */
export async function waitForNewNetns(pid: number, timeoutMs = 5000): Promise<boolean> {
  const ours = await readlink('/proc/self/ns/net');
  for (const deadline = Date.now() + timeoutMs; Date.now() < deadline; await sleep(1)) {
    const theirs = await readlink(`/proc/${pid}/ns/net`).catch(() => null);
    if (theirs === null) return false;
    if (theirs !== ours) return true;
  }
  throw new SandboxError(`--net private: the stage (pid ${pid}) made no network namespace within ${timeoutMs} ms`);
}

/** pasta's port options for the -p specs: "-t [ADDR/]HOST:CONTAINER" per TCP spec, "-u" per UDP one, "none" when there are none. */
export function pastaPortArgs(specs: readonly PortSpec[]): string[] {
  const args: string[] = [];
  for (const proto of ['tcp', 'udp'] as const) {
    const flag = proto === 'tcp' ? '-t' : '-u';
    const mine = specs.filter((s) => s.proto === proto);
    // pasta's default for -t/-u is "auto" (forward every port bound inside): never that.
    if (mine.length === 0) args.push(flag, 'none');
    for (const s of mine) args.push(flag, `${s.hostIp === null ? '' : `${s.hostIp}/`}${s.hostPort}:${s.containerPort}`);
  }
  return args;
}

/** pasta's full argv for a namespace passed as its stdin. */
export function pastaArgs(pidFile: string, specs: readonly PortSpec[]): string[] {
  return [
    '--config-net', // addresses, routes and MTU of the host's default interface, on a tap device
    '--quiet',
    '-f', // in the foreground: our child, killed with the supervisor (startPasta)
    // This pasta (Debian's 2023-03-09) drops to "nobody" before it opens the target namespace, and
    // nobody can neither open /proc/PID/ns/net of a root process (ptrace access mode check) nor
    // setns(2) into a namespace owned by the initial user namespace. As root it still confines
    // itself (own mount namespace, seccomp, no_new_privs, capabilities down to NET_BIND_SERVICE
    // and SYS_ADMIN; measured in /proc/PID/status).
    '--runas',
    '0:0',
    // The namespace is the fd the supervisor opened (it may open the stage's /proc/PID/ns/net),
    // given as pasta's stdin: /proc/self/fd/0 in pasta is that same namespace (and the only fd it
    // inherits besides stdout and stderr, see startPasta). No inotify on that path: we end pasta.
    '--netns',
    '/proc/self/fd/0',
    '--no-netns-quit',
    '-P',
    pidFile,
    // Nothing from the host into the sandbox but the -p ports: no automatic forwarding of ports
    // bound in the namespace to the host (-t/-u auto) or of the host's to the namespace (-T/-U
    // auto), and the gateway address is not mapped to the host's loopback (--no-map-gw), so host
    // services on 127.0.0.1 are not reachable from inside (as slirp4netns --disable-host-loopback).
    '-T',
    'none',
    '-U',
    'none',
    '--no-map-gw',
    ...pastaPortArgs(specs),
  ];
}

/** The first line of pasta's stderr that says something (it also complains it can't reach syslog). */
function firstMessage(stderr: string): string {
  return (
    stderr
      .split('\n')
      .map((l) => l.trim())
      .find((l) => l !== '' && !/^Failed to send \d+ bytes to syslog/.test(l)) ?? ''
  );
}

/** True while `pid` is a helper started with `pidFile` (its command line names the file); zombies are gone. */
async function isHelper(pid: number, pidFile: string): Promise<boolean> {
  const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
  return cmdline.split('\0').includes(pidFile);
}

/**
 * True until `pid` (started at `startTicks`) has closed its files. The kernel closes them in
 * do_exit() (kernel/exit.c exit_files) before exit_notify() makes the task a zombie, but after
 * exit_mm(), from which on /proc/PID/cmdline already reads empty: an empty cmdline does not yet
 * mean the helper's host ports are free, a zombie (state Z or X) or a vanished pid does.
 */
async function stillExiting(pid: number, startTicks: number | null): Promise<boolean> {
  try {
    const stat = parsePidStat(await readFile(`/proc/${pid}/stat`, 'utf8'));
    return Number(stat.rest[22 - 4]) === startTicks && stat.state !== 'Z' && stat.state !== 'X';
  } catch {
    return false;
  }
}

/** SIGKILL the helper whose pid is in pidFile, if it is still that helper, and wait until its files (and host ports) are closed. */
export async function killHelper(pidFile: string): Promise<void> {
  const pid = Number((await readFile(pidFile, 'utf8').catch(() => '')).trim());
  if (!Number.isInteger(pid) || pid <= 0 || !(await isHelper(pid, pidFile))) return;
  const startTicks = await processStartTicks(pid);
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    return; // gone meanwhile
  }
  // Reparented to init (or a subreaper), which reaps it.
  for (const deadline = Date.now() + 2000; Date.now() < deadline && (await stillExiting(pid, startTicks)); )
    await sleep(2);
}

/** Start pasta on the network namespace of `nsPid`; resolves once it is configured and its ports are bound. */
export async function startPasta(nsPid: number, pidFile: string, specs: readonly PortSpec[]): Promise<NetHelper> {
  const logFile = pidFile.replace(/\.pid$/, '.log');
  let nsFd: number;
  let logFd: number;
  try {
    nsFd = openSync(`/proc/${nsPid}/ns/net`, 'r');
  } catch (err) {
    throw new SandboxError(`--net private: open /proc/${nsPid}/ns/net: ${(err as NodeJS.ErrnoException).code ?? err}`);
  }
  try {
    logFd = openSync(logFile, 'a', 0o600);
  } catch (err) {
    closeSync(nsFd);
    throw new SandboxError(`--net private: open ${logFile}: ${(err as NodeJS.ErrnoException).code ?? err}`);
  }
  // Through the stage's --exec-helper, which closes every descriptor above 2 (Node can't, and the
  // supervisor holds /dev/fuse without O_CLOEXEC) and sets PR_SET_PDEATHSIG, so pasta dies with
  // the supervisor as the stage does (native/stage/stage.c). stderr goes to a file: pasta may write
  // to it at any time, and a pipe we stop reading would end it with SIGPIPE.
  const child = spawn(
    STAGE_PATH,
    ['--supervisor-pid', String(process.pid), '--exec-helper', '--', 'pasta', ...pastaArgs(pidFile, specs)],
    {
      stdio: [nsFd, 'ignore', logFd],
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin' },
    },
  );
  closeSync(nsFd);
  closeSync(logFd);
  let exit: number | null = null;
  let spawnError: Error | null = null;
  // Node reports 'exit' once it has reaped the child: its files, host ports included, are closed.
  const reaped = new Promise<void>((resolve) =>
    child.once('exit', (c) => {
      exit = c ?? 128;
      resolve();
    }),
  );
  child.once('error', (err) => (spawnError = err));
  // In the foreground pasta writes its pid file once its tap device is configured and its host
  // ports are bound (measured: they listen by then); it exits 1 when a port can't be bound.
  for (const deadline = Date.now() + 10_000; ; await sleep(2)) {
    if (spawnError) throw new SandboxError(`--net private: spawn ${STAGE_PATH}: ${(spawnError as Error).message}`);
    if (exit !== null) break;
    const pid = Number((await readFile(pidFile, 'utf8').catch(() => '')).trim());
    if (pid > 0) {
      return {
        pid,
        stop: async () => {
          if (exit === null) {
            child.kill('SIGKILL');
            await Promise.race([reaped, sleep(2000)]);
          }
          await killHelper(pidFile);
        },
      };
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new SandboxError('--net private: pasta was not ready within 10 s');
    }
  }
  if (exit === 127)
    throw new SandboxError(
      '--net private needs pasta (Debian package passt): run "npm run setup" or apt-get install passt',
    );
  const line = firstMessage(await readFile(logFile, 'utf8').catch(() => ''));
  const spec = specs.find((s) => line.includes(`${s.hostPort}:${s.containerPort}`));
  throw new SandboxError(
    `${spec ? `--publish: "${spec.text}"` : '--net private'}: pasta exited with ${exit}${line ? `: ${line}` : ''}`,
  );
}
