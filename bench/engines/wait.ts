// Waiting for an engine's event (a socket answers, a cgroup empties) by polling a condition, with a
// generous deadline: the engines share a loaded 2-CPU machine. The bench and the engine tests both
// wait this way (test/helpers/wait.ts polls through this one with the suite's deadline).
import { sleep } from '../../supervisor/sleep.js';

/** Deadline for an event a loaded machine may delay. */
const ENGINE_DEADLINE_MS = 30_000;

/**
 * Poll `cond` every `intervalMs` until it returns true; throw "timed out after N ms waiting for
 * WHAT" once `deadlineMs` has passed. Returns the milliseconds it waited.
 */
export async function waitFor(
  cond: () => boolean | Promise<boolean>,
  what: string,
  deadlineMs = ENGINE_DEADLINE_MS,
  intervalMs = 20,
): Promise<number> {
  const start = Date.now();
  for (;;) {
    if (await cond()) return Date.now() - start;
    if (Date.now() - start > deadlineMs) throw new Error(`timed out after ${deadlineMs} ms waiting for ${what}`);
    await sleep(intervalMs);
  }
}
