// watchOom (supervisor/events.ts): the OOM counter is read when the kernel notifies and a few
// times after, never on a timer while nothing happens (issue 24: an idle sandbox costs no wake-up).
// Counted on fake timers: how many readings a watch takes, not how long anything takes.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { watchOom, type OomChanges } from '../../../supervisor/events.js';

const MINUTE = 60_000;

describe('watchOom', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  /** A watch on a counter that never grows (nothing is published), with a notifier the test fires. */
  function counted(changes: OomChanges) {
    let reads = 0;
    const watch = watchOom('a1b2c3d4e5f6', null, async () => (reads++, 0), changes, 1000);
    return { watch, reads: () => reads };
  }

  it('reads once when armed, then nothing for an idle hour', async () => {
    let closed = 0;
    const { watch, reads } = counted(() => ({ close: async () => void closed++ }));
    await vi.advanceTimersByTimeAsync(999);
    expect(reads()).toBe(0);
    await vi.advanceTimersByTimeAsync(1);
    expect(reads()).toBe(1);
    await vi.advanceTimersByTimeAsync(60 * MINUTE);
    expect(reads()).toBe(1);
    expect(vi.getTimerCount()).toBe(0);
    await watch.stop();
    expect(reads()).toBe(2); // the last reading of stop()
    expect(closed).toBe(1);
  });

  it('a notification gives a bounded run of re-reads, then quiet again', async () => {
    let notify: () => void = () => undefined;
    const { watch, reads } = counted((onChange) => ((notify = onChange), { close: async () => undefined }));
    await vi.advanceTimersByTimeAsync(1000);
    notify();
    await vi.advanceTimersByTimeAsync(MINUTE);
    const afterOne = reads();
    expect(afterOne).toBeGreaterThan(2);
    expect(afterOne).toBeLessThan(10);
    await vi.advanceTimersByTimeAsync(60 * MINUTE);
    expect(reads()).toBe(afterOne);
    expect(vi.getTimerCount()).toBe(0);
    await watch.stop();
  });

  it('polls as before only where the kernel refuses the notification', async () => {
    const { watch, reads } = counted(() => {
      throw new Error('write cgroup.event_control: EINVAL');
    });
    const stderr = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    await vi.advanceTimersByTimeAsync(1000 + 10_000);
    expect(reads()).toBeGreaterThanOrEqual(20);
    expect(stderr).toHaveBeenCalledWith(expect.stringContaining('polling every 500 ms'));
    stderr.mockRestore();
    await watch.stop();
  });

  it('a sandbox that ends before the watch is armed never arms it', async () => {
    let armed = 0;
    const { watch, reads } = counted(() => (armed++, { close: async () => undefined }));
    await vi.advanceTimersByTimeAsync(500);
    await watch.stop();
    await vi.advanceTimersByTimeAsync(MINUTE);
    expect(armed).toBe(0);
    expect(reads()).toBe(1);
  });
});
