// Who is on the other end of one of our Unix sockets (the events subscribers' and the views
// daemon's). Node has no API for it, so SO_PEERCRED (socket(7), unix(7)) is read with getsockopt(2)
// through koffi, loaded on the first call only (a `sandbox run` never needs it). The kernel fills
// struct ucred when the peer called connect(2), with the pid as seen from the reader's pid
// namespace: 0 when the peer's process is not visible there (pid_namespaces(7)).
//
// What makes a peer trusted here is its pid namespace, read from /proc/<pid>/ns/pid: every
// sandbox's workload (and `sandbox exec`'s processes) runs in a pid namespace of its own, while the
// supervisors, the CLI and an OCI runtime's runtime-namespace hooks run in the host's. The pid is
// the one at connect(2) time and is checked while the connection is open; a peer that exits at once
// and whose pid a host process takes within that moment would pass (SO_PEERPIDFD, Linux 6.5, would
// close that; it needs a pidfd-aware check that Node lacks as well).
import { readFileSync, readlinkSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { Socket } from 'node:net';

/** The credentials of a socket's peer at connect(2) time (struct ucred). */
export interface PeerCred {
  pid: number;
  uid: number;
  gid: number;
}

/** getsockopt(2) bound through koffi, or null until first use. */
let getsockopt: ((fd: number, level: number, name: number, out: PeerCred, len: number[]) => number) | null = null;

const SOL_SOCKET = 1; // include/uapi/asm-generic/socket.h
const SO_PEERCRED = 17;

/** Bind getsockopt(2) of libc through koffi (createRequire: the bundler leaves koffi's native addon alone). */
function loadGetsockopt(): NonNullable<typeof getsockopt> {
  if (getsockopt) return getsockopt;
  const require = createRequire(import.meta.url);
  const koffi = require('koffi') as typeof import('koffi');
  const libc = koffi.load('libc.so.6');
  koffi.struct('sandbox_ucred', { pid: 'int32', uid: 'uint32', gid: 'uint32' }); // registered by name
  const fn = libc.func('int getsockopt(int fd, int level, int name, _Out_ sandbox_ucred *val, _Inout_ uint32_t *len)');
  getsockopt = (fd, level, name, out, len) => fn(fd, level, name, out, len) as number;
  return getsockopt;
}

/** SO_PEERCRED of an accepted Unix socket, or null when it can't be read (treat as untrusted). */
export function peerCred(sock: Socket): PeerCred | null {
  const fd = (sock as unknown as { _handle?: { fd?: number } })._handle?.fd;
  if (typeof fd !== 'number' || fd < 0) return null;
  try {
    const out: PeerCred = { pid: 0, uid: 0, gid: 0 };
    const len = [12];
    return loadGetsockopt()(fd, SOL_SOCKET, SO_PEERCRED, out, len) === 0 && len[0] === 12 ? { ...out } : null;
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
  if (cred === null || cred.uid !== 0 || cred.pid <= 0) return false;
  const own = pidNamespaceOf('self');
  return own !== null && pidNamespaceOf(cred.pid) === own;
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
