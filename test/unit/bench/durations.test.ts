// The duration lines of the bench report (bench/durations.ts): each scenario's wall time and the
// run's total, as printed after the tables.
import { describe, expect, it } from 'vitest';
import { formatSeconds, runDuration, scenarioDuration } from '../../../bench/durations.js';

describe('bench durations', () => {
  it('formats seconds with one decimal under 10 s and whole seconds above', () => {
    expect(formatSeconds(4_349)).toBe('4.3 s');
    expect(formatSeconds(9_949)).toBe('9.9 s');
    expect(formatSeconds(61_600)).toBe('62 s');
    expect(formatSeconds(184_000)).toBe('184 s');
  });

  it('names the scenario and its duration', () => {
    expect(scenarioDuration('quota', 61_600)).toBe('quota: 62 s');
  });

  it('states the run mode, the total and each scenario in order', () => {
    expect(
      runDuration(
        false,
        [
          ['quota', 61_600],
          ['procfs', 20_400],
        ],
        184_200,
      ),
    ).toBe('full run: 184 s (quota 62 s, procfs 20 s)');
    expect(runDuration(true, [['burst', 3_700]], 5_000)).toBe('quick run: 5.0 s (burst 3.7 s)');
    expect(runDuration(false, [], 1_200)).toBe('full run: 1.2 s');
  });
});
