// Waiting for an event instead of timing it: poll a condition until it holds, and fail with what
// was awaited only after a generous deadline. A test asserts that the event happens (the process is
// gone, the cgroup is empty, the file shows X), never how fast: speed belongs in bench/. On a
// loaded machine the event comes later and the test still passes; if it never comes, it fails.

import { waitFor as pollUntil } from '../../bench/engines/wait.js';

/** Deadline for an event a loaded machine may delay: half of vitest's 60 s test timeout (vitest.config.ts). */
export const EVENT_DEADLINE_MS = 30_000;

/**
 * Poll `cond` every `intervalMs` until it returns true; throw "timed out after N ms waiting for
 * WHAT" once `deadlineMs` has passed. Returns the milliseconds it waited (for printed statistics,
 * never for an assertion).
 */
export function waitFor(
  cond: () => boolean | Promise<boolean>,
  what: string,
  deadlineMs = EVENT_DEADLINE_MS,
  intervalMs = 20,
): Promise<number> {
  return pollUntil(cond, what, deadlineMs, intervalMs);
}

/** Settle with `promise`, or throw "timed out … waiting for WHAT" if it has not settled by `deadlineMs`. */
export async function within<T>(promise: Promise<T>, what: string, deadlineMs = EVENT_DEADLINE_MS): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${deadlineMs} ms waiting for ${what}`)), deadlineMs);
  });
  try {
    return await Promise.race([promise, deadline]);
  } finally {
    clearTimeout(timer);
  }
}
