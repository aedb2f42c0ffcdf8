// Reading the self-timing workload `bench-busy gaps` (native/bench/busy/busy.c) line by line:
// "start NS", "gap FROM_NS TO_NS" for each time it did not run, "end NS CPU_NS".
import type { ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';

/** What one gaps run reported, in host CLOCK_MONOTONIC ns. */
export interface GapsRun {
  startNs: number;
  gaps: Array<[number, number]>;
  endNs: number;
  cpuNs: number;
}

/** Follow a gaps workload's stdout; `onEnd` runs when the "end" line arrives (the workload lingers 300 ms after it). */
export function followGaps(
  child: ChildProcess,
  onEnd?: (run: GapsRun) => void,
  onStart?: () => void,
): Promise<GapsRun> {
  const run: GapsRun = { startNs: NaN, gaps: [], endNs: NaN, cpuNs: NaN };
  return new Promise((resolve, reject) => {
    const lines = createInterface({ input: child.stdout! });
    lines.on('line', (line) => {
      const [kind, a, b] = line.split(' ');
      if (kind === 'start') {
        run.startNs = Number(a);
        onStart?.();
      } else if (kind === 'gap') run.gaps.push([Number(a), Number(b)]);
      else if (kind === 'end') {
        run.endNs = Number(a);
        run.cpuNs = Number(b);
        try {
          onEnd?.(run);
        } catch (err) {
          reject(err as Error);
        }
      }
    });
    lines.on('close', () =>
      Number.isNaN(run.endNs) ? reject(new Error('the gaps workload ended without its "end" line')) : resolve(run),
    );
  });
}

/** Host CLOCK_MONOTONIC now, in ns (libuv uv_hrtime). */
export const nowNs = (): number => Number(process.hrtime.bigint());
