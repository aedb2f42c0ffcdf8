// Walking a cgroup's ancestors. A parent's limit binds its children (cgroup-v2.rst "Top-down
// Constraint"; cgroup-v1/memory.rst "Hierarchical support"), so an effective limit is the
// minimum over the cgroup and every ancestor up to the hierarchy's root.
import { posix } from 'node:path';

/** The directory and each ancestor up to and including the hierarchy mountpoint: [dir, parent, …, mountpoint]. */
export function selfAndAncestors(dir: string, mountpoint: string): string[] {
  const root = posix.normalize(mountpoint);
  let current = posix.normalize(dir);
  if (current !== root && !current.startsWith(`${root}/`))
    throw new Error(`${dir} is not inside the hierarchy mounted at ${mountpoint}`);
  const out = [current];
  while (current !== root) {
    current = posix.dirname(current);
    out.push(current);
  }
  return out;
}

/** The smallest of the non-null values, or null when all are null (unlimited everywhere). */
export function minLimit(values: ReadonlyArray<number | null>): number | null {
  let best: number | null = null;
  for (const v of values) if (v !== null && (best === null || v < best)) best = v;
  return best;
}

/** One cgroup's CPU bandwidth: quota per period in microseconds, quota null = none. */
export interface Bandwidth {
  quotaUs: number | null;
  periodUs: number;
}

/**
 * The tightest bandwidth of a chain (cgroup first, then ancestors): the smallest quota/period
 * ratio, reported as that cgroup's own quota and period; with no quota anywhere, the first
 * cgroup's period and quota null.
 */
export function tightestBandwidth(chain: readonly Bandwidth[], defaultPeriodUs = 100_000): Bandwidth {
  let best: Bandwidth | null = null;
  for (const bw of chain) {
    if (bw.quotaUs === null) continue;
    if (best === null || bw.quotaUs / bw.periodUs < best.quotaUs! / best.periodUs) best = bw;
  }
  return best ?? { quotaUs: null, periodUs: chain[0]?.periodUs ?? defaultPeriodUs };
}
