// What the bench has started that must not outlive it (engines, a views daemon): each registers
// its clean-up here while it runs. On SIGINT (Ctrl-C), SIGTERM or SIGHUP every registered clean-up
// runs to its end before the bench exits with 128 + the signal's number; a second signal while
// they run is only reported (an engine's stop waits for its daemon, then empties its cgroups).
import { constants } from 'node:os';
import { progress } from './table.js';

const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
const cleanups = new Set<() => Promise<unknown>>();
let aborting = false;

/** Run every clean-up, then exit 128 + signo. */
function onSignal(signal: (typeof SIGNALS)[number]): void {
  if (aborting) {
    progress(`${signal} again: still cleaning up what the bench started`);
    return;
  }
  aborting = true;
  progress(`${signal}: stopping and removing what the bench started`);
  void Promise.allSettled([...cleanups].map((f) => f())).then((results) => {
    for (const r of results)
      if (r.status === 'rejected') progress(`clean-up failed: ${(r.reason as Error).message ?? String(r.reason)}`);
    process.exit(128 + constants.signals[signal]);
  });
}

/**
 * Run `cleanup` if the bench is interrupted before the returned function is called (the caller
 * calls it once it has cleaned up itself). The clean-up must be safe to run twice, or concurrently
 * with the caller's own (memoize it).
 */
export function onAbort(cleanup: () => Promise<unknown>): () => void {
  if (cleanups.size === 0) for (const s of SIGNALS) process.on(s, onSignal);
  cleanups.add(cleanup);
  return () => {
    cleanups.delete(cleanup);
    if (cleanups.size === 0 && !aborting) for (const s of SIGNALS) process.off(s, onSignal);
  };
}
