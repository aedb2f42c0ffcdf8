// `npm run bench -- quota`: does `--cpu X%` deliver X%? For each quota, ceil(X/100) spinning threads
// run under ours (`sandbox run --cpu X% --cpu-period 100ms`) and under a raw cgroup with the same
// quota written by hand (the kernel ideal), one after the other in alternating order. After a
// warm-up the bench reads the cgroup's usage and cpu.stat from the host every 100 ms (two small
// reads: no busy-polling observer) and judges 1 s windows and the whole run only (cpuacct moves in
// scheduler ticks: ../shared/BENCH.md step 3).
import { cpus } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { counterFiles, readCounters, type CpuCounters } from './cgstat.js';
import { createRawCgroup } from './raw-cgroup.js';
import { BUSY, exited, runSandbox, sandboxOf } from './sandbox-proc.js';
import { quantile } from './stats.js';
import { fmt, pct, progress, type Row, type Section } from './table.js';

const PERIOD_US = 100_000;
const SAMPLE_MS = 100;

/** One measured run of one variant at one quota. */
export interface QuotaRun {
  variant: 'ours' | 'raw';
  percent: number;
  threads: number;
  samples: CpuCounters[];
}

/** The quotas measured: 10..150% up to the host's CPUs. */
export function quotasFor(hostCpus: number, quick: boolean): number[] {
  const all = quick ? [20, 150] : [10, 20, 50, 100, 150];
  return all.filter((p) => p <= hostCpus * 100);
}

/** Sample `dirs` every SAMPLE_MS for `seconds` after `warmupMs`. */
async function sampleRun(dirs: string[], warmupMs: number, seconds: number): Promise<CpuCounters[]> {
  const files = counterFiles(dirs);
  await sleep(warmupMs);
  const samples = [readCounters(files)];
  const t0 = samples[0]!.atNs;
  for (let i = 1; i <= (seconds * 1000) / SAMPLE_MS; i++) {
    // Aim at absolute times, so timer lateness doesn't accumulate.
    const wait = t0 / 1e6 + i * SAMPLE_MS - Number(process.hrtime.bigint()) / 1e6;
    if (wait > 0) await sleep(wait);
    samples.push(readCounters(files));
  }
  return samples;
}

async function runOurs(percent: number, threads: number, warmupMs: number, seconds: number): Promise<CpuCounters[]> {
  const total = warmupMs / 1000 + seconds + 2;
  const child = runSandbox(['--cpu', `${percent}%`, '--cpu-period', '100ms', '--mem', '256M', '--', BUSY, 'spin', String(threads), String(total)]);
  const done = exited(child);
  try {
    const info = await sandboxOf(child);
    return await sampleRun(info.cgroupDirs, warmupMs, seconds);
  } finally {
    child.kill('SIGTERM');
    await done;
  }
}

async function runRaw(percent: number, threads: number, warmupMs: number, seconds: number): Promise<CpuCounters[]> {
  const cg = await createRawCgroup(`sandbox-bench-raw-${process.pid}`, (percent / 100) * PERIOD_US, PERIOD_US);
  try {
    const child = cg.spawn([BUSY, 'spin', String(threads), String(warmupMs / 1000 + seconds + 2)]);
    const done = exited(child);
    try {
      return await sampleRun(cg.dirs, warmupMs, seconds);
    } finally {
      child.kill('SIGKILL');
      await done;
    }
  } finally {
    await cg.remove();
  }
}

/** Whole-run ratio of delivered CPU to the target. */
export function wholeRatio(run: QuotaRun): number {
  const a = run.samples[0]!;
  const b = run.samples[run.samples.length - 1]!;
  return (b.usageNs - a.usageNs) / ((b.atNs - a.atNs) * (run.percent / 100));
}

/** Relative error of each 1 s window (every 10th sample). */
export function windowErrors(run: QuotaRun): number[] {
  const step = 1000 / SAMPLE_MS;
  const out: number[] = [];
  for (let i = step; i < run.samples.length; i += step) {
    const a = run.samples[i - step]!;
    const b = run.samples[i]!;
    out.push((b.usageNs - a.usageNs) / ((b.atNs - a.atNs) * (run.percent / 100)) - 1);
  }
  return out;
}

function throttling(run: QuotaRun): { fraction: number; throttledMsPerS: number } {
  const a = run.samples[0]!;
  const b = run.samples[run.samples.length - 1]!;
  return { fraction: (b.nrThrottled - a.nrThrottled) / (b.nrPeriods - a.nrPeriods), throttledMsPerS: (b.throttledNs - a.throttledNs) / 1e6 / ((b.atNs - a.atNs) / 1e9) };
}

