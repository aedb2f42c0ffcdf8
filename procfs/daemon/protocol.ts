// The daemon's local API: JSON lines over a Unix stream socket (root-only, mode 0600). A client
// writes one request object per line and reads one reply line per request, in order. The daemon
// checks who asks (SO_PEERCRED, serve.ts Caller): root in its own pid namespace may do anything,
// root inside a container only register, unregister and list that container (a createContainer
// hook, which runc runs in the container's pid namespace); lines are at most 64 KiB.
//
// register binds the views into a container and serves them until unregister (or until its process
// is gone). serve is `sandbox run`'s: the views of a sandbox it is starting (host callers only),
// served until unregister or until the supervisor is gone; the supervisor binds them itself.

/**
 * The version of this API. A client and a daemon from different checkouts may both run: serve
 * carries the client's, and a daemon of another version refuses it (the client then serves its
 * own views), so neither acts on fields it does not know.
 */
export const PROTOCOL_VERSION = 2;

/** Container ids route paths (<mount>/<id>/proc/meminfo): OCI ids as runc accepts them, no '/'. */
export const ID_RE = /^[A-Za-z0-9][A-Za-z0-9_.+-]{0,127}$/;

/** Start serving (and binding) the views of one container. */
export interface RegisterRequest {
  op: 'register';
  id: string;
  /** The container's init on the host (our pid namespace): its cgroup and mount namespace. */
  pid: number;
  /**
   * Where the container's root is, as seen in its mount namespace at this moment: the bundle's
   * rootfs before pivot_root (an OCI createContainer hook), "" after. Targets are bound at
   * <root>/proc/meminfo etc.; a later re-bind (daemon restart) uses "" (pivoted by then).
   */
  root: string;
  /** Bind the views into the container (default true). */
  bind?: boolean;
}

/** Serve the views of a sandbox `sandbox run` is starting (no binds: its stage binds them). */
export interface ServeRequest {
  op: 'serve';
  version: number;
  id: string;
  /** The sandbox's leaf directory in each cgroup hierarchy (CgroupManager.dirs). */
  cgroupDirs: string[];
  /** Where the sandbox's uptime counts from (epoch ms). */
  startedAtMs: number;
  /** The supervisor: the registration goes when this process does. */
  supervisorPid: number;
}

/**
 * A served sandbox's registration now goes when process `pid` does (a detached sandbox's supervisor
 * handing it over to its stage, supervisor/run/monitor.ts).
 */
export interface RetieRequest {
  op: 'retie';
  id: string;
  pid: number;
}

/** Stop serving one container's views (its binds go with its mount namespace). */
interface UnregisterRequest {
  op: 'unregister';
  id: string;
}

/** List what is served. */
interface ListRequest {
  op: 'list';
}

/** Any request. */
export type Request = RegisterRequest | ServeRequest | RetieRequest | UnregisterRequest | ListRequest;

/** One view as served: the file on the daemon's mount and the file it covers inside. */
export interface ServedView {
  source: string;
  target: string;
}

/** A reply: ok with the op's fields, or an error line. */
export type Reply =
  | {
      ok: true;
      views?: ServedView[];
      skipped?: string[];
      known?: boolean;
      containers?: { id: string; pid: number }[];
      version?: number;
      mount?: string;
    }
  | { ok: false; error: string; version?: number };

/** Validate a parsed request line; returns an error text or the request. */
export function parseRequest(line: string): Request | string {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return `not JSON: ${line.slice(0, 80)}`;
  }
  if (typeof value !== 'object' || value === null) return 'expected a JSON object';
  const req = value as Record<string, unknown>;
  if (req.op === 'list') return { op: 'list' };
  if (typeof req.id !== 'string' || !ID_RE.test(req.id))
    return `bad id ${JSON.stringify(req.id)}: expected ${ID_RE.source}`;
  if (req.op === 'unregister') return { op: 'unregister', id: req.id };
  if (req.op === 'serve') return parseServe(req, req.id);
  if (req.op !== 'register' && req.op !== 'retie')
    return `unknown op ${JSON.stringify(req.op)} (register, serve, retie, unregister, list)`;
  if (typeof req.pid !== 'number' || !Number.isInteger(req.pid) || req.pid < 1)
    return `bad pid ${JSON.stringify(req.pid)}`;
  if (req.op === 'retie') return { op: 'retie', id: req.id, pid: req.pid };
  const root = req.root ?? '';
  if (typeof root !== 'string' || (root !== '' && !root.startsWith('/')) || root.includes('\n'))
    return `bad root ${JSON.stringify(req.root)}: an absolute path or ""`;
  if (req.bind !== undefined && typeof req.bind !== 'boolean') return `bad bind ${JSON.stringify(req.bind)}`;
  return { op: 'register', id: req.id, pid: req.pid, root: root.replace(/\/+$/, ''), bind: req.bind ?? true };
}

/** At most this many cgroup directories in a serve request (one per v1 hierarchy). */
const MAX_CGROUP_DIRS = 16;

/** Validate the fields of a serve request (the version first: another version's fields may differ). */
function parseServe(req: Record<string, unknown>, id: string): ServeRequest | string {
  if (req.version !== PROTOCOL_VERSION)
    return `protocol version ${JSON.stringify(req.version)}: this daemon speaks ${PROTOCOL_VERSION}`;
  const dirs = req.cgroupDirs;
  const goodDir = (d: unknown) =>
    typeof d === 'string' && d.startsWith('/') && d.length < 4096 && !d.split('/').includes('..') && !d.includes('\n');
  if (!Array.isArray(dirs) || dirs.length === 0 || dirs.length > MAX_CGROUP_DIRS || !dirs.every(goodDir))
    return `bad cgroupDirs ${JSON.stringify(dirs)?.slice(0, 200)}: 1 to ${MAX_CGROUP_DIRS} absolute paths without ".."`;
  if (typeof req.startedAtMs !== 'number' || !Number.isSafeInteger(req.startedAtMs) || req.startedAtMs < 0)
    return `bad startedAtMs ${JSON.stringify(req.startedAtMs)}`;
  if (typeof req.supervisorPid !== 'number' || !Number.isInteger(req.supervisorPid) || req.supervisorPid < 1)
    return `bad supervisorPid ${JSON.stringify(req.supervisorPid)}`;
  return {
    op: 'serve',
    version: PROTOCOL_VERSION,
    id,
    cgroupDirs: dirs as string[],
    startedAtMs: req.startedAtMs,
    supervisorPid: req.supervisorPid,
  };
}
