// The server's side of the keeper (keeper.ts): a `sandbox procfs serve` started by the keeper finds
// the connection's descriptor, its place among the keeper's servers and the INIT its predecessor
// answered in one environment variable, and talks to the keeper over the IPC channel Node opened
// (a socketpair between the two processes only: nothing on the filesystem).
import type { FuseInit } from '../fuse/server.js';

/** The environment variable that makes `sandbox procfs serve` a keeper's server. */
export const KEEPER_ENV = 'SANDBOX_PROCFS_KEEPER';

/** What the keeper passes in KEEPER_ENV. */
export interface KeeperStart {
  /** The inherited /dev/fuse descriptor (the keeper mounted its connection). */
  fd: number;
  /** This server's number among the keeper's (from 1): file handles carry it. */
  epoch: number;
  /** The INIT an earlier server answered; null: this one answers it. */
  init: FuseInit | null;
  /** Whether the connection is new (no earlier server of it: registered containers' binds are dead and are bound again). */
  fresh: boolean;
  /** The inherited request journal's descriptor (procfs/fuse/journal.ts), or null: none. */
  journal: number | null;
  /** Requests a dead predecessor had read (base64 of each raw request), to answer first. */
  replay: string[];
}

/** Requests one start may carry to answer again (the journal's slots, over a few crashes). */
export const MAX_REPLAY = 64;

/** Messages between the keeper and its server. */
export type ToServer = { type: 'go' } | { type: 'stop' };
export type FromServer = { type: 'prepared' } | { type: 'init'; init: FuseInit } | { type: 'left' };

/** A keeper's server's view of its keeper. */
export interface KeeperLink extends KeeperStart {
  /** Resolves when this server may read requests (its predecessor stopped); rejects when told to stop first. */
  go: Promise<void>;
  /** Resolves when the server should stop: 'leave' (the keeper asked: hand over, or it ends the connection) or 'end' (the keeper is gone). */
  stop: Promise<'leave' | 'end'>;
  /** Tell the keeper this server has started its workers and waits for "go". */
  prepared(): void;
  /** Tell the keeper what INIT settled (the first server). */
  initialized(init: FuseInit): void;
  /**
   * Tell the keeper this server reads no more and answered every request it read: the successor may
   * read now. Before this process exits: its exit waits for the stop's wake-up stat(2)s that no
   * worker of ours took, which the successor answers.
   */
  left(): void;
}

/** Parse KEEPER_ENV; null when absent or malformed. */
export function parseKeeperStart(text: string | undefined): KeeperStart | null {
  if (!text) return null;
  try {
    const v = JSON.parse(text) as Partial<KeeperStart>;
    const init =
      v.init === null
        ? null
        : v.init && Number.isInteger(v.init.minor) && Number.isInteger(v.init.kernelMinor)
          ? { minor: v.init.minor, kernelMinor: v.init.kernelMinor }
          : undefined;
    if (
      !Number.isInteger(v.fd) ||
      v.fd! < 3 ||
      !Number.isInteger(v.epoch) ||
      v.epoch! < 1 ||
      v.epoch! >= 2 ** 28 ||
      init === undefined ||
      typeof v.fresh !== 'boolean' ||
      // Absent from a keeper of an earlier version (a SIGHUP after an upgrade on disk): none.
      !(v.journal === undefined || v.journal === null || (Number.isInteger(v.journal) && v.journal >= 3)) ||
      !(v.replay === undefined || Array.isArray(v.replay)) ||
      (v.replay?.length ?? 0) > MAX_REPLAY ||
      !(v.replay ?? []).every((r) => typeof r === 'string' && r.length <= 1024)
    )
      return null;
    return { fd: v.fd!, epoch: v.epoch!, init, fresh: v.fresh, journal: v.journal ?? null, replay: v.replay ?? [] };
  } catch {
    return null;
  }
}

/**
 * This process's keeper, when it was started by one (KEEPER_ENV and an IPC channel); null otherwise.
 * The variable is removed so that nothing this server starts inherits it. SIGINT is left to the
 * keeper (a terminal sends it to both); SIGTERM stops this server alone, and the keeper starts
 * another.
 */
export function keeperLink(): KeeperLink | null {
  const start = parseKeeperStart(process.env[KEEPER_ENV]);
  delete process.env[KEEPER_ENV];
  if (!start || !process.send) return null;
  const send = (m: FromServer): void => void process.send?.(m);
  let go!: () => void;
  let notGo!: (err: Error) => void;
  const goP = new Promise<void>((resolve, reject) => ((go = resolve), (notGo = reject)));
  goP.catch(() => undefined);
  const stop = new Promise<'leave' | 'end'>((resolve) => {
    process.on('message', (m: ToServer) => {
      if (m?.type === 'go') go();
      else if (m?.type === 'stop') resolve('leave');
    });
    // The keeper died (SIGKILL): nobody holds the connection for a successor; end it as a daemon would.
    process.once('disconnect', () => resolve('end'));
    process.once('SIGTERM', () => resolve('leave'));
    process.on('SIGINT', () => undefined);
    process.on('SIGHUP', () => undefined); // the keeper's to act on
    process.on('SIGUSR2', () => undefined); // the keeper's too (its upgrade): a signal to the whole unit must not end this server
  });
  void stop.then(() => notGo(new Error('told to stop before serving')));
  // The channel must not keep this process alive once it has stopped.
  void stop.then(() => process.channel?.unref());
  return {
    ...start,
    go: goP,
    stop,
    prepared: () => send({ type: 'prepared' }),
    initialized: (init) => send({ type: 'init', init }),
    left: () => send({ type: 'left' }),
  };
}
