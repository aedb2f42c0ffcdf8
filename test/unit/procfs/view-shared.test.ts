// SharedViews.withMemory: a sandbox's ViewMemory (what /proc/stat and /proc/uptime carry between
// renders) kept in shared memory comes back exactly as the last render left it, for the same start;
// another start (a reader cgroup read from another pid namespace) starts afresh.
import { describe, expect, it } from 'vitest';
import { SharedViews, createSharedViewData } from '../../../procfs/view-shared.js';
import type { ViewMemory } from '../../../procfs/views/index.js';

/** A memory as a render of /proc/stat leaves it: fractional counters, a per-CPU map in a given order. */
function sample(cpus: number, hostCpus: number, startedAtMs: number): ViewMemory {
  return {
    startedAtMs,
    lastNowMs: 1765090456789.5,
    uptimeIdleSec: 1234.5678901234567,
    cpu: {
      cpus: Array.from({ length: cpus }, (_, i) => ({
        userUs: 1e6 / 3 + i,
        systemUs: 0.1 + 0.2 * i,
        idleUs: 2 ** 53 - 1 - i,
      })),
      seenUserUs: 98765432.1,
      seenSystemUs: 0,
      seenPerCpu: new Map(
        Array.from({ length: hostCpus }, (_, i) => [hostCpus - 1 - i, { userUs: i * 7.25, systemUs: i / 9 }] as const),
      ),
    },
  };
}

describe('SharedViews.withMemory', () => {
  it('starts at startedAtMs, then gives back exactly what the last render left, per slot', () => {
    const shared = new SharedViews(createSharedViewData(3));
    for (const slot of [0, 1, 2]) shared.resetSlot(slot);
    expect(shared.withMemory(1, 5000, (m) => ({ ...m }))).toEqual({
      startedAtMs: 5000,
      lastNowMs: 5000,
      cpu: null,
      uptimeIdleSec: 0,
    });
    const left = sample(4, 64, 5000);
    shared.withMemory(1, 5000, (m) => Object.assign(m, left));
    shared.withMemory(2, 7000, (m) => Object.assign(m, { lastNowMs: 7001, uptimeIdleSec: 3 }));
    const back = shared.withMemory(1, 5000, (m) => m);
    expect(back).toEqual(left);
    expect([...back.cpu!.seenPerCpu.keys()]).toEqual([...left.cpu!.seenPerCpu.keys()]);
    expect(shared.withMemory(2, 7000, (m) => m)).toEqual({
      startedAtMs: 7000,
      lastNowMs: 7001,
      cpu: null,
      uptimeIdleSec: 3,
    });
    expect(shared.withMemory(0, 9000, (m) => m)).toEqual({
      startedAtMs: 9000,
      lastNowMs: 9000,
      cpu: null,
      uptimeIdleSec: 0,
    });
    expect(shared.withMemory(1, 6000, (m) => m)).toEqual({
      startedAtMs: 6000,
      lastNowMs: 6000,
      cpu: null,
      uptimeIdleSec: 0,
    });
  });

  it('a reset slot starts again; a memory too large for a slot is not stored', () => {
    const shared = new SharedViews(createSharedViewData(1));
    shared.resetSlot(0);
    shared.withMemory(0, 1, (m) => Object.assign(m, sample(2, 8, 1)));
    shared.withMemory(0, 1, (m) => Object.assign(m, sample(1000, 1000, 1)));
    expect(shared.withMemory(0, 1, (m) => m)).toEqual(sample(2, 8, 1));
    shared.resetSlot(0);
    expect(shared.withMemory(0, 1, (m) => m)).toEqual({ startedAtMs: 1, lastNowMs: 1, cpu: null, uptimeIdleSec: 0 });
  });
});
