import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { busyTicksPerCpu, chooseCpus } from '../../../supervisor/cpuset.js';

const fixture = (name: string) => readFileSync(new URL(`../../fixtures/proc-stat/${name}`, import.meta.url), 'utf8');

describe('busyTicksPerCpu', () => {
  it('sums user+nice+system+irq+softirq+steal of each cpuN line, never the aggregate cpu line', () => {
    const text = fixture('stat-before');
    const busy = busyTicksPerCpu(text);
    expect([...busy.keys()]).toEqual([0, 1]);
    const cpu1 = text
      .split('\n')
      .find((l) => l.startsWith('cpu1 '))!
      .split(/\s+/)
      .slice(1)
      .map(Number);
    expect(busy.get(1)).toBe(cpu1[0]! + cpu1[1]! + cpu1[2]! + cpu1[5]! + cpu1[6]! + cpu1[7]!);
  });

  it('counters only grow between two captures one second apart', () => {
    const before = busyTicksPerCpu(fixture('stat-before'));
    const after = busyTicksPerCpu(fixture('stat-after'));
    for (const [cpu, ticks] of after) expect(ticks).toBeGreaterThanOrEqual(before.get(cpu)!);
  });
});

describe('chooseCpus', () => {
  const none = new Map<number, number>();
  it('prefers CPUs pinned by fewer live sandboxes', () => {
    expect(
      chooseCpus(
        [0, 1, 2, 3],
        1,
        new Map([
          [0, 2],
          [1, 1],
          [2, 0],
          [3, 1],
        ]),
        none,
      ),
    ).toEqual([2]);
  });
  it('then the least busy, not always CPU 0', () => {
    expect(
      chooseCpus(
        [0, 1],
        1,
        none,
        new Map([
          [0, 30],
          [1, 4],
        ]),
      ),
    ).toEqual([1]);
    expect(
      chooseCpus(
        [0, 1, 2, 3],
        2,
        none,
        new Map([
          [0, 9],
          [1, 1],
          [2, 5],
          [3, 0],
        ]),
      ),
    ).toEqual([1, 3]);
  });
  it('then the lowest id, and never fewer than one or more than available', () => {
    expect(chooseCpus([2, 1, 0], 2, none, none)).toEqual([0, 1]);
    expect(chooseCpus([0, 1], 0, none, none)).toEqual([0]);
    expect(chooseCpus([0, 1], 5, none, none)).toEqual([0, 1]);
  });
});
