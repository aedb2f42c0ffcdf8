// `sandbox run` with a running `sandbox procfs serve`: the daemon serves the sandbox's views on its
// mount, the stage binds them, and the launch mounts no FUSE filesystem of its own. With no daemon
// (or one of another protocol version, or one that refuses), the sandbox serves its own as before.
import { existsSync } from 'node:fs';
import { ask } from '../procfs/daemon/client.js';
import { PROTOCOL_VERSION, type ServedView } from '../procfs/daemon/protocol.js';
import { DEFAULT_SOCKET } from '../procfs/daemon/serve.js';

/** How long a launch waits for the daemon's answer before it serves its own views. */
const ASK_TIMEOUT_MS = 2000;

/** A sandbox's views as a running daemon serves them. */
export interface SharedViews {
  socket: string;
  /** View files on the daemon's mount and the targets the stage binds them over. */
  views: ServedView[];
  /** The daemon's mount, hidden inside the sandbox: other sandboxes' and containers' views are there. */
  hide: string;
}

/**
 * The daemon's socket `sandbox run` tries: SANDBOX_PROCFS_SOCKET (empty: never share), else the
 * default one; null when no socket file is there (the common case costs one stat).
 */
export function sharedViewSocket(env: NodeJS.ProcessEnv = process.env): string | null {
  const socket = env.SANDBOX_PROCFS_SOCKET ?? DEFAULT_SOCKET;
  return socket !== '' && existsSync(socket) ? socket : null;
}

/**
 * Ask the daemon at `socket` to serve sandbox `id`'s views. Null when it cannot: nothing answers
 * (a stale socket), it speaks another protocol version (a daemon from another checkout), or it
 * refuses (said on stderr, since that daemon is ours and should not have).
 */
export async function serveShared(
  socket: string,
  id: string,
  cgroupDirs: readonly string[],
  startedAtMs: number,
): Promise<SharedViews | null> {
  const req = {
    op: 'serve' as const,
    version: PROTOCOL_VERSION,
    id,
    cgroupDirs: [...cgroupDirs],
    startedAtMs,
    supervisorPid: process.pid,
  };
  const reply = await ask(socket, req, ASK_TIMEOUT_MS).catch(() => null);
  if (reply === null || reply.version !== PROTOCOL_VERSION) return null;
  if (!reply.ok) {
    process.stderr.write(`sandbox: views: the server at ${socket} refused: ${reply.error}; serving them ourselves\n`);
    return null;
  }
  const mount = reply.mount ?? '';
  const views = reply.views ?? [];
  if (!mount.startsWith('/') || mount === '/' || views.some((v) => !v.source.startsWith(`${mount}/`))) {
    process.stderr.write(
      `sandbox: views: the server at ${socket} answered views outside its mount ${JSON.stringify(mount)}; serving them ourselves\n`,
    );
    await unserveShared(socket, id);
    return null;
  }
  return { socket, views, hide: mount };
}

/** Ask the daemon to stop serving sandbox `id` (the teardown); a daemon gone by then has nothing to stop. */
export async function unserveShared(socket: string, id: string): Promise<void> {
  await ask(socket, { op: 'unregister', id }, ASK_TIMEOUT_MS).catch(() => undefined);
}

/** Ask the daemon to tie sandbox `id`'s registration to process `pid` (the stage it is handed to); false when it cannot. */
export async function retieShared(socket: string, id: string, pid: number): Promise<boolean> {
  const reply = await ask(socket, { op: 'retie', id, pid }, ASK_TIMEOUT_MS).catch(() => null);
  return reply?.ok === true;
}
