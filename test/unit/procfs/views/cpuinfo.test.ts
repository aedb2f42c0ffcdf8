// /proc/cpuinfo view: only the n visible CPUs, renumbered, with agreeing topology lines.
import { describe, expect, it } from 'vitest';
import { parseCpuinfo } from '../../../../procfs/parse/cpuinfo.js';
import { renderCpuinfo } from '../../../../procfs/views/cpuinfo.js';
import { expectGolden } from '../golden.js';
import { hostFile, sandbox150, sandbox20, withCpu } from '../scenarios.js';

const host = hostFile('cpuinfo');

/** A 4-CPU host built from the 2-CPU capture (blocks repeated, processor/core id/apicid renumbered). */
function fourCpuHost(): string {
  const block = host.split('\n\n')[0] ?? '';
  return [0, 1, 2, 3]
    .map(
      (i) =>
        block
          .replace(/^processor\t: \d+$/m, `processor\t: ${i}`)
          .replace(/^siblings\t: \d+$/m, 'siblings\t: 4')
          .replace(/^cpu cores\t: \d+$/m, 'cpu cores\t: 4')
          .replace(/^core id\t\t: \d+$/m, `core id\t\t: ${i}`)
          .replace(/^apicid\t\t: \d+$/m, `apicid\t\t: ${10 + i}`) + '\n\n',
    )
    .join('');
}

function field(block: { lines: { key: string | null; value: string }[] } | undefined, key: string): string | undefined {
  return block?.lines.find((l) => l.key === key)?.value;
}

describe('renderCpuinfo', () => {
  it('matches the golden output for 20% of CPU 1', () => {
    const out = renderCpuinfo(host, sandbox20().cpu);
    expectGolden('sandbox20', 'cpuinfo', out);
    const blocks = parseCpuinfo(out).blocks;
    expect(blocks.map((b) => b.processor)).toEqual([0]);
    expect(field(blocks[0], 'apicid')).toBe('1'); // host CPU 1's block, renumbered
    expect(field(blocks[0], 'siblings')).toBe('1');
    expect(field(blocks[0], 'cpu cores')).toBe('1');
  });

  it('matches the golden output for 150% of CPUs 0-1, which is the host file itself', () => {
    const out = renderCpuinfo(host, sandbox150().cpu);
    expectGolden('sandbox150', 'cpuinfo', out);
    expect(out).toBe(host);
  });

  it('shows exactly n blocks numbered 0..n−1 with siblings = cpu cores = n', () => {
    const four = fourCpuHost();
    for (const [quotaUs, cpus, n] of [
      [20000, [2, 3], 1],
      [150000, [2, 3], 2],
      [250000, [0, 1, 2, 3], 3],
      [null, [1, 3], 2],
      [null, [0, 1, 2, 3], 4],
      [900000, [3], 1],
    ] as const) {
      const blocks = parseCpuinfo(renderCpuinfo(four, withCpu(sandbox20(), { quotaUs, cpus: [...cpus] }).cpu)).blocks;
      expect(blocks.map((b) => b.processor)).toEqual(Array.from({ length: n }, (_, i) => i));
      blocks.forEach((b, i) => {
        expect(field(b, 'siblings')).toBe(String(n));
        expect(field(b, 'cpu cores')).toBe(String(n));
        expect(field(b, 'core id')).toBe(String(i));
        expect(field(b, 'physical id')).toBe('0');
        expect(field(b, 'apicid')).toBe(String(10 + (cpus[i] ?? -1))); // the first n CPUs of the cpuset
      });
    }
  });

  it('keeps every other line of a block byte for byte', () => {
    const hostBlock = parseCpuinfo(host).blocks[1];
    const outBlock = parseCpuinfo(renderCpuinfo(host, sandbox20().cpu)).blocks[0];
    const changed = new Set(['processor', 'physical id', 'siblings', 'core id', 'cpu cores']);
    expect(outBlock?.lines.length).toBe(hostBlock?.lines.length);
    hostBlock?.lines.forEach((line, i) => {
      const out = outBlock?.lines[i];
      expect(out?.prefix).toBe(line.prefix);
      if (!changed.has(line.key ?? '')) expect(out?.raw).toBe(line.raw);
    });
  });

  it('fills in from other host blocks when a cpuset CPU has none (offline)', () => {
    const blocks = parseCpuinfo(renderCpuinfo(host, withCpu(sandbox20(), { quotaUs: null, cpus: [1, 5] }).cpu)).blocks;
    expect(blocks.map((b) => field(b, 'apicid'))).toEqual(['1', '0']);
  });
});