/** Run the quota scenario. */
export async function quotaBench(quick: boolean): Promise<Section> {
  const seconds = quick ? 1.2 : 10;
  const warmupMs = quick ? 300 : 1000;
  const runs: QuotaRun[] = [];
  const rows: Row[] = [];
  const notes: string[] = [];
  const percents = quotasFor(cpus().length, quick);
  for (const [k, percent] of percents.entries()) {
    const threads = Math.ceil(percent / 100);
    const order: Array<'ours' | 'raw'> = k % 2 === 0 ? ['ours', 'raw'] : ['raw', 'ours'];
    const pair: Partial<Record<'ours' | 'raw', QuotaRun>> = {};
    for (const variant of order) {
      progress(`quota ${percent}% (${threads} thread${threads > 1 ? 's' : ''}): ${variant}, ${seconds} s`);
      try {
        const samples = variant === 'ours' ? await runOurs(percent, threads, warmupMs, seconds) : await runRaw(percent, threads, warmupMs, seconds);
        pair[variant] = { variant, percent, threads, samples };
        runs.push(pair[variant]!);
      } catch (err) {
        notes.push(`${percent}% ${variant}: not measured: ${(err as Error).message}`);
        progress(`quota ${percent}% ${variant} failed: ${(err as Error).message}`);
      }
    }
    const ours = pair.ours;
    const raw = pair.raw;
    const oR = ours ? wholeRatio(ours) : NaN;
    const rR = raw ? wholeRatio(raw) : NaN;
    const oW = ours ? windowErrors(ours) : [];
    const rW = raw ? windowErrors(raw) : [];
    const spread = (w: number[]) => (w.length ? `${pct(quantile(w, 0.05))} … ${pct(quantile(w, 0.95))}` : '');
    rows.push({ metric: `${percent}%: delivered / target, whole run`, ours: fmt(oR, 4), peer: fmt(rR, 4), ratio: fmt(oR / rR, 4), spread: `windows p5…p95 ${spread(oW)}`, target: '|ours − 1| ≤ 1%', met: Math.abs(oR - 1) <= 0.01 });
    rows.push({ metric: `${percent}%: ours − raw, whole run`, ours: pct(oR - rR), peer: '', ratio: '', spread: '', target: '≤ ±0.5%', met: Math.abs(oR - rR) <= 0.005 });
    const maxAbs = (w: number[]) => (w.length ? Math.max(...w.map(Math.abs)) : NaN);
    rows.push({ metric: `${percent}%: 1 s window error p5 / p95 / max|·|`, ours: oW.length ? `${pct(quantile(oW, 0.05))} / ${pct(quantile(oW, 0.95))} / ${pct(maxAbs(oW)).replace('+', '')}` : 'n/a', peer: rW.length ? `${pct(quantile(rW, 0.05))} / ${pct(quantile(rW, 0.95))} / ${pct(maxAbs(rW)).replace('+', '')}` : 'n/a', ratio: '', spread: `n = ${oW.length}`, target: '' });
    const oT = ours ? throttling(ours) : { fraction: NaN, throttledMsPerS: NaN };
    const rT = raw ? throttling(raw) : { fraction: NaN, throttledMsPerS: NaN };
    rows.push({ metric: `${percent}%: throttled periods / periods`, ours: fmt(oT.fraction, 3), peer: fmt(rT.fraction, 3), ratio: fmt(oT.fraction / rT.fraction, 2), spread: '', target: '' });
    rows.push({ metric: `${percent}%: throttled time per s (summed over CPUs)`, ours: fmt(oT.throttledMsPerS, 0, 'ms'), peer: fmt(rT.throttledMsPerS, 0, 'ms'), ratio: fmt(oT.throttledMsPerS / rT.throttledMsPerS, 2), spread: '', target: '' });
  }
  notes.push(`Each quota: ceil(X/100) spinning threads (native/bench/busy), period 100 ms, ${warmupMs} ms warm-up, then ${seconds} s sampled from the host every ${SAMPLE_MS} ms; ours and the raw cgroup run one after the other, alternating which goes first. Ours also pins a cpuset of ceil(X/100) CPUs (the least loaded); the raw cgroup has no cpuset.`);
  return { title: 'CPU quota enforcement: ours vs a raw cgroup (the kernel ideal)', peerName: 'raw cgroup', rows, notes, raw: runs };
}
