// Renders of one sandbox's views kept for a short time, so a burst of opens (a tool polling, two
// readers at once) renders once. An entry is reused only while two things hold:
// - the sandbox's limits are unchanged: the caller passes a key read from the limit files on every
//   open (a few µs of preads), so a changed limit shows at the very next read;
// - it is younger than RENDER_TTL_MS = 10 ms: the resolution of the files themselves. /proc/stat and
//   cpuacct.stat count in USER_HZ ticks of 10 ms, /proc/uptime prints centiseconds, and the load
//   average folds every 5 s; a reader can't tell a render 10 ms old from a fresh one by its units.

/** How long a render is reused (ms): one USER_HZ tick. */
export const RENDER_TTL_MS = 10;
/**
 * A render at least this old that a read was answered with is made again once that reply is
 * written (procfs/view-handler.ts), so a reader that keeps reading finds a fresh one instead of
 * waiting for a render at the TTL: the texts served are no older than before. Only for views read
 * at most RENDER_TTL_MS - REFRESH_AHEAD_MS apart, whose next read will come before the refresh
 * expires: a view read less often would pay a render nobody reads.
 */
export const REFRESH_AHEAD_MS = 7;

/** A kept render. */
interface Entry {
  content: Buffer;
  limitsKey: string;
  renderedAtMs: number;
}

/** The last render of each view of one sandbox, with the limits it was rendered under. */
export class RenderCache {
  private readonly entries = new Map<string, Entry>();
  private readonly lastReadMs = new Map<string, number>();

  constructor(private readonly ttlMs = RENDER_TTL_MS) {}

  /** The render of `view` if it was made under `limitsKey` less than the TTL before `nowMs`, else null. */
  get(view: string, limitsKey: string, nowMs: number): { content: Buffer; renderedAtMs: number } | null {
    const entry = this.entries.get(view);
    if (!entry || entry.limitsKey !== limitsKey) return null;
    const age = nowMs - entry.renderedAtMs;
    return age >= 0 && age < this.ttlMs ? entry : null;
  }

  /** Note a read of `view` at `nowMs`; the time since the one before (Infinity for the first). */
  readGap(view: string, nowMs: number): number {
    const last = this.lastReadMs.get(view);
    this.lastReadMs.set(view, nowMs);
    return last === undefined ? Number.POSITIVE_INFINITY : nowMs - last;
  }

  /** Remember a render. */
  set(view: string, limitsKey: string, nowMs: number, content: Buffer): void {
    this.entries.set(view, { content, limitsKey, renderedAtMs: nowMs });
  }
}
