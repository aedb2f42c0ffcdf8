// /proc/meminfo view: golden outputs, the host's layout kept, the VIEWS.md rules and clamps.
import { describe, expect, it } from 'vitest';
import { meminfoValue, parseMeminfo } from '../../../../procfs/parse/meminfo.js';
import { replaceValue } from '../../../../procfs/views/columns.js';
import { MEMINFO_FROM_STAT, renderMeminfo } from '../../../../procfs/views/meminfo.js';
import { expectGolden } from '../golden.js';
import { hostFile, sandbox150, sandbox20, withMemory } from '../scenarios.js';

const host = hostFile('meminfo');
const MiB = 1024 * 1024;
const VIRTUALIZED = new Set([
  ...Object.keys(MEMINFO_FROM_STAT),
  'MemTotal',
  'MemFree',
  'MemAvailable',
  'Buffers',
  'Mlocked',
  'SwapTotal',
  'SwapFree',
]);

/** Parse a rendered meminfo into key → kB. */
function values(text: string): Map<string, number> {
  return new Map(parseMeminfo(text).lines.map((l) => [l.key ?? '', l.value ?? -1]));
}

/** The host capture with SwapTotal/SwapFree replaced: this machine has no swap. */
function hostWithSwap(totalKb: number, freeKb: number): string {
  return host
    .replace(/^SwapTotal:.*$/m, replaceValue('SwapTotal:             0 kB', totalKb))
    .replace(/^SwapFree:.*$/m, replaceValue('SwapFree:              0 kB', freeKb));
}

