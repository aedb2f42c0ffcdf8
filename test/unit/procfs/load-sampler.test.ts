// LoadSampler: a 5-second timer folding task samples into the kernel's averages.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { FIXED_1, formatLoad } from '../../../procfs/loadavg.js';
import { LoadSampler } from '../../../procfs/load-sampler.js';
import type { TaskSample } from '../../../procfs/tasks.js';

const one: TaskSample = { running: 1, blocked: 0, threads: 2, lastPid: 5 };

describe('LoadSampler', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('folds one sample every 5 s, the first 5 s after start', async () => {
    const sample = vi.fn(async () => one);
    const sampler = new LoadSampler(sample);
    sampler.start();
    await vi.advanceTimersByTimeAsync(4999);
    expect(sample).not.toHaveBeenCalled();
    expect(sampler.averages().load1).toBe(0);
    await vi.advanceTimersByTimeAsync(5000);
    expect(sampler.averages().load1).toBe(164); // calc_load(0, EXP_1, FIXED_1) = (2048·164 + 2047) >> 11
    await vi.advanceTimersByTimeAsync(5 * 60 * 1000);
    expect(formatLoad(sampler.averages().load1)).toBe('1.00');
    sampler.stop();
    const calls = sample.mock.calls.length;
    await vi.advanceTimersByTimeAsync(60_000);
    expect(sample.mock.calls.length).toBe(calls);
  });

  it('counts running + blocked as active', async () => {
    const sampler = new LoadSampler(async () => ({ running: 0, blocked: 3, threads: 3, lastPid: 3 }));
    for (let i = 0; i < 200; i++) await sampler.tick();
    expect(sampler.averages().load1).toBe(3 * FIXED_1);
  });

  it('keeps history when the cgroup is briefly empty, and survives a failed sample', async () => {
    let mode: 'busy' | 'empty' | 'fail' = 'busy';
    const errors: unknown[] = [];
    const sampler = new LoadSampler(
      async () => {
        if (mode === 'fail') throw new Error('ENOENT cgroup.threads');
        return mode === 'busy'
          ? { running: 2, blocked: 0, threads: 2, lastPid: 2 }
          : { running: 0, blocked: 0, threads: 0, lastPid: 0 };
      },
      { onError: (e) => errors.push(e) },
    );
    sampler.start();
    await vi.advanceTimersByTimeAsync(60 * 5000);
    const busy = sampler.averages();
    mode = 'empty';
    await vi.advanceTimersByTimeAsync(5000);
    expect(sampler.averages().load1).toBeGreaterThan(busy.load1 / 2); // decayed one step, not reset
    expect(sampler.averages().load15).toBeGreaterThan(0);
    mode = 'fail';
    const before = sampler.averages();
    await vi.advanceTimersByTimeAsync(10_000);
    expect(errors.length).toBe(2);
    expect(sampler.averages()).toEqual(before);
    mode = 'busy';
    await vi.advanceTimersByTimeAsync(5000);
    expect(sampler.averages().load1).toBeGreaterThan(before.load1);
    sampler.stop();
  });

  it('does not keep the process alive and does not overlap slow samples', async () => {
    let resolve: (t: TaskSample) => void = () => {};
    const sample = vi.fn(() => new Promise<TaskSample>((r) => (resolve = r)));
    const sampler = new LoadSampler(sample, { intervalMs: 5000 });
    const spy = vi.spyOn(globalThis, 'setInterval');
    sampler.start();
    const timer = spy.mock.results[0]?.value as NodeJS.Timeout;
    expect(timer.hasRef()).toBe(false);
    await vi.advanceTimersByTimeAsync(20_000); // the first sample never returned: no pile-up
    expect(sample).toHaveBeenCalledTimes(1);
    resolve(one);
    await vi.advanceTimersByTimeAsync(5000);
    expect(sample).toHaveBeenCalledTimes(2);
    sampler.stop();
    spy.mockRestore();
  });
});
