// A render made again after the reply that used it (procfs/render-cache.ts REFRESH_AHEAD_MS): a
// reader that keeps reading finds a fresh render where it would have waited for one at the TTL,
// no text served is older than RENDER_TTL_MS, and a view read sparsely is not rendered for nobody. Served by the main thread (lazyWorkers), where
// the test owns the clock (only Date is faked: Date.now() is the render cache's time); counted
// through the server's render counts, never timed. A real FUSE mount over a captured v1 tree.
// Reads are asynchronous: this process serves the mount.
import { mkdir, readFile, rm } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { ViewServer } from '../../procfs/fs.js';
import { REFRESH_AHEAD_MS, RENDER_TTL_MS } from '../../procfs/render-cache.js';
import { cgroupViewSpec } from '../../procfs/view-source.js';
import { openCgroup } from '../../supervisor/cgroup/index.js';
import { fuseUnavailable } from '../helpers/sandbox.js';
import { requireOrSkip } from '../helpers/skip.js';

const skip = requireOrSkip(fuseUnavailable());
const TREE = fileURLToPath(new URL('../fixtures/cgroup-v1/busy-256M', import.meta.url));

describe.skipIf(skip)('render refresh after a reply', () => {
  const dir = `/run/sandbox/test-refresh-${process.pid}`;
  const mountpoint = `${dir}/views`;
  const server = new ViewServer(mountpoint, { lazyWorkers: true, workersAfterRequests: 1e9 });
  const T = Date.UTC(2026, 11, 7, 12, 0, 0);
  // Up just under 5 s at T (uptime prints 4.99: it truncates), 5.001 s at T + REFRESH_AHEAD_MS
  // (5.00): each render's text tells when it was made.
  const STARTED_BEFORE_MS = 5001 - REFRESH_AHEAD_MS;

  beforeAll(async () => {
    await mkdir(mountpoint, { recursive: true });
    await server.mount();
    server.register(
      'box',
      cgroupViewSpec(await openCgroup({ id: 'fixture', root: TREE }), T - STARTED_BEFORE_MS, TREE),
    );
  });

  afterEach(() => {
    vi.useRealTimers();
  });

  afterAll(async () => {
    await server.unmount();
    await rm(dir, { recursive: true, force: true });
    expect(await readFile('/proc/self/mounts', 'utf8')).not.toContain(mountpoint);
  });

  /** Read the uptime view at `ms` after T; the counts of uptime's renders after it. */
  const readAt = async (ms: number) => {
    vi.setSystemTime(T + ms);
    const text = await readFile(`${mountpoint}/box/uptime`, 'utf8');
    return { seconds: Number(text.split(' ')[0]), counts: server.renderCounts().uptime! };
  };

  it('re-renders a view read at REFRESH_AHEAD_MS or older, so the next read within the TTL window finds it fresh', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    expect(REFRESH_AHEAD_MS).toBeLessThan(RENDER_TTL_MS);
    const first = await readAt(0);
    expect(first.counts).toEqual({ hits: 0, misses: 1, refreshes: 0 });
    expect(first.seconds).toBe(4.99);
    // Young: served from the render of 0, nothing done after the reply.
    expect((await readAt(REFRESH_AHEAD_MS - 1)).counts).toEqual({ hits: 1, misses: 1, refreshes: 0 });
    // Old enough: served from the render of 0 too (within the TTL), then rendered again after the reply.
    const aged = await readAt(REFRESH_AHEAD_MS);
    expect(aged.counts).toEqual({ hits: 2, misses: 1, refreshes: 1 });
    expect(aged.seconds).toBe(4.99);
    // Past the first render's TTL: a hit on the refresh, not a miss; its text is the refresh's.
    const later = await readAt(RENDER_TTL_MS + 1);
    expect(later.counts).toEqual({ hits: 3, misses: 1, refreshes: 1 });
    expect(later.seconds).toBe(5);
    // No read within a TTL: nothing kept fresh for nobody; the next read renders.
    const idle = REFRESH_AHEAD_MS + 3 * RENDER_TTL_MS;
    expect((await readAt(idle)).counts).toEqual({ hits: 3, misses: 2, refreshes: 1 });
    // Old enough, but read sparsely (further apart than TTL - REFRESH_AHEAD_MS): no refresh, since
    // the next read would likely find it expired too; the read after the TTL renders.
    expect((await readAt(idle + REFRESH_AHEAD_MS + 1)).counts).toEqual({ hits: 4, misses: 2, refreshes: 1 });
    expect((await readAt(idle + RENDER_TTL_MS)).counts).toEqual({ hits: 4, misses: 3, refreshes: 1 });
  });
});
