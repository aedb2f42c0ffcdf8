// One timer as a promise, for the polling loops (a builtin's import would cost the launch path a module load).

/** Resolve after `ms` milliseconds. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
