// Load averages: the kernel's fixed-point calc_load (kernel/sched/loadavg.c) and the /proc/loadavg view.
import { describe, expect, it } from 'vitest';
import {
  EXP_1,
  EXP_15,
  EXP_5,
  FIXED_1,
  FSHIFT,
  ZERO_LOAD,
  calcLoad,
  formatLoad,
  nextLoad,
  type LoadAverages,
} from '../../../procfs/loadavg.js';
import { parseLoadavg } from '../../../procfs/parse/loadavg.js';
import { renderLoadavg } from '../../../procfs/views/loadavg.js';
import { expectGolden } from './golden.js';

/** The kernel's calc_load() transcribed with 64-bit unsigned arithmetic (BigInt), as a reference. */
function kernelCalcLoad(load: bigint, exp: bigint, active: bigint): bigint {
  const fixed1 = 1n << 11n;
  let newload = load * exp + active * (fixed1 - exp);
  if (active >= load) newload += fixed1 - 1n;
  return newload / fixed1;
}

/** LOAD_INT / LOAD_FRAC after get_avenrun()'s FIXED_1/200 offset, as fs/proc/loadavg.c prints. */
function kernelFormat(x: bigint): string {
  const v = x + (1n << 11n) / 200n;
  return `${v >> 11n}.${String(((v & ((1n << 11n) - 1n)) * 100n) >> 11n).padStart(2, '0')}`;
}

function run(samples: number[]): LoadAverages {
  return samples.reduce((load, active) => nextLoad(load, active), ZERO_LOAD);
}

describe('loadavg math', () => {
  it('uses the kernel constants', () => {
    expect([FSHIFT, FIXED_1, EXP_1, EXP_5, EXP_15]).toEqual([11, 2048, 1884, 2014, 2037]);
  });

  it('agrees with the kernel formula step by step', () => {
    const pattern = [1, 3, 0, 0, 7, 2, 2, 2, 0, 1, 40, 0, 0, 0, 5];
    let ours: LoadAverages = ZERO_LOAD;
    let ref = [0n, 0n, 0n];
    for (let i = 0; i < 300; i++) {
      const active = pattern[i % pattern.length] ?? 0;
      ours = nextLoad(ours, active);
      const a = BigInt(active) * 2048n;
      ref = [
        kernelCalcLoad(ref[0] ?? 0n, 1884n, a),
        kernelCalcLoad(ref[1] ?? 0n, 2014n, a),
        kernelCalcLoad(ref[2] ?? 0n, 2037n, a),
      ];
      expect([ours.load1, ours.load5, ours.load15]).toEqual(ref.map(Number));
      expect(formatLoad(ours.load1)).toBe(kernelFormat(ref[0] ?? 0n));
    }
  });

  it('converges to 1.00 on the 1-minute average after ~5 minutes of a constant 1 task', () => {
    const samples = (n: number): number[] => new Array<number>(n).fill(1);
    expect(formatLoad(run(samples(12)).load1)).toBe('0.63'); // 1 minute: 1 − 1/e
    expect(formatLoad(run(samples(57)).load1)).toBe('0.99');
    expect(formatLoad(run(samples(60)).load1)).toBe('1.00'); // 5 minutes of 5-second samples
    const steady = run(samples(200));
    expect(steady.load1).toBe(FIXED_1); // the round-up makes it reach exactly 1.0, not 0.99…
    // 5 minutes on the 5-minute average: 1 − 1/e = 0.632, plus the kernel's rounding up while rising.
    expect(formatLoad(run(samples(60)).load5)).toBe('0.64');
  });

  it('decays without resetting when the cgroup is empty', () => {
    const busy = run(new Array<number>(60).fill(2));
    const after = nextLoad(busy, 0);
    expect(after.load1).toBe(calcLoad(busy.load1, EXP_1, 0));
    expect(after.load1).toBeGreaterThan(0);
    expect(after.load15).toBeLessThan(busy.load15);
  });

  it('formats like LOAD_INT.LOAD_FRAC with the rounding offset', () => {
    expect(formatLoad(0)).toBe('0.00');
    expect(formatLoad(FIXED_1)).toBe('1.00');
    expect(formatLoad(FIXED_1 - 10)).toBe('1.00');
    expect(formatLoad(FIXED_1 - 11)).toBe('0.99');
    expect(formatLoad(3 * FIXED_1 + FIXED_1 / 2)).toBe('3.50');
    expect(formatLoad(123 * FIXED_1)).toBe('123.00');
  });
});

describe('renderLoadavg', () => {
  const load = run([1, 1, 1]);

  it('matches the golden outputs (same averages in both scenarios: load depends on tasks only)', () => {
    const out = renderLoadavg(load, { running: 1, blocked: 0, threads: 3, lastPid: 7 });
    expectGolden('sandbox20', 'loadavg', out);
    expectGolden('sandbox150', 'loadavg', out);
    expect(out).toBe('0.22 0.05 0.02 1/3 7\n');
  });

  it('prints running/threads and the last pid in the kernel format', () => {
    const out = renderLoadavg(load, { running: 4, blocked: 2, threads: 12, lastPid: 345 });
    expect(out).toMatch(/^\d+\.\d\d \d+\.\d\d \d+\.\d\d \d+\/\d+ \d+\n$/);
    expect(parseLoadavg(out)).toMatchObject({ running: 4, threads: 12, lastPid: 345 });
    // The reader runs in the sandbox, so the kernel would count at least one running task.
    expect(parseLoadavg(renderLoadavg(ZERO_LOAD, { running: 0, blocked: 0, threads: 0, lastPid: 0 }))).toMatchObject({
      running: 1,
      threads: 1,
    });
  });
});
