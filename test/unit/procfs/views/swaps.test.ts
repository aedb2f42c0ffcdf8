// /proc/swaps view: header only without swap, else one area sized min(allowance, host).
import { describe, expect, it } from 'vitest';
import { parseSwaps } from '../../../../procfs/parse/swaps.js';
import { formatSwapLine, renderSwaps, SWAPS_HEADER } from '../../../../procfs/views/swaps.js';
import { expectGolden } from '../golden.js';
import { hostFile, sandbox150, sandbox20, withMemory } from '../scenarios.js';

const MiB = 1024 * 1024;
// This machine has no swap; this host text is built from mm/swapfile.c swap_show()'s format string
// "%*s%s\t%lu\t%s%lu\t%s%d\n" by hand: "/dev/vda2" (9 chars) + 31 spaces to column 40.
const HOST_WITH_SWAP = `${SWAPS_HEADER}\n/dev/vda2${' '.repeat(31)}partition\t2097148\t\t1024\t\t-2\n/swapfile${' '.repeat(31)}file\t\t1048572\t\t0\t\t-3\n`;

describe('renderSwaps', () => {
  it('matches the golden outputs: the captured host has no swap', () => {
    expectGolden('sandbox20', 'swaps', renderSwaps(hostFile('swaps'), sandbox20().memory));
    expectGolden('sandbox150', 'swaps', renderSwaps(hostFile('swaps'), sandbox150().memory));
    expect(renderSwaps(hostFile('swaps'), sandbox150().memory)).toBe(hostFile('swaps'));
  });

  it('shows the header only when the sandbox has no swap', () => {
    expect(renderSwaps(HOST_WITH_SWAP, sandbox20().memory)).toBe(`${SWAPS_HEADER}\n`); // swap limit 0
  });

  it('shows one area of min(allowance, host total) with the sandbox usage', () => {
    const some = withMemory(sandbox20(), { swapLimitBytes: 512 * MiB, swapUsageBytes: 3 * MiB });
    const out = renderSwaps(HOST_WITH_SWAP, some.memory);
    expect(out).toBe(`${SWAPS_HEADER}\n/dev/vda2${' '.repeat(31)}partition\t524288\t\t3072\t\t-2\n`);
    const unlimited = renderSwaps(HOST_WITH_SWAP, withMemory(some, { swapLimitBytes: null }).memory);
    expect(parseSwaps(unlimited).entries).toEqual([
      { filename: '/dev/vda2', type: 'partition', sizeKb: 2097148 + 1048572, usedKb: 3072, priority: -2 },
    ]);
    const over = renderSwaps(HOST_WITH_SWAP, withMemory(some, { swapUsageBytes: 900 * MiB }).memory);
    expect(parseSwaps(over).entries[0]?.usedKb).toBe(524288);
  });

  it('prints area lines exactly as swap_show() does', () => {
    const host = parseSwaps(HOST_WITH_SWAP);
    expect(host.entries.map(formatSwapLine).join('\n')).toBe(HOST_WITH_SWAP.split('\n').slice(1, 3).join('\n'));
    // No extra tab from 10000000 kB on; a path of 40+ characters gets one space.
    const long = '/very/long/path/to/a/swap/file/on/disk.swp';
    expect(formatSwapLine({ filename: long, type: 'file', sizeKb: 10000000, usedKb: 9999999, priority: 5 })).toBe(
      `${long} file\t\t10000000\t9999999\t\t5`,
    );
  });
});
