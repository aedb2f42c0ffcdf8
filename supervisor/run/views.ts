// The second phase of a launch: the cgroup created, and the views served, by a running
// `sandbox procfs serve` (shared-views.ts) or by a FUSE mount of our own.
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { ViewServer } from '../../procfs/fs.js';
import { cgroupViewSpec } from '../../procfs/view-source.js';
import { viewsFor } from '../../procfs/views/index.js';
import type { CgroupManager } from '../cgroup/index.js';
import { withContext } from '../errors.js';
import { serveShared, sharedViewSocket, unserveShared, type SharedViews } from '../shared-views.js';
import type { Teardown } from '../teardown.js';
import type { Launch } from './launch.js';
import type { Prepared } from './prepare.js';
import { mark } from './timings.js';

/** Our own views' server and its mount, which may still be under way (the kernel's INIT unanswered). */
export interface OwnViews {
  server: ViewServer;
  mounted: Promise<void>;
}

/** Where the stage's view binds come from. */
export interface ServedViews {
  /** Our own FUSE server (null: a running procfs serve serves them). */
  own: OwnViews | null;
  /** A running procfs serve's answer (null: we serve them ourselves). */
  shared: SharedViews | null;
  /** The view files and the targets the stage binds them over. */
  binds: Array<{ source: string; target: string }>;
}

/** Phase 2: create the cgroup, and have the views served while it is created. */
export async function setUpCgroupAndViews(
  launch: Launch,
  { cgroup, state, startedAtMs }: Prepared,
): Promise<ServedViews> {
  const { id, undo } = launch;
  const mountpoint = state.mountpoint;
  // A running `sandbox procfs serve` serves the views (shared-views.ts), asked while the cgroup
  // is created; else our own FUSE mount (mount(8) through child_process, the kernel's INIT
  // answered on this thread: no worker starts during the launch, ViewServer lazyWorkers) overlaps
  // the cgroup set-up and the stage's namespace work. PID 1 waits for the sync byte before it
  // binds the views. Nothing forks outside libuv (issue 20); a SIGKILLed supervisor's mount is
  // removed by `sandbox gc`, which every run does first (a daemon drops its registration itself).
  const socket = sharedViewSocket();
  // The cgroups' mkdirs are queued on libuv's pool first: spawning mount(8) then takes the main
  // thread while they run (the other order puts the spawn in front of them: docs/code-measurements.md).
  const created = cgroup.create();
  created.catch(() => undefined); // awaited below
  const sharing = socket === null ? null : serveShared(socket, id, cgroup.dirs, startedAtMs);
  if (sharing) undo.push(async () => void ((await sharing) && (await unserveShared(socket!, id))));
  let own = sharing === null ? await mountOwnViews(mountpoint, undo) : null;

  await created.catch((err) => {
    throw withContext('cgroup', err);
  });
  mark('created');
  undo.alongside(() => cgroup.destroy()); // together with the unmount: neither needs the other gone
  // PID 1 joins this cgroup at the end of its set-up: primed, its write waits for no RCU grace
  // period (v1 only; never rejects; docs/code-measurements.md).
  void cgroup.primeAttach();
  const shared = sharing && (await sharing);
  if (shared) mark('fuse');
  else own ??= await mountOwnViews(mountpoint, undo);
  launch.viewServer = own?.server ?? null;
  // Registered now; nothing is rendered ahead. PID 1's binds look each view up, and the lookup's
  // getattr renders it (for its size), which also readies that view's code for the workload's
  // first read. A getattr's render is never served to a read (ViewServer.render).
  const views = viewsFor(cgroup.mode, hasPsi(cgroup));
  if (own) {
    own.server.register(id, cgroupViewSpec(cgroup, startedAtMs), views);
    const server = own.server;
    undo.push(async () => server.unregister(id));
  }
  // A daemon may serve a view this cgroup lacks (it answers before the cgroup exists): not bound.
  const binds = shared
    ? shared.views.filter((b) => views.some((v) => v.target === b.target))
    : views.map((v) => ({ source: own!.server.viewPath(id, v.name), target: v.target }));
  return { own, shared, binds };
}

/** Start our own FUSE mount of the views on `mountpoint`; its unmount is pushed on the teardown. */
async function mountOwnViews(mountpoint: string, undo: Teardown): Promise<OwnViews> {
  await mkdir(mountpoint, { mode: 0o755 });
  const server = new ViewServer(mountpoint, { maxSandboxes: 1, lazyWorkers: true });
  const mounted = server.mount().then(() => mark('fuse'));
  mounted.catch(() => undefined); // awaited before the release (run/release.ts); a PID 1 that fails early ends the connection before that
  undo.push(async () => {
    await mounted.catch(() => undefined);
    await server.unmount();
  });
  return { server, mounted };
}

/** Whether the pressure views can be bound (v2 only): /proc/pressure to bind over, and the cgroup's own PSI files. */
function hasPsi(cgroup: CgroupManager): boolean {
  return cgroup.mode === 'v2' && existsSync('/proc/pressure/cpu') && existsSync(`${cgroup.dirs[0]}/cpu.pressure`);
}
