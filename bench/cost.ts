// `npm run bench -- cost`: what the supervisor (which is also the FUSE server of the views) costs
// while a sandbox runs: its CPU time per second (utime + stime of the `sandbox run` process, all
// threads, from /proc/PID/stat fields 14-15, proc(5)) and its resident memory (VmRSS of
// /proc/PID/status), for an idle workload, a CPU-bound one, and one reading /proc/meminfo (served by
// us) in a loop. The peer: an idle Node process (`node -e "setInterval(…)"`), the floor of any
// long-running Node supervisor.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { BUSY, exited, runSandbox, sandboxOf } from './sandbox-proc.js';
import { quantile } from './stats.js';
import { fmt, progress, type Row, type Section } from './table.js';

/** USER_HZ: the unit of utime/stime (sysconf(_SC_CLK_TCK), 100 on Linux). */
const TICK_MS = 10;

/** CPU ticks (utime + stime) of a process. */
function cpuTicks(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(f[11]) + Number(f[12]);
}

/** VmRSS of a process in MiB (exact key of /proc/PID/status). */
function rssMiB(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8')
    .split('\n')
    .find((l) => l.startsWith('VmRSS:'));
  return Number(line?.split(/\s+/)[1] ?? NaN) / 1024;
}

/** One process's CPU ms per second and its RSS samples (MiB, one per second). */
interface Usage {
  cpuMsPerS: number;
  rss: number[];
}

/** CPU ms per second and RSS samples of each of `pids` over the same `seconds`. */
async function measure(pids: number[], seconds: number): Promise<Usage[]> {
  const rss: number[][] = pids.map(() => []);
  const c0 = pids.map(cpuTicks);
  const t0 = performance.now();
  for (let i = 0; i < seconds; i++) {
    await sleep(1000);
    for (const [k, pid] of pids.entries()) rss[k]!.push(rssMiB(pid));
  }
  const s = (performance.now() - t0) / 1000;
  return pids.map((pid, k) => ({ cpuMsPerS: ((cpuTicks(pid) - c0[k]!) * TICK_MS) / s, rss: rss[k]! }));
}

type Variant = 'idle' | 'busy' | 'reading views';
const WORKLOADS: Record<Variant, string[]> = {
  idle: ['--', 'sleep', '3600'],
  busy: ['--cpu', '50%', '--', BUSY, 'spin', '1', '3600'],
  'reading views': ['--cpu', '50%', '--', 'sh', '-c', 'while :; do cat /proc/meminfo /proc/stat > /dev/null; done'],
};

type Measured = Variant | 'idle node';
/**
 * The variants measured at the same time, slot after slot. The idle node, the idle and the busy
 * sandbox share a slot: each figure is one process's own CPU time and RSS, which the others don't
 * add to (the three supervisors are near idle; the busy workload takes half a CPU of the 2 and is
 * its cgroup's, not its supervisor's). "reading views" runs alone: its supervisor serves reads at
 * ~0.4 CPU and its reader loops at 50%, enough to crowd the others.
 */
export const COST_SLOTS: ReadonlyArray<readonly Measured[]> = [['idle node', 'idle', 'busy'], ['reading views']];

function start(v: Measured): ChildProcess {
  if (v === 'idle node') return spawn(process.execPath, ['-e', 'setInterval(() => {}, 1e6)'], { stdio: 'ignore' });
  return runSandbox(['--mem', '256M', ...WORKLOADS[v]]);
}

/** Start the slot's processes, wait for their sandboxes, warm up, and measure them all over the same seconds. */
async function slot(variants: readonly Measured[], seconds: number, warmupMs: number): Promise<Usage[]> {
  const children = variants.map(start);
  const done = children.map(exited);
  try {
    for (const [k, v] of variants.entries()) if (v !== 'idle node') await sandboxOf(children[k]!);
    await sleep(warmupMs); // the launch itself is the launch scenario's
    return await measure(
      children.map((c) => c.pid!),
      seconds,
    );
  } finally {
    for (const c of children) c.kill('SIGTERM');
    await Promise.all(done);
  }
}

/** Run the cost scenario. */
export async function costBench(quick: boolean): Promise<Section> {
  const seconds = quick ? 1 : 10;
  const warmupMs = quick ? 300 : 1000;
  const results: Partial<Record<Measured, Usage>> = {};
  // --quick keeps its settings of before: every variant alone.
  const slots = quick ? COST_SLOTS.flat().map((v) => [v]) : COST_SLOTS;
  for (const variants of slots) {
    progress(`cost: ${variants.join(' + ')}${variants.length > 1 ? ' side by side' : ''}, ${seconds} s`);
    const measured = await slot(variants, seconds, warmupMs);
    for (const [k, v] of variants.entries()) results[v] = measured[k];
  }
  const node = results['idle node']!;
  const rows: Row[] = [];
  for (const v of Object.keys(WORKLOADS) as Variant[]) {
    const r = results[v]!;
    rows.push({
      metric: `${v} sandbox: supervisor CPU per second`,
      ours: fmt(r.cpuMsPerS, 1, 'ms'),
      peer: fmt(node.cpuMsPerS, 1, 'ms'),
      ratio: '',
      spread: `±${TICK_MS} ms over ${seconds} s (USER_HZ ticks)`,
      target: '',
    });
    rows.push({
      metric: `${v} sandbox: supervisor RSS`,
      ours: fmt(quantile(r.rss, 0.5), 1, 'MiB'),
      peer: fmt(quantile(node.rss, 0.5), 1, 'MiB'),
      ratio: fmt(quantile(r.rss, 0.5) / quantile(node.rss, 0.5), 2),
      spread: `max ${fmt(Math.max(...r.rss), 1)} MiB`,
      target: '',
    });
  }
  const notes = [
    `The supervisor process serves the sandbox's FUSE views itself, so its CPU includes every view read. "reading views": \`cat /proc/meminfo /proc/stat\` in a loop under --cpu 50%. ${seconds} s after ${warmupMs} ms of warm-up; ${slots.map((v) => v.join(', ')).join(quick ? ', ' : ' side by side, then ')}${quick ? ' one after the other' : ' alone'}; peer: an idle \`node -e "setInterval(…)"\`.`,
  ];
  return {
    title: 'Supervisor cost (CPU and memory of `sandbox run` while the sandbox runs)',
    peerName: 'idle node',
    rows,
    notes,
    raw: results,
  };
}
