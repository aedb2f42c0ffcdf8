// Who is on the other end of one of our Unix sockets (the events subscribers' and the views
// daemon's). Node has no API for it, so SO_PEERCRED and SO_PEERPIDFD (socket(7), unix(7)) are read
// with getsockopt(2) through koffi, loaded on the first call only (a `sandbox run` never needs it).
// The kernel fills struct ucred when the peer called connect(2), with the pid as seen from the
// reader's pid namespace: 0 when the peer's process is not visible there (pid_namespaces(7)).
//
// What makes a peer trusted here is its pid namespace, read from /proc/<pid>/ns/pid: every
// sandbox's workload (and `sandbox exec`'s processes) runs in a pid namespace of its own, while the
// supervisors, the CLI and an OCI runtime's runtime-namespace hooks run in the host's. A pid is a
// name that a peer which exits and is reaped leaves for the next process to take: a sandbox
// process that connects and exits, its host pid then taken by a host root process before we look,
// would pass as that process. SO_PEERPIDFD (Linux 6.5) gives a pidfd of the peer itself, taken at
// connect(2) (net/core/sock.c, sk_peer_pid): the namespace read through /proc/<pid> is the peer's
// only if that pidfd still names a live process with that pid afterwards (its fdinfo "Pid:" is -1
// once the peer is reaped; kernel/pid.c pidfd_show_fdinfo), as a pid is never reused before its
// process is reaped. On an older kernel (ENOPROTOOPT) the pid alone is used, with that race.
import { closeSync, readFileSync, readlinkSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { Socket } from 'node:net';

/** The credentials of a socket's peer at connect(2) time (struct ucred), and its pid namespace. */
export interface PeerCred {
  pid: number;
  uid: number;
  gid: number;
  /** The peer's pid namespace ("pid:[…]"), checked against its pidfd where the kernel has one; null: unknown. */
  pidNs: string | null;
}

/** getsockopt(2) bound through koffi for struct ucred and for an int, or null until first use. */
let getsockopt: {
  ucred: (
    fd: number,
    level: number,
    name: number,
    out: { pid: number; uid: number; gid: number },
    len: number[],
  ) => number;
  int: (fd: number, level: number, name: number, out: number[], len: number[]) => number;
  errno: () => number;
} | null = null;

const SOL_SOCKET = 1; // include/uapi/asm-generic/socket.h
const SO_PEERCRED = 17;
const SO_PEERPIDFD = 77; // Linux 6.5
const ENOPROTOOPT = 92;

/** Bind getsockopt(2) of libc through koffi (createRequire: the bundler leaves koffi's native addon alone). */
function loadGetsockopt(): NonNullable<typeof getsockopt> {
  if (getsockopt) return getsockopt;
  const require = createRequire(import.meta.url);
  const koffi = require('koffi') as typeof import('koffi');
  const libc = koffi.load('libc.so.6');
  koffi.struct('sandbox_ucred', { pid: 'int32', uid: 'uint32', gid: 'uint32' }); // registered by name
  const ucred = libc.func('getsockopt', 'int', [
    'int',
    'int',
    'int',
    koffi.out(koffi.pointer('sandbox_ucred')),
    koffi.inout(koffi.pointer('uint32_t')),
  ]);
  const int = libc.func('getsockopt', 'int', [
    'int',
    'int',
    'int',
    koffi.out(koffi.pointer('int')),
    koffi.inout(koffi.pointer('uint32_t')),
  ]);
  getsockopt = {
    ucred: (fd, level, name, out, len) => ucred(fd, level, name, out, len) as number,
    int: (fd, level, name, out, len) => int(fd, level, name, out, len) as number,
    errno: () => koffi.errno(), // the errno the last call left (koffi saves it per call)
  };
  return getsockopt;
}

/** The pid a pidfd names now, from its fdinfo (proc(5)): -1 once that process is reaped. */
function pidOfPidfd(pidfd: number): number | null {
  const m = /^Pid:\s+(-?\d+)$/m.exec(readFileSync(`/proc/self/fdinfo/${pidfd}`, 'utf8'));
  return m ? Number(m[1]) : null;
}

/**
 * The pid namespace of the peer with pid `pid`, or null. With SO_PEERPIDFD: read through /proc/pid,
 * then kept only if the peer's pidfd still names pid (the /proc entry read was the peer's, not a
 * process that took its pid since); without it (ENOPROTOOPT, Linux < 6.5): read through the pid alone.
 */
function verifiedPidNamespace(fn: NonNullable<typeof getsockopt>, fd: number, pid: number): string | null {
  const out = [-1];
  const len = [4];
  if (fn.int(fd, SOL_SOCKET, SO_PEERPIDFD, out, len) !== 0)
    return fn.errno() === ENOPROTOOPT ? pidNamespaceOf(pid) : null;
  const pidfd = out[0]!;
  try {
    const ns = pidNamespaceOf(pid);
    return pidOfPidfd(pidfd) === pid ? ns : null;
  } catch {
    return null;
  } finally {
    closeSync(pidfd);
  }
}

/** SO_PEERCRED of an accepted Unix socket and the peer's pid namespace, or null when they can't be read (treat as untrusted). */
export function peerCred(sock: Socket): PeerCred | null {
  const fd = (sock as unknown as { _handle?: { fd?: number } })._handle?.fd;
  if (typeof fd !== 'number' || fd < 0) return null;
  try {
    const fn = loadGetsockopt();
    const out = { pid: 0, uid: 0, gid: 0 };
    const len = [12];
    if (fn.ucred(fd, SOL_SOCKET, SO_PEERCRED, out, len) !== 0 || len[0] !== 12) return null;
    return { ...out, pidNs: out.pid > 0 ? verifiedPidNamespace(fn, fd, out.pid) : null };
  } catch {
    return null;
  }
}

/** The pid namespace of a process ("pid:[4026531836]"), or null if it is gone or unreadable. */
export function pidNamespaceOf(pid: number | 'self'): string | null {
  try {
    return readlinkSync(`/proc/${pid}/ns/pid`);
  } catch {
    return null;
  }
}

/** Whether a peer is root in our own pid namespace (not inside any sandbox or container). */
export function peerIsHostRoot(cred: PeerCred | null): boolean {
  if (cred === null || cred.uid !== 0 || cred.pid <= 0 || cred.pidNs === null) return false;
  return pidNamespaceOf('self') === cred.pidNs;
}

/** Whether pid is the init (pid 1) of its own pid namespace: the last NSpid field of its status is 1 (proc(5)). */
export function isNamespaceInit(pid: number): boolean {
  try {
    for (const line of readFileSync(`/proc/${pid}/status`, 'utf8').split('\n')) {
      if (line.startsWith('NSpid:')) return line.slice('NSpid:'.length).trim().split(/\s+/).at(-1) === '1';
    }
  } catch {
    // gone or unreadable: not an init we can vouch for
  }
  return false;
}
