// One timer as a promise, for the polling loops (timers/promises would be one more module to load at start).

/** Resolve after `ms` milliseconds. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
