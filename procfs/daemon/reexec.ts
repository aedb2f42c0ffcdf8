// The keeper's upgrade (keeper.ts, SIGUSR2): it replaces its own program with the CLI on disk by
// execve(2) in place, keeping its pid (systemd's MainPID) and the /dev/fuse descriptor, so the FUSE
// connection never has a moment without an open file (fs/fuse/dev.c fuse_dev_release aborts it at
// the last release). Node has no execve, so execve(2) and fcntl(2) of libc are called through
// koffi, loaded on the first upgrade only. What execve keeps and what it must not find:
// - Descriptors without FD_CLOEXEC. Node opens everything close-on-exec, its stdin, stdout and
//   stderr included (measured: F_GETFD gives 1 on fds 0-2; a new image found /dev/null there, as
//   Node's start fills closed standard fds): those and the connection are cleared first.
// - Other threads end (fs/exec.c de_thread kills them and waits). A thread inside a FUSE request
//   that nobody answers would wait for its reply uninterruptibly once sent (fs/fuse/dev.c
//   request_wait_answer), and de_thread with it: the keeper never touches its own mount, and no
//   server serves at the moment of the call anyway (the upgrade stops it first).
// - The signal mask and ignored signals are inherited: Node blocks none here and ignores only
//   SIGPIPE and SIGXFSZ, which the new Node sets the same way.
import { readlinkSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { FuseInit } from '../fuse/server.js';

/** The environment variable that makes `sandbox procfs serve` adopt its predecessor image's connection. */
const ADOPT_ENV = 'SANDBOX_PROCFS_ADOPT';

/** A connection a keeper inherits from the image it replaced. */
export interface AdoptedConnection {
  /** The /dev/fuse descriptor, mounted by an earlier image of this process. */
  fd: number;
  /** The INIT its first server answered. */
  init: FuseInit;
  /** The last server number used (file handles carry it: the next servers continue after it). */
  epoch: number;
}

const F_GETFD = 1; // include/uapi/asm-generic/fcntl.h
const F_SETFD = 2;
const FD_CLOEXEC = 1;

/** fcntl(2) and execve(2) of libc, bound through koffi on first use. */
let libc: {
  fcntl: (fd: number, cmd: number, arg: number) => number;
  execve: (path: string, argv: (string | null)[], envp: (string | null)[]) => number;
  errno: () => number;
} | null = null;

function loadLibc(): NonNullable<typeof libc> {
  if (libc) return libc;
  // createRequire: the bundler leaves koffi's native addon alone (as supervisor/peer.ts).
  const koffi = createRequire(import.meta.url)('koffi') as typeof import('koffi');
  const lib = koffi.load('libc.so.6');
  const fcntl = lib.func('int fcntl(int fd, int cmd, ...)');
  const execve = lib.func('int execve(const char *path, const char **argv, const char **envp)');
  libc = {
    fcntl: (fd, cmd, arg) => fcntl(fd, cmd, 'int', arg) as number,
    execve: (path, argv, envp) => execve(path, argv, envp) as number,
    errno: () => koffi.errno(),
  };
  return libc;
}

/** Set or clear FD_CLOEXEC on `fd`; throws with the errno. */
function setCloseOnExec(fd: number, on: boolean): void {
  const c = loadLibc();
  const flags = c.fcntl(fd, F_GETFD, 0);
  if (flags < 0 || c.fcntl(fd, F_SETFD, on ? flags | FD_CLOEXEC : flags & ~FD_CLOEXEC) < 0)
    throw new Error(`fcntl(${fd}, F_SETFD): errno ${c.errno()}`);
}

/**
 * Replace this process's program with `process.execPath` and the same arguments (the CLI on disk
 * now), handing it `conn` in ADOPT_ENV. Returns only on failure (an Error naming errno); the
 * caller serves on (the descriptor is close-on-exec again).
 */
export function reexecKeeper(conn: AdoptedConnection): Error {
  const c = loadLibc();
  const argv = [process.execPath, ...process.execArgv, ...process.argv.slice(1)];
  const env = Object.entries({ ...process.env, [ADOPT_ENV]: JSON.stringify(conn) }).map(([k, v]) => `${k}=${v}`);
  try {
    for (const fd of [0, 1, 2, conn.fd]) setCloseOnExec(fd, false);
  } catch (err) {
    setCloseOnExec(conn.fd, true);
    return err as Error;
  }
  c.execve(process.execPath, [...argv, null], [...env, null]);
  const errno = c.errno();
  setCloseOnExec(conn.fd, true);
  return new Error(`execve(${process.execPath}): errno ${errno}`);
}

/**
 * The connection ADOPT_ENV hands this process, checked (a /dev/fuse descriptor, an INIT, an epoch),
 * and made close-on-exec again; null when absent. The variable is removed (children never see it).
 * Throws on a malformed value or a descriptor that is not /dev/fuse.
 */
export function adoptedConnection(): AdoptedConnection | null {
  const text = process.env[ADOPT_ENV];
  delete process.env[ADOPT_ENV];
  if (text === undefined) return null;
  let v: Partial<AdoptedConnection>;
  try {
    v = JSON.parse(text) as Partial<AdoptedConnection>;
  } catch {
    throw new Error(`${ADOPT_ENV}: not JSON: ${text.slice(0, 80)}`);
  }
  if (
    !Number.isInteger(v.fd) ||
    v.fd! < 3 ||
    !Number.isInteger(v.epoch) ||
    v.epoch! < 1 ||
    v.epoch! >= 2 ** 28 - 1 ||
    !Number.isInteger(v.init?.minor) ||
    !Number.isInteger(v.init?.kernelMinor)
  )
    throw new Error(`${ADOPT_ENV}: malformed: ${text.slice(0, 80)}`);
  let target: string;
  try {
    target = readlinkSync(`/proc/self/fd/${v.fd}`);
  } catch (err) {
    throw new Error(`${ADOPT_ENV}: fd ${v.fd}: ${(err as NodeJS.ErrnoException).code}`);
  }
  if (target !== '/dev/fuse') throw new Error(`${ADOPT_ENV}: fd ${v.fd} is ${target}, not /dev/fuse`);
  setCloseOnExec(v.fd!, true);
  return { fd: v.fd!, epoch: v.epoch!, init: { minor: v.init!.minor, kernelMinor: v.init!.kernelMinor } };
}
