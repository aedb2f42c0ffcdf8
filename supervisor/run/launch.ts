// What `sandbox run` was asked for, and the parts of one launch its phases share (supervisor/run.ts).
import type { ChildProcess } from 'node:child_process';
import type { ViewServer } from '../../procfs/fs.js';
import type { DiskOwner } from '../idmap.js';
import type { ResolvedLimits } from '../limits.js';
import type { NetRequest } from '../net/mode.js';
import type { FilesystemRequest } from '../rootfs.js';
import type { Security } from '../security.js';
import type { Teardown } from '../teardown.js';
import type { UsernsRange } from '../userns.js';

/** What `sandbox run` was asked for, already validated. */
export interface RunRequest {
  limits: ResolvedLimits;
  command: string[];
  /** --net and -p (net/mode.ts). */
  net: NetRequest;
  hostname: string | null;
  env: NodeJS.ProcessEnv;
  workdir: string;
  onlineCpus: number[];
  /** --name (validated); null when not given. */
  name?: string | null;
  /** --user: the workload's uid and gid (null: root). */
  user?: { uid: number; gid: number } | null;
  /** -t: a pty for the workload (its terminal, relayed to ours by the stage). */
  tty?: boolean;
  /** The user namespace's host ids of root and the others inside (supervisor/userns.ts); null: none (--userns=host). */
  userns?: UsernsRange | null;
  /** On-disk owner of what the workload writes in its ID-mapped workdir and volumes (supervisor/idmap.ts); null: no mapping. */
  idmap?: DiskOwner | null;
  /** -d: the supervisor runs in the background; recorded in the state. */
  detached?: boolean;
  /** --timeout in ms: TERM the workload then, KILL the rest TIMEOUT_GRACE_MS later, exit 124. */
  timeoutMs?: number | null;
  /** --rootfs/--layer/--keep/-v/--tmpfs/--read-only (absent: the host's root, nothing more). */
  fs?: FilesystemRequest;
  /** --cap-add/--cap-drop/--security-opt (absent: the default confinement); `sandbox exec` uses it too. */
  security?: Security;
  /** Called with the id once the workload is released (for -d: the foreground CLI may go). */
  onStarted?: (id: string) => void;
}

/** One launch: its request and id, and what the phases fill in as they go. */
export interface Launch {
  readonly req: RunRequest;
  readonly id: string;
  /** Everything made, undone in reverse order whatever happens. */
  readonly undo: Teardown;
  /** The stage once spawned: forwarded signals go to it, and a later phase that fails SIGKILLs it. */
  stage: ChildProcess | null;
  /** The stage may take the sandbox over once it runs (run/monitor.ts canHandOver). */
  monitored: boolean;
  /** The stage took the sandbox over: this process exits without a teardown. */
  handedOver: boolean;
  /** The views' server, for its render cache counts at exit (SANDBOX_TIMINGS=1, bench/procfs.ts). */
  viewServer: ViewServer | null;
}
