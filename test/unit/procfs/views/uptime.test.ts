// /proc/uptime view: seconds since the sandbox started, idle over the visible CPUs, like the kernel prints.
import { describe, expect, it } from 'vitest';
import { parseUptime } from '../../../../procfs/parse/uptime.js';
import { createViewMemory } from '../../../../procfs/views/state.js';
import { formatSeconds, renderUptime } from '../../../../procfs/views/uptime.js';
import { expectGolden } from '../golden.js';
import { NOW_MS, sandbox150, sandbox20, STARTED_AT_MS, withCpu } from '../scenarios.js';

describe('renderUptime', () => {
  it('matches the golden outputs', () => {
    const a = renderUptime(sandbox20().cpu, createViewMemory(STARTED_AT_MS), NOW_MS);
    const b = renderUptime(sandbox150().cpu, createViewMemory(STARTED_AT_MS), NOW_MS);
    expectGolden('sandbox20', 'uptime', a);
    expectGolden('sandbox150', 'uptime', b);
    expect(a).toBe('12.34 11.68\n'); // 12.345 × 1 − 0.659935
    expect(b).toBe('12.34 21.66\n'); // 12.345 × 2 − 3.022408
  });

  it('prints two decimals truncated, as "%lu.%02lu" of tv_nsec / 10^7', () => {
    expect(formatSeconds(0)).toBe('0.00');
    expect(formatSeconds(0.509)).toBe('0.50');
    expect(formatSeconds(12.999)).toBe('12.99');
    expect(formatSeconds(86400.07)).toBe('86400.07');
    expect(formatSeconds(-3)).toBe('0.00');
  });

  it('never serves a negative idle, nor one that goes backwards', () => {
    const memory = createViewMemory(STARTED_AT_MS);
    const busy = withCpu(sandbox20(), { userUs: 50_000_000, systemUs: 0 }); // more busy than uptime × n
    expect(parseUptime(renderUptime(busy.cpu, memory, STARTED_AT_MS + 10_000)).idleSec).toBe(0);
    const calm = withCpu(sandbox20(), { userUs: 1_000_000, systemUs: 0 });
    const a = parseUptime(renderUptime(calm.cpu, memory, STARTED_AT_MS + 30_000));
    expect(a.idleSec).toBe(29);
    const b = parseUptime(renderUptime(withCpu(calm, { userUs: 20_000_000 }).cpu, memory, STARTED_AT_MS + 31_000));
    expect(b.idleSec).toBe(29);
    const c = parseUptime(renderUptime(calm.cpu, memory, STARTED_AT_MS + 20_000)); // clock stepped back
    expect(c.uptimeSec).toBe(31);
    expect(c.idleSec).toBeGreaterThanOrEqual(b.idleSec);
  });

  it('is 0 at the start and never before it', () => {
    expect(renderUptime(sandbox20().cpu, createViewMemory(STARTED_AT_MS), STARTED_AT_MS - 5000)).toBe('0.00 0.00\n');
  });
});
