// `npm run bench -- quota`: does `--cpu X%` deliver X%? For each quota, ceil(X/100) spinning threads
// run under ours (`sandbox run --cpu X% --cpu-period 100ms`) and under a raw cgroup with the same
// quota written by hand (the kernel ideal): side by side for the small quotas (quotaPlan), one
// after the other in alternating order for the rest. After a warm-up the bench reads the cgroups'
// usage and cpu.stat from the host every 100 ms (two small reads each: no busy-polling observer)
// and judges 1 s windows and the whole run only (cpuacct moves in scheduler ticks:
// ../shared/BENCH.md step 3).
import { cpus } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { counterFiles, readCounters, type CpuCounters } from './cgstat.js';
import { createRawCgroup } from './raw-cgroup.js';
import { BUSY, exited, runSandbox, sandboxOf } from './sandbox-proc.js';
import { quantile } from './stats.js';
import { fmt, pct, progress, type Row, type Section } from './table.js';

const PERIOD_US = 100_000;
const SAMPLE_MS = 100;
/**
 * Warm-up of a full run before sampling starts: a fresh cgroup starts with a full quota that the
 * start-up spends from, so the first period is off target; 400 ms = the latest first throttle seen
 * plus two whole periods (docs/bench/README.md, "Why these settings").
 */
const WARMUP_MS = 400;
/**
 * The share of the host's CPUs that the quotas of one side-by-side slot may add up to: 0.3 of 2 CPUs
 * runs ours and raw of 10% and 20% in one slot (60% of one CPU in all). Side by side measured no
 * worse than one after the other (docs/bench/README.md, "Why these settings"), and sharing the slot puts both under the same load at
 * the same moments.
 */
const SIDE_BY_SIDE_SHARE = 0.3;

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

/** One run to make: a quota under ours or under the raw cgroup. */
export interface QuotaJob {
  percent: number;
  variant: 'ours' | 'raw';
}

/**
 * The order of the runs as slots; the jobs of one slot run at the same time, sampled at the same
 * moments. Ours and raw of one quota go side by side (into a shared slot while the slot's quotas
 * add up to at most `maxSlotPercent`, e.g. 60 = 0.3 of a 2-CPU host) when together they fit under
 * it; larger quotas run one after the other, alternating which goes first. `maxSlotPercent` 0 makes
 * every run sequential.
 */
export function quotaPlan(percents: readonly number[], maxSlotPercent: number): QuotaJob[][] {
  const slots: QuotaJob[][] = [];
  let open: { jobs: QuotaJob[]; sum: number } | null = null;
  for (const [k, percent] of percents.entries()) {
    const variants: Array<'ours' | 'raw'> = k % 2 === 0 ? ['ours', 'raw'] : ['raw', 'ours'];
    const pair = variants.map((variant) => ({ percent, variant }));
    if (2 * percent > maxSlotPercent) {
      open = null;
      for (const job of pair) slots.push([job]);
    } else if (open && open.sum + 2 * percent <= maxSlotPercent) {
      open.jobs.push(...pair);
      open.sum += 2 * percent;
    } else {
      open = { jobs: pair, sum: 2 * percent };
      slots.push(open.jobs);
    }
  }
  return slots;
}

/** The plan in words, for the report's note. */
export function describePlan(slots: readonly QuotaJob[][]): string {
  const list = (ps: number[]) => [...new Set(ps)].map((p) => `${p}%`).join(', ');
  const shared = slots
    .filter((s) => s.length > 1)
    .flat()
    .map((j) => j.percent);
  const alone = slots
    .filter((s) => s.length === 1)
    .flat()
    .map((j) => j.percent);
  const parts: string[] = [];
  if (shared.length)
    parts.push(
      `${list(shared)}: ours and the raw cgroup side by side (all of one slot started together and sampled at the same moments)`,
    );
  if (alone.length)
    parts.push(`${list(alone)}: ours and the raw cgroup one after the other, alternating which goes first`);
  return `${parts.join('; ')}.`;
}

