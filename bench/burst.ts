// `npm run bench -- burst`: bursty work whose average is under the quota. The worker
// (`bench-busy burst`) burns 30 ms of its own CPU every 200 ms (15% on average) and records how
// long each burst took on the wall clock. Under --cpu 20% (period 100 ms) a 30 ms burst exceeds one
// period's 20 ms quota and is throttled to the next period (~110 ms); --cpu-burst 20ms lets a cgroup
// bank up to 20 ms of unused quota (cpu.cfs_burst_us, Documentation/scheduler/sched-bwc.rst "Burst
// feature"), enough for a whole burst. Unlimited = `sandbox run` without --cpu, the peer.
import { createInterface } from 'node:readline';
import { counterFiles, readCounters, type CounterFiles, type CpuCounters } from './cgstat.js';
import { BUSY, exited, runSandbox, sandboxOf } from './sandbox-proc.js';
import { quantile } from './stats.js';
import { fmt, progress, type Row, type Section } from './table.js';

const WORK_US = 30_000;
const PERIOD_US = 200_000;
type Variant = 'unlimited' | '--cpu 20%' | '--cpu 20% --cpu-burst 20ms';
const VARIANTS: Record<Variant, string[]> = {
  unlimited: [],
  '--cpu 20%': ['--cpu', '20%'],
  '--cpu 20% --cpu-burst 20ms': ['--cpu', '20%', '--cpu-burst', '20ms'],
};

/** One run: burst latencies (µs) and the cgroup's counters when the sandbox appeared and at the end. */
interface BurstRun {
  variant: Variant;
  latUs: number[];
  first: CpuCounters | null;
  last: CpuCounters | null;
}

async function burstRun(variant: Variant, count: number): Promise<BurstRun> {
  const child = runSandbox(
    [...VARIANTS[variant], '--mem', '256M', '--', BUSY, 'burst', String(WORK_US), String(PERIOD_US), String(count)],
    ['ignore', 'pipe', 'inherit'],
  );
  const done = exited(child);
  const out: BurstRun = { variant, latUs: [], first: null, last: null };
  let files: CounterFiles | null = null;
  const found = sandboxOf(child).then((i) => {
    files = counterFiles(i.cgroupDirs);
    out.first = readCounters(files);
  });
  found.catch(() => undefined);
  const lines = createInterface({ input: child.stdout! });
  lines.on('line', (line) => {
    if (!line.startsWith('lat ')) return;
    out.latUs = line.slice(4).split(' ').map(Number);
    if (files) out.last = readCounters(files); // the worker lingers 300 ms after this line
  });
  await found;
  const code = await done;
  if (code !== 0) throw new Error(`sandbox run ${VARIANTS[variant].join(' ')} -- bench-busy burst exited ${code}`);
  return out;
}

/** Run the burst scenario. */
export async function burstBench(quick: boolean): Promise<Section> {
  const rounds = quick ? 1 : 3;
  // Bursts per run: 0.8 s or 2.2 s. Fewer bursts gave the same medians and p90s; the median of
  // --cpu 20% alone is bimodal (a burst fits the period's quota or is throttled) and moves between
  // runs more than with the count (docs/bench/README.md, "Why these settings").
  const count = quick ? 4 : 11;
  const runs: BurstRun[] = [];
  const names = Object.keys(VARIANTS) as Variant[];
  for (let round = 0; round < rounds; round++) {
    for (let k = 0; k < names.length; k++) {
      const v = names[(k + round) % names.length]!;
      progress(`burst: ${v}, round ${round + 1}/${rounds}`);
      runs.push(await burstRun(v, count));
    }
  }
  const lat = (v: Variant) => runs.filter((r) => r.variant === v).flatMap((r) => r.latUs.slice(1).map((u) => u / 1000)); // the first burst is a warm-up
  const throttled = (v: Variant) => {
    let p = 0;
    let t = 0;
    for (const r of runs.filter((x) => x.variant === v && x.first && x.last)) {
      p += r.last!.nrPeriods - r.first!.nrPeriods;
      t += r.last!.nrThrottled - r.first!.nrThrottled;
    }
    return p > 0 ? t / p : NaN;
  };
  const free = lat('unlimited');
  const rows: Row[] = [];
  for (const v of ['--cpu 20%', '--cpu 20% --cpu-burst 20ms'] as const) {
    const l = lat(v);
    rows.push({
      metric: `${v}: burst latency median`,
      ours: fmt(quantile(l, 0.5), 1, 'ms'),
      peer: fmt(quantile(free, 0.5), 1, 'ms'),
      ratio: fmt(quantile(l, 0.5) / quantile(free, 0.5), 2),
      spread: `p90 ${fmt(quantile(l, 0.9), 1)}, p99 ${fmt(quantile(l, 0.99), 1)} ms, n = ${l.length}`,
      target: v.includes('burst') ? '≈ unlimited' : '',
      ...(v.includes('burst') ? { met: quantile(l, 0.5) / quantile(free, 0.5) <= 1.25 } : {}),
    });
    rows.push({
      metric: `${v}: throttled periods / periods`,
      ours: fmt(throttled(v), 3),
      peer: 'no quota',
      ratio: '',
      spread: '',
      target: v.includes('burst') ? '≈ 0' : '',
      ...(v.includes('burst') ? { met: throttled(v) <= 0.05 } : {}),
    });
  }
  const notes = [
    `Worker: ${WORK_US / 1000} ms of CPU every ${PERIOD_US / 1000} ms (15% on average, under the 20% quota), ${count} bursts per run, ${rounds} round(s) of the three variants in rotating order; the first burst of each run is discarded. Peer column: the same worker in a sandbox without --cpu.`,
  ];
  return {
    title: 'Bursty work under a quota, with and without --cpu-burst',
    peerName: 'unlimited',
    rows,
    notes,
    raw: runs,
  };
}
