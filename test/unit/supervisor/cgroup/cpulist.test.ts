import { describe, expect, it } from 'vitest';
import { formatCpuList, parseCpuList } from '../../../../supervisor/cgroup/cpulist.js';

describe('parseCpuList', () => {
  it.each([
    ['', []],
    ['\n', []],
    ['0', [0]],
    ['1\n', [1]],
    ['0-1', [0, 1]],
    ['0-3,5', [0, 1, 2, 3, 5]],
    ['0-1,3', [0, 1, 3]],
    ['5,0-1', [0, 1, 5]],
    ['2,2,1-2', [1, 2]],
    ['8-11,16', [8, 9, 10, 11, 16]],
  ])('%j -> %j', (text, cpus) => {
    expect(parseCpuList(text)).toEqual(cpus);
  });

  it.each(['a', '1-', '-1', '3-1', '1,,2', '0-1 2', '1.5', '0-99999999'])('rejects %j', (text) => {
    expect(() => parseCpuList(text)).toThrow(/invalid CPU list/);
  });
});

describe('formatCpuList', () => {
  it.each([
    [[], ''],
    [[0], '0'],
    [[1], '1'],
    [[0, 1], '0-1'],
    [[0, 1, 3], '0-1,3'],
    [[5, 0, 1, 2, 3], '0-3,5'],
    [[0, 2, 4], '0,2,4'],
    [[3, 3, 4], '3-4'],
  ])('%j -> %j', (cpus, text) => {
    expect(formatCpuList(cpus)).toBe(text);
  });

  it('round-trips', () => {
    for (const text of ['0', '0-1', '0-3,5', '1,3,5-7']) expect(formatCpuList(parseCpuList(text))).toBe(text);
  });

  it('rejects non-ids', () => {
    expect(() => formatCpuList([-1])).toThrow();
    expect(() => formatCpuList([0.5])).toThrow();
  });
});