/** Sample each of `sets` (one cgroup's dirs each) every SAMPLE_MS for `seconds` after `warmupMs`, all at the same moments. */
async function sampleRun(sets: string[][], warmupMs: number, seconds: number): Promise<CpuCounters[][]> {
  const files = sets.map((dirs) => counterFiles(dirs));
  await sleep(warmupMs);
  const samples = files.map((f) => [readCounters(f)]);
  const t0 = samples[0]![0]!.atNs;
  for (let i = 1; i <= (seconds * 1000) / SAMPLE_MS; i++) {
    // Aim at absolute times, so timer lateness doesn't accumulate.
    const wait = t0 / 1e6 + i * SAMPLE_MS - Number(process.hrtime.bigint()) / 1e6;
    if (wait > 0) await sleep(wait);
    for (const [k, f] of files.entries()) samples[k]!.push(readCounters(f));
  }
  return samples;
}

/** A workload running under a quota: its cgroup's dirs, and how to stop it and clean up. */
interface Started {
  job: QuotaJob;
  dirs: string[];
  stop(): Promise<void>;
}

async function startOurs(job: QuotaJob, threads: number, lifetimeS: number): Promise<Started> {
  const child = runSandbox([
    '--cpu',
    `${job.percent}%`,
    '--cpu-period',
    '100ms',
    '--mem',
    '256M',
    '--',
    BUSY,
    'spin',
    String(threads),
    String(lifetimeS),
  ]);
  const done = exited(child);
  const stop = async () => {
    child.kill('SIGTERM');
    await done;
  };
  try {
    return { job, dirs: (await sandboxOf(child)).cgroupDirs, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

async function startRaw(job: QuotaJob, threads: number, lifetimeS: number): Promise<Started> {
  const cg = await createRawCgroup(
    `sandbox-bench-raw-${process.pid}-${job.percent}`,
    (job.percent / 100) * PERIOD_US,
    PERIOD_US,
  );
  let child: ReturnType<typeof cg.spawn>;
  try {
    child = cg.spawn([BUSY, 'spin', String(threads), String(lifetimeS)]);
  } catch (err) {
    await cg.remove(); // nothing runs in it yet: the cgroup made for this run goes with the failure
    throw err;
  }
  const done = exited(child);
  return {
    job,
    dirs: cg.dirs,
    async stop() {
      child.kill('SIGKILL');
      await done;
      await cg.remove();
    },
  };
}

/**
 * Run the slots of `quotaPlan` one after the other. In a slot, ours start first (a sandbox takes
 * a few hundred ms to apply its limits) and the raw cgroups once ours show their cgroup, then all
 * warm up together and are sampled at the same moments. A run that can't start is left out with a
 * note; the others of its slot go on.
 */
async function measureQuotas(
  slots: readonly QuotaJob[][],
  warmupMs: number,
  seconds: number,
  notes: string[],
): Promise<QuotaRun[]> {
  const runs: QuotaRun[] = [];
  const threadsOf = (p: number) => Math.ceil(p / 100);
  const lifetimeS = warmupMs / 1000 + seconds + 2;
  for (const slot of slots) {
    const jobs = [...slot].sort((a, b) => (a.variant === b.variant ? 0 : a.variant === 'ours' ? -1 : 1));
    progress(
      `quota ${slot.map((j) => `${j.percent}% ${j.variant}`).join(' + ')} (${slot.length > 1 ? 'side by side, ' : ''}${seconds} s)`,
    );
    const started: Started[] = [];
    try {
      for (const job of jobs) {
        try {
          started.push(await (job.variant === 'ours' ? startOurs : startRaw)(job, threadsOf(job.percent), lifetimeS));
        } catch (err) {
          notes.push(`${job.percent}% ${job.variant}: not measured: ${(err as Error).message}`);
          progress(`quota ${job.percent}% ${job.variant} failed: ${(err as Error).message}`);
        }
      }
      if (started.length === 0) continue;
      const samples = await sampleRun(
        started.map((s) => s.dirs),
        warmupMs,
        seconds,
      );
      for (const [k, s] of started.entries())
        runs.push({ ...s.job, threads: threadsOf(s.job.percent), samples: samples[k]! });
    } finally {
      for (const s of started) await s.stop();
    }
  }
  return runs;
}

/** Whole-run ratio of delivered CPU to the target. */
function wholeRatio(run: QuotaRun): number {
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
  return {
    fraction: (b.nrThrottled - a.nrThrottled) / (b.nrPeriods - a.nrPeriods),
    throttledMsPerS: (b.throttledNs - a.throttledNs) / 1e6 / ((b.atNs - a.atNs) / 1e9),
  };
}

/** Run the quota scenario. */
export async function quotaBench(quick: boolean): Promise<Section> {
  const seconds = quick ? 1.2 : 10;
  const warmupMs = quick ? 300 : WARMUP_MS;
  const rows: Row[] = [];
  const notes: string[] = [];
  const percents = quotasFor(cpus().length, quick);
  const slots = quotaPlan(percents, quick ? 0 : SIDE_BY_SIDE_SHARE * cpus().length * 100);
  const runs = await measureQuotas(slots, warmupMs, seconds, notes);
  for (const percent of percents) {
    const pair: Partial<Record<'ours' | 'raw', QuotaRun>> = {};
    for (const r of runs) if (r.percent === percent) pair[r.variant] = r;
    const ours = pair.ours;
    const raw = pair.raw;
    const oR = ours ? wholeRatio(ours) : NaN;
    const rR = raw ? wholeRatio(raw) : NaN;
    const oW = ours ? windowErrors(ours) : [];
    const rW = raw ? windowErrors(raw) : [];
    const spread = (w: number[]) => (w.length ? `${pct(quantile(w, 0.05))} … ${pct(quantile(w, 0.95))}` : '');
    rows.push({
      metric: `${percent}%: delivered / target, whole run`,
      ours: fmt(oR, 4),
      peer: fmt(rR, 4),
      ratio: fmt(oR / rR, 4),
      spread: `windows p5…p95 ${spread(oW)}`,
      target: '|ours − 1| ≤ 1%',
      met: Math.abs(oR - 1) <= 0.01,
    });
    rows.push({
      metric: `${percent}%: ours − raw, whole run`,
      ours: pct(oR - rR),
      peer: '',
      ratio: '',
      spread: '',
      target: '≤ ±0.5%',
      met: Math.abs(oR - rR) <= 0.005,
    });
    const maxAbs = (w: number[]) => (w.length ? Math.max(...w.map(Math.abs)) : NaN);
    rows.push({
      metric: `${percent}%: 1 s window error p5 / p95 / max|·|`,
      ours: oW.length
        ? `${pct(quantile(oW, 0.05))} / ${pct(quantile(oW, 0.95))} / ${pct(maxAbs(oW)).replace('+', '')}`
        : 'n/a',
      peer: rW.length
        ? `${pct(quantile(rW, 0.05))} / ${pct(quantile(rW, 0.95))} / ${pct(maxAbs(rW)).replace('+', '')}`
        : 'n/a',
      ratio: '',
      spread: `n = ${oW.length}`,
      target: '',
    });
    const oT = ours ? throttling(ours) : { fraction: NaN, throttledMsPerS: NaN };
    const rT = raw ? throttling(raw) : { fraction: NaN, throttledMsPerS: NaN };
    rows.push({
      metric: `${percent}%: throttled periods / periods`,
      ours: fmt(oT.fraction, 3),
      peer: fmt(rT.fraction, 3),
      ratio: fmt(oT.fraction / rT.fraction, 2),
      spread: '',
      target: '',
    });
    rows.push({
      metric: `${percent}%: throttled time per s (summed over CPUs)`,
      ours: fmt(oT.throttledMsPerS, 0, 'ms'),
      peer: fmt(rT.throttledMsPerS, 0, 'ms'),
      ratio: fmt(oT.throttledMsPerS / rT.throttledMsPerS, 2),
      spread: '',
      target: '',
    });
  }
  notes.push(
    `Each quota: ceil(X/100) spinning threads (native/bench/busy), period 100 ms, ${warmupMs} ms warm-up, then ${seconds} s sampled from the host every ${SAMPLE_MS} ms; ${describePlan(slots)} Ours also pins a cpuset of ceil(X/100) CPUs (the least loaded); the raw cgroup has no cpuset.`,
  );
  return {
    title: 'CPU quota enforcement: ours vs a raw cgroup (the kernel ideal)',
    peerName: 'raw cgroup',
    rows,
    notes,
    raw: runs,
  };
}
