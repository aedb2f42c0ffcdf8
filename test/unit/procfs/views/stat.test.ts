// /proc/stat view: layout, counters from the cgroup, idle scaled to the quota, never backwards.
import { describe, expect, it } from 'vitest';
import { CPU_FIELDS, parseStat, type CpuTimes } from '../../../../procfs/parse/stat.js';
import { advanceCpuAccount } from '../../../../procfs/views/cpu-account.js';
import { createViewMemory } from '../../../../procfs/views/state.js';
import { renderStat } from '../../../../procfs/views/stat.js';
import type { TaskSample } from '../../../../procfs/tasks.js';
import { expectGolden } from '../golden.js';
import { hostFile, NOW_MS, sandbox150, sandbox20, STARTED_AT_MS, withCpu } from '../scenarios.js';

const host = hostFile('stat');
const TASKS: TaskSample = { running: 1, blocked: 0, threads: 3, lastPid: 7 };

function total(t: CpuTimes | null | undefined): number {
  return CPU_FIELDS.reduce((s, f) => s + (t?.[f] ?? 0), 0);
}
function busy(t: CpuTimes | null | undefined): number {
  return (t?.user ?? 0) + (t?.system ?? 0);
}
/** Busy share of the summary line between two renders, as top computes it. */
function busyShare(a: string, b: string): number {
  const x = parseStat(a).cpu;
  const y = parseStat(b).cpu;
  return (busy(y) - busy(x)) / (total(y) - total(x));
}

