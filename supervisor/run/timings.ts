// Phase timestamps of a `sandbox run` (ms since process start), printed with SANDBOX_TIMINGS=1 for
// bench/ (bench/launch.ts reads the line).
import type { ViewServer } from '../../procfs/fs.js';

const timings: Record<string, number> = {};
/** Whether marks are taken: the first use of the global `performance` loads perf_hooks (1.2-1.8 ms here). */
const TIMED = process.env.SANDBOX_TIMINGS === '1';

/** Record that `phase` ended now (nothing without SANDBOX_TIMINGS=1). */
export function mark(phase: string): void {
  if (TIMED) timings[phase] = Math.round(performance.now() * 100) / 100;
}

/** Print the marks, and the render cache counts of our own views' server when there is one (SANDBOX_TIMINGS=1). */
export function printTimings(viewServer: ViewServer | null): void {
  if (TIMED) process.stderr.write(`sandbox-timings ${JSON.stringify(timings)}\n`);
  if (TIMED && viewServer) process.stderr.write(`sandbox-views ${JSON.stringify(viewServer.renderCounts())}\n`);
}
