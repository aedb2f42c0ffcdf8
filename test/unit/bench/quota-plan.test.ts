// The order of the quota runs (bench/quota.ts quotaPlan): ours and the raw cgroup side by side only
// while their quotas together stay under the share given, one after the other otherwise.
import { describe, expect, it } from 'vitest';
import { describePlan, quotaPlan, quotasFor } from '../../../bench/quota.js';

const show = (slots: ReturnType<typeof quotaPlan>) =>
  slots.map((s) => s.map((j) => `${j.percent}${j.variant[0]}`).join('+'));

describe('quota plan', () => {
  it('runs everything one after the other with no side-by-side share, alternating which goes first', () => {
    expect(show(quotaPlan([20, 150], 0))).toEqual(['20o', '20r', '150r', '150o']);
  });

  it('puts ours and raw of small quotas into shared slots while their sum fits', () => {
    expect(show(quotaPlan([10, 20, 50, 100, 150], 60))).toEqual([
      '10o+10r+20r+20o',
      '50o',
      '50r',
      '100r',
      '100o',
      '150o',
      '150r',
    ]);
    expect(show(quotaPlan([10, 20, 50, 100, 150], 40))).toEqual([
      '10o+10r',
      '20r+20o',
      '50o',
      '50r',
      '100r',
      '100o',
      '150o',
      '150r',
    ]);
    expect(show(quotaPlan([10, 20, 50, 100, 150], 100))).toEqual([
      '10o+10r+20r+20o',
      '50o+50r',
      '100r',
      '100o',
      '150o',
      '150r',
    ]);
  });

  it('runs every job exactly once', () => {
    for (const max of [0, 40, 60, 100, 400]) {
      const jobs = quotaPlan([10, 20, 50, 100, 150], max).flat();
      expect(jobs).toHaveLength(10);
      expect(new Set(jobs.map((j) => `${j.percent}${j.variant}`)).size).toBe(10);
    }
  });

  it('measures quotas up to the host CPUs', () => {
    expect(quotasFor(2, false)).toEqual([10, 20, 50, 100, 150]);
    expect(quotasFor(1, false)).toEqual([10, 20, 50, 100]);
    expect(quotasFor(2, true)).toEqual([20, 150]);
  });
});

describe('quota plan in words', () => {
  it('names the quotas run side by side and those run one after the other', () => {
    expect(describePlan(quotaPlan([10, 20, 50, 100, 150], 60))).toBe(
      '10%, 20%: ours and the raw cgroup side by side (all of one slot started together and sampled at the same moments); 50%, 100%, 150%: ours and the raw cgroup one after the other, alternating which goes first.',
    );
    expect(describePlan(quotaPlan([20, 150], 0))).toBe(
      '20%, 150%: ours and the raw cgroup one after the other, alternating which goes first.',
    );
  });
});