describe('renderMeminfo', () => {
  it('matches the golden output for 20% / 256 MiB / 1 CPU', () => {
    const out = renderMeminfo(host, sandbox20().memory);
    expectGolden('sandbox20', 'meminfo', out);
    // Hand-computed from test/fixtures/cgroup-v1/busy-256M: usage 85782528 B = 83772 kB.
    const v = values(out);
    expect(v.get('MemTotal')).toBe(262144);
    expect(v.get('MemFree')).toBe(262144 - 83772);
    expect(v.get('MemAvailable')).toBe(262144 - 83772 + 1452 + 27336); // + active_file + inactive_file
    expect(v.get('Cached')).toBe(28788); // file 29478912 B
    expect(v.get('Buffers')).toBe(0);
    expect(v.get('AnonPages')).toBe(53964);
    expect(v.get('Mapped')).toBe(3200);
    expect(v.get('Dirty')).toBe(20480);
    expect(v.get('Slab')).toBe(0); // v1: no slab keys
    expect(v.get('SwapTotal')).toBe(0);
  });

  it('matches the golden output for 150% / 1 GiB / 2 CPUs', () => {
    const out = renderMeminfo(host, sandbox150().memory);
    expectGolden('sandbox150', 'meminfo', out);
    const v = values(out);
    expect(v.get('MemTotal')).toBe(1048576);
    expect(v.get('MemFree')).toBe(1048576 - 141732); // usage 145133568 B
    expect(v.get('Inactive')).toBe(109312 + 28672);
  });

  it('copies every line it does not virtualize byte for byte, in the host order', () => {
    const outLines = renderMeminfo(host, sandbox20().memory).split('\n');
    const hostLines = host.split('\n');
    expect(outLines.length).toBe(hostLines.length);
    hostLines.forEach((line, i) => {
      const key = line.split(':')[0] ?? '';
      expect(outLines[i]?.split(':')[0]).toBe(key);
      if (!VIRTUALIZED.has(key)) expect(outLines[i]).toBe(line);
    });
    // Lines no tool adds to a memory total stay the host's.
    for (const key of ['CommitLimit', 'VmallocTotal', 'HugePages_Total', 'Hugepagesize', 'DirectMap2M']) {
      expect(outLines.find((l) => l.startsWith(`${key}:`))).toBe(hostLines.find((l) => l.startsWith(`${key}:`)));
    }
  });

  it('keeps the kernel columns: 16-column label, value right-aligned in 8', () => {
    const out = renderMeminfo(host, sandbox20().memory);
    for (const line of out.split('\n').filter((l) => l.endsWith(' kB'))) {
      const m = /^(.{16})( *)(\d+) kB$/.exec(line);
      expect(m, line).not.toBeNull();
      const digits = (m?.[3] ?? '').length;
      expect((m?.[2] ?? '').length + digits).toBe(Math.max(8, digits));
    }
  });

  it('replaces a number the way seq_put_decimal_ull_width(…, 8) prints it', () => {
    expect(replaceValue('MemTotal:       24683656 kB', 262144)).toBe('MemTotal:         262144 kB');
    expect(replaceValue('MemTotal:         262144 kB', 123456789)).toBe('MemTotal:       123456789 kB');
    expect(replaceValue('VmallocTotal:   34359738367 kB', 5)).toBe('VmallocTotal:          5 kB');
    expect(replaceValue('Active(anon):       1536 kB', 0)).toBe('Active(anon):          0 kB');
    expect(() => replaceValue('no value here', 1)).toThrow();
  });

  it('clamps: usage above the limit gives MemFree 0, MemAvailable never above MemTotal', () => {
    const over = withMemory(sandbox20(), { usageBytes: 300 * MiB });
    const v = values(renderMeminfo(host, over.memory));
    expect(v.get('MemFree')).toBe(0);
    expect(v.get('MemAvailable')).toBe(1452 + 27336);
    const hugeCache = withMemory(sandbox20(), {
      usageBytes: 10 * MiB,
      stat: { ...sandbox20().memory.stat, active_file: 200 * MiB, inactive_file: 200 * MiB },
    });
    expect(values(renderMeminfo(host, hugeCache.memory)).get('MemAvailable')).toBe(262144);
  });

  it('uses the host total when there is no limit or the limit is above the host', () => {
    expect(values(renderMeminfo(host, withMemory(sandbox20(), { limitBytes: null }).memory)).get('MemTotal')).toBe(
      24683656,
    );
    expect(values(renderMeminfo(host, withMemory(sandbox20(), { limitBytes: 2 ** 50 }).memory)).get('MemTotal')).toBe(
      24683656,
    );
  });

  it('matches memory.stat keys exactly: file_mapped is not file', () => {
    const v = values(
      renderMeminfo(host, withMemory(sandbox20(), { stat: { file_mapped: 8 * MiB, file_dirty: MiB } }).memory),
    );
    expect(v.get('Cached')).toBe(0);
    expect(v.get('Mapped')).toBe(8192);
    expect(v.get('Dirty')).toBe(1024);
  });

  it('serves v2 slab keys in the slab lines and in MemAvailable', () => {
    const stat = {
      ...sandbox20().memory.stat,
      slab_reclaimable: 10 * MiB,
      slab_unreclaimable: 2 * MiB,
      kernel_stack: 256 * 1024,
    };
    const v = values(renderMeminfo(host, withMemory(sandbox20(), { stat }).memory));
    expect(v.get('Slab')).toBe(12288);
    expect(v.get('SReclaimable')).toBe(10240);
    expect(v.get('SUnreclaim')).toBe(2048);
    expect(v.get('KReclaimable')).toBe(10240);
    expect(v.get('KernelStack')).toBe(256);
    expect(v.get('MemAvailable')).toBe(178372 + 1452 + 27336 + 10240);
  });

  it('gives free/top a used figure of the cgroup, never the host cache', () => {
    // procps: used = MemTotal − MemFree − Buffers − (Cached + SReclaimable)
    const v = values(renderMeminfo(host, sandbox20().memory));
    const used =
      (v.get('MemTotal') ?? 0) -
      (v.get('MemFree') ?? 0) -
      (v.get('Buffers') ?? 0) -
      (v.get('Cached') ?? 0) -
      (v.get('SReclaimable') ?? 0);
    expect(used).toBe(83772 - 28788);
    expect(used).toBeGreaterThan(0);
  });

  it('serves swap as min(allowance, host), 0 when either has none', () => {
    const hostSwap = hostWithSwap(2097148, 2000000);
    expect(meminfoValue(parseMeminfo(hostSwap), 'SwapTotal')).toBe(2097148);
    const some = withMemory(sandbox20(), { swapLimitBytes: 512 * MiB, swapUsageBytes: 100 * MiB });
    let v = values(renderMeminfo(hostSwap, some.memory));
    expect(v.get('SwapTotal')).toBe(524288);
    expect(v.get('SwapFree')).toBe(524288 - 102400);
    v = values(renderMeminfo(hostSwap, withMemory(some, { swapLimitBytes: null }).memory));
    expect(v.get('SwapTotal')).toBe(2097148);
    v = values(renderMeminfo(hostSwap, withMemory(some, { swapLimitBytes: 0, swapUsageBytes: 0 }).memory));
    expect(v.get('SwapTotal')).toBe(0);
    v = values(renderMeminfo(host, some.memory)); // the captured host has no swap
    expect([v.get('SwapTotal'), v.get('SwapFree')]).toEqual([0, 0]);
    v = values(renderMeminfo(hostSwap, withMemory(some, { swapUsageBytes: 600 * MiB }).memory));
    expect(v.get('SwapFree')).toBe(0);
  });

  it('bounds Mlocked by the cgroup unevictable pages', () => {
    const stat = { ...sandbox20().memory.stat, unevictable: 4 * MiB };
    expect(values(renderMeminfo(host, withMemory(sandbox20(), { stat }).memory)).get('Mlocked')).toBe(
      Math.min(4096, meminfoValue(parseMeminfo(host), 'Mlocked') ?? 0),
    );
  });
});