describe('renderStat', () => {
  it('matches the golden output for 20% / 1 CPU', () => {
    const out = renderStat(host, sandbox20().cpu, TASKS, createViewMemory(STARTED_AT_MS), NOW_MS);
    expectGolden('sandbox20', 'stat', out);
    // 12.345 s at 20% = 2.469 s capacity; busy 0.603935 + 0.056 s; idle the rest.
    expect(out.split('\n').slice(0, 2)).toEqual(['cpu  60 0 5 180 0 0 0 0 0 0', 'cpu0 60 0 5 180 0 0 0 0 0 0']);
  });

  it('matches the golden output for 150% / 2 CPUs, split by where the cgroup ran', () => {
    const out = renderStat(host, sandbox150().cpu, TASKS, createViewMemory(STARTED_AT_MS), NOW_MS);
    expectGolden('sandbox150', 'stat', out);
    // Each CPU owns 0.75 × 12.345 s = 9.25875 s; CPU 0 ran 1.051945 + 0.02 s, CPU 1 1.754463 + 0.196 s.
    expect(out.split('\n').slice(0, 3)).toEqual([
      'cpu  280 0 21 1549 0 0 0 0 0 0',
      'cpu0 105 0 2 818 0 0 0 0 0 0',
      'cpu1 175 0 19 730 0 0 0 0 0 0',
    ]);
  });

  it('keeps the kernel layout: one cpu line, n cpuN lines, host lines verbatim', () => {
    const out = renderStat(
      host,
      sandbox150().cpu,
      { running: 0, blocked: 2, threads: 5, lastPid: 9 },
      createViewMemory(STARTED_AT_MS),
      NOW_MS,
    );
    const lines = out.split('\n');
    expect(lines[0]).toMatch(/^cpu {2}\d+( \d+){9}$/);
    expect(lines[1]).toMatch(/^cpu0 \d+( \d+){9}$/);
    expect(lines[2]).toMatch(/^cpu1 \d+( \d+){9}$/);
    expect(out.endsWith('\n')).toBe(true);
    const hostLines = host.split('\n');
    for (const key of ['intr', 'ctxt', 'processes', 'softirq']) {
      expect(lines.find((l) => l.startsWith(`${key} `))).toBe(hostLines.find((l) => l.startsWith(`${key} `)));
    }
    expect(lines).toContain(`btime ${STARTED_AT_MS / 1000}`);
    expect(lines).toContain('procs_running 1'); // the reader itself runs
    expect(lines).toContain('procs_blocked 2');
    expect(lines.map((l) => l.split(' ')[0])).toEqual([
      'cpu',
      'cpu0',
      'cpu1',
      ...hostLines.slice(3).map((l) => l.split(' ')[0]),
    ]);
    expect(
      parseStat(renderStat(host, sandbox20().cpu, TASKS, createViewMemory(STARTED_AT_MS), NOW_MS)).perCpu.length,
    ).toBe(1);
  });

  it('starts the counters from the cgroup real usage, not 0', () => {
    const stats = withCpu(sandbox20(), { userUs: 5_000_000, systemUs: 1_230_000 });
    const t = parseStat(
      renderStat(host, stats.cpu, TASKS, createViewMemory(STARTED_AT_MS), STARTED_AT_MS + 60_000),
    ).cpu;
    expect([t?.user, t?.system]).toEqual([500, 123]);
    expect([t?.nice, t?.iowait, t?.irq, t?.softirq, t?.steal, t?.guest, t?.guest_nice]).toEqual([0, 0, 0, 0, 0, 0, 0]);
  });

  it('never goes backwards, even when usage or the clock decrease', () => {
    const memory = createViewMemory(STARTED_AT_MS);
    const feed = [
      { t: 5_000, user: 900_000, sys: 100_000 },
      { t: 6_000, user: 700_000, sys: 50_000 }, // usage read lower (a new cgroup, a v1 counter reset)
      { t: 5_500, user: 950_000, sys: 120_000 }, // the wall clock stepped back
      { t: 9_000, user: 100_000, sys: 10_000 },
      { t: 20_000, user: 3_000_000, sys: 300_000 },
    ];
    let prev: ReturnType<typeof parseStat> | null = null;
    for (const f of feed) {
      const cpu = withCpu(sandbox150(), {
        userUs: f.user,
        systemUs: f.sys,
        perCpu: [
          { cpu: 0, userUs: f.user / 4, systemUs: f.sys / 2 },
          { cpu: 1, userUs: (3 * f.user) / 4, systemUs: f.sys / 2 },
        ],
      }).cpu;
      const now = parseStat(renderStat(host, cpu, TASKS, memory, STARTED_AT_MS + f.t));
      if (prev) {
        for (const f2 of CPU_FIELDS) expect(now.cpu?.[f2]).toBeGreaterThanOrEqual(prev.cpu?.[f2] ?? 0);
        now.perCpu.forEach((c, i) => {
          for (const f2 of CPU_FIELDS) expect(c.times[f2]).toBeGreaterThanOrEqual(prev?.perCpu[i]?.times[f2] ?? 0);
        });
      }
      prev = now;
    }
    expect(prev?.cpu?.user).toBe(300);
  });

  it('reads ~100% busy in the summary when the workload uses its whole 20% quota', () => {
    const memory = createViewMemory(STARTED_AT_MS);
    const at = (sec: number, usedUs: number): string =>
      renderStat(
        host,
        withCpu(sandbox20(), { userUs: usedUs * 0.9, systemUs: usedUs * 0.1, perCpu: null }).cpu,
        TASKS,
        memory,
        STARTED_AT_MS + sec * 1000,
      );
    const a = at(1, 200_000);
    const b = at(11, 2_200_000); // 10 s of wall time, 2 s of cgroup CPU: all of 20%
    expect(busyShare(a, b)).toBeGreaterThan(0.99);
    const c = at(21, 3_200_000); // next 10 s: 1 s of CPU, half the quota
    expect(busyShare(b, c)).toBeCloseTo(0.5, 2);
    const d = at(31, 3_200_000); // idle
    expect(busyShare(c, d)).toBe(0);
    // Each CPU's total advances with wall time × 0.2 (in ticks: 10 s × 0.2 × 100).
    expect(total(parseStat(d).cpu) - total(parseStat(c).cpu)).toBeCloseTo(200, -0.5);
  });

  it('reads ~100% busy when 150% over 2 CPUs is used up, and per-CPU lines show where it ran', () => {
    const memory = createViewMemory(STARTED_AT_MS);
    const at = (sec: number, cpu0Us: number, cpu1Us: number): string =>
      renderStat(
        host,
        withCpu(sandbox150(), {
          userUs: cpu0Us + cpu1Us,
          systemUs: 0,
          perCpu: [
            { cpu: 0, userUs: cpu0Us, systemUs: 0 },
            { cpu: 1, userUs: cpu1Us, systemUs: 0 },
          ],
        }).cpu,
        TASKS,
        memory,
        STARTED_AT_MS + sec * 1000,
      );
    const a = at(2, 1_500_000, 1_500_000);
    const b = at(12, 9_000_000, 9_000_000); // 15 CPU-s in 10 s = 1.5 CPUs
    expect(busyShare(a, b)).toBeGreaterThan(0.99);
    const [a1, b1] = [parseStat(a).perCpu, parseStat(b).perCpu];
    // Each visible CPU's total advances with wall time × 0.75: 10 s → 750 ticks.
    for (const i of [0, 1]) expect(total(b1[i]?.times) - total(a1[i]?.times)).toBeGreaterThanOrEqual(749);
    for (const i of [0, 1]) expect(total(b1[i]?.times) - total(a1[i]?.times)).toBeLessThanOrEqual(751);
    const c = at(22, 19_000_000, 9_000_000); // one thread on CPU 0 only: 1 of 1.5 CPUs
    expect(busyShare(b, c)).toBeCloseTo(2 / 3, 2);
    // Per CPU (top -1): CPU 0 full, CPU 1 idle; the idle growth went where there was room.
    const c1 = parseStat(c).perCpu;
    const share = (i: number): number =>
      (busy(c1[i]?.times) - busy(b1[i]?.times)) / (total(c1[i]?.times) - total(b1[i]?.times));
    expect(share(0)).toBeCloseTo(1, 2);
    expect(share(1)).toBe(0);
  });

  it('folds host CPUs onto the visible ones and spreads evenly without per-CPU figures', () => {
    // cpuset of 4 CPUs, 200% quota: 2 visible; host CPUs 0,2 → cpu0 and 1,3 → cpu1 (by cpuset position).
    const cpu = withCpu(sandbox20(), {
      quotaUs: 200000,
      cpus: [0, 1, 2, 3],
      userUs: 1_000_000,
      systemUs: 0,
      perCpu: [
        { cpu: 0, userUs: 100_000, systemUs: 0 },
        { cpu: 1, userUs: 200_000, systemUs: 0 },
        { cpu: 2, userUs: 300_000, systemUs: 0 },
        { cpu: 3, userUs: 400_000, systemUs: 0 },
      ],
    }).cpu;
    const folded = advanceCpuAccount(null, cpu, 10_000_000);
    expect(folded.cpus.map((c) => Math.round(c.userUs))).toEqual([400_000, 600_000]);
    const even = advanceCpuAccount(null, { ...cpu, perCpu: null }, 10_000_000);
    expect(even.cpus.map((c) => c.userUs)).toEqual([500_000, 500_000]);
  });

  it('keeps the summary equal to the sum of the cpuN lines (to the tick)', () => {
    const out = parseStat(renderStat(host, sandbox150().cpu, TASKS, createViewMemory(STARTED_AT_MS), NOW_MS));
    for (const f of CPU_FIELDS) {
      const sum = out.perCpu.reduce((s, c) => s + c.times[f], 0);
      expect((out.cpu?.[f] ?? 0) - sum).toBeGreaterThanOrEqual(0);
      expect((out.cpu?.[f] ?? 0) - sum).toBeLessThanOrEqual(out.perCpu.length);
    }
  });

  it('keeps the aggregate when the number of visible CPUs changes', () => {
    const memory = createViewMemory(STARTED_AT_MS);
    const a = parseStat(renderStat(host, sandbox150().cpu, TASKS, memory, NOW_MS));
    const b = parseStat(renderStat(host, withCpu(sandbox150(), { quotaUs: 50000 }).cpu, TASKS, memory, NOW_MS + 1000));
    expect(b.perCpu.length).toBe(1);
    for (const f of CPU_FIELDS) expect(b.cpu?.[f]).toBeGreaterThanOrEqual(a.cpu?.[f] ?? 0);
  });
});
