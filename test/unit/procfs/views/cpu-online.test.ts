// /sys/devices/system/cpu/online view: "0" or "0-(n−1)", the kernel's cpulist format.
import { describe, expect, it } from 'vitest';
import { parseCpuList } from '../../../../supervisor/cgroup/cpulist.js';
import { renderCpuOnline } from '../../../../procfs/views/cpu-online.js';
import { expectGolden } from '../golden.js';
import { hostFile, sandbox150, sandbox20, withCpu } from '../scenarios.js';

describe('renderCpuOnline', () => {
  it('matches the golden outputs', () => {
    expectGolden('sandbox20', 'cpu-online', renderCpuOnline(sandbox20().cpu));
    expectGolden('sandbox150', 'cpu-online', renderCpuOnline(sandbox150().cpu));
    expect(renderCpuOnline(sandbox20().cpu)).toBe('0\n');
    expect(renderCpuOnline(sandbox150().cpu)).toBe('0-1\n');
    expect(renderCpuOnline(sandbox150().cpu)).toBe(hostFile('cpu-online')); // the whole 2-CPU host
  });

  it('follows n = min(ceil(quota/period), cpuset), the cpuset alone without quota', () => {
    const base = sandbox20();
    const n = (quotaUs: number | null, cpus: number[]): number =>
      parseCpuList(renderCpuOnline(withCpu(base, { quotaUs, cpus }).cpu)).length;
    expect(n(20000, [3])).toBe(1);
    expect(n(100000, [0, 1, 2, 3])).toBe(1);
    expect(n(100001, [0, 1, 2, 3])).toBe(2);
    expect(n(250000, [0, 1, 2, 3])).toBe(3);
    expect(n(900000, [4, 5])).toBe(2);
    expect(n(null, [4, 5, 6])).toBe(3);
    expect(n(null, [])).toBe(1);
    expect(n(300000, [])).toBe(3);
  });
});
