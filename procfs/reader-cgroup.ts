// Which cgroup a reader of the reader-routed layout is answered for, from its /proc/<pid>/cgroup
// (proc(5) "hierarchy-ID:controller-list:cgroup-path", paths relative to the server's cgroup
// namespace). Pure: the key the views are cached and shared under, and whether the reader counts
// as the host (served the host's own files, as lxcfs serves /proc/stat to a reader whose init is
// pid 1: src/proc_fuse.c proc_stat_read).
import { parseProcCgroup, type CgroupMode } from '../supervisor/cgroup/index.js';
import { VIEW_CONTROLLERS } from './daemon/foreign-cgroup.js';

/**
 * The lines of a /proc/<pid>/cgroup text the views read, in the kernel's order: on v1 the
 * hierarchies of VIEW_CONTROLLERS (name=systemd, devices and the hybrid's empty cgroup2 line say
 * nothing about limits), on v2 the "0::" line. Two processes with the same key see the same figures,
 * so renders, load history and counters are kept per key. Null when no such line exists.
 */
export function readerCgroupKey(cgroupText: string, mode: CgroupMode): string | null {
  const lines = parseProcCgroup(cgroupText)
    .filter((m) => (mode === 'v2' ? m.hierarchyId === 0 : m.controllers.some((c) => VIEW_CONTROLLERS.includes(c))))
    .map((m) => `${m.hierarchyId}:${m.controllers.join(',')}:${m.path}`);
  return lines.length === 0 ? null : lines.join('\n');
}

/**
 * Whether a reader with cgroup key `key` is on the host: its cgroup is a hierarchy's root in any
 * hierarchy the views read (no limits of its own there; openCgroupOf refuses it too), or it is the
 * very cgroup of a host process in every one (`hostKeys`: the keys of pid 1 and of the server
 * itself, e.g. /init.scope on systemd v2, or the shell that started the server).
 */
export function isHostReader(key: string, hostKeys: readonly string[]): boolean {
  const paths = key.split('\n').map((line) => line.slice(line.indexOf(':', line.indexOf(':') + 1) + 1));
  return paths.some((p) => p === '/') || hostKeys.includes(key);
}
