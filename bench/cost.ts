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
  const line = readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').find((l) => l.startsWith('VmRSS:'));
  return Number(line?.split(/\s+/)[1] ?? NaN) / 1024;
}

/** CPU ms per second and RSS samples of `pid` over `seconds`. */
async function measure(pid: number, seconds: number): Promise<{ cpuMsPerS: number; rss: number[] }> {
  const rss: number[] = [];
  const c0 = cpuTicks(pid);
  const t0 = performance.now();
  for (let i = 0; i < seconds; i++) {
    await sleep(1000);
    rss.push(rssMiB(pid));
  }
  return { cpuMsPerS: ((cpuTicks(pid) - c0) * TICK_MS) / ((performance.now() - t0) / 1000), rss };
}

type Variant = 'idle' | 'busy' | 'reading views';
const WORKLOADS: Record<Variant, string[]> = {
  idle: ['--', 'sleep', '3600'],
  busy: ['--cpu', '50%', '--', BUSY, 'spin', '1', '3600'],
  'reading views': ['--cpu', '50%', '--', 'sh', '-c', 'while :; do cat /proc/meminfo /proc/stat > /dev/null; done'],
};

async function one(child: ChildProcess, seconds: number, waitForSandbox: boolean, warmupMs: number): Promise<{ cpuMsPerS: number; rss: number[] }> {
  const done = exited(child);
  try {
    if (waitForSandbox) await sandboxOf(child);
    await sleep(warmupMs); // the launch itself is the launch scenario's
    return await measure(child.pid!, seconds);
  } finally {
    child.kill('SIGTERM');
    await done;
  }
}

/** Run the cost scenario. */
export async function costBench(quick: boolean): Promise<Section> {
  const seconds = quick ? 1 : 10;
  const warmupMs = quick ? 300 : 1000;
  const results: Partial<Record<Variant | 'idle node', { cpuMsPerS: number; rss: number[] }>> = {};
  progress(`cost: idle node process, ${seconds} s`);
  results['idle node'] = await one(spawn(process.execPath, ['-e', 'setInterval(() => {}, 1e6)'], { stdio: 'ignore' }), seconds, false, warmupMs);
  for (const v of Object.keys(WORKLOADS) as Variant[]) {
    progress(`cost: ${v} sandbox, ${seconds} s`);
    results[v] = await one(runSandbox(['--mem', '256M', ...WORKLOADS[v]]), seconds, true, warmupMs);
  }
  const node = results['idle node']!;
  const rows: Row[] = [];
  for (const v of Object.keys(WORKLOADS) as Variant[]) {
    const r = results[v]!;
    rows.push({ metric: `${v} sandbox: supervisor CPU per second`, ours: fmt(r.cpuMsPerS, 1, 'ms'), peer: fmt(node.cpuMsPerS, 1, 'ms'), ratio: '', spread: `±${TICK_MS} ms over ${seconds} s (USER_HZ ticks)`, target: '' });
    rows.push({ metric: `${v} sandbox: supervisor RSS`, ours: fmt(quantile(r.rss, 0.5), 1, 'MiB'), peer: fmt(quantile(node.rss, 0.5), 1, 'MiB'), ratio: fmt(quantile(r.rss, 0.5) / quantile(node.rss, 0.5), 2), spread: `max ${fmt(Math.max(...r.rss), 1)} MiB`, target: '' });
  }
  const notes = [`The supervisor process serves the sandbox's FUSE views itself, so its CPU includes every view read. "reading views": \`cat /proc/meminfo /proc/stat\` in a loop under --cpu 50%. ${seconds} s per variant after ${warmupMs} ms of warm-up; peer: an idle \`node -e "setInterval(…)"\`.`];
  return { title: 'Supervisor cost (CPU and memory of `sandbox run` while the sandbox runs)', peerName: 'idle node', rows, notes, raw: results };
}
