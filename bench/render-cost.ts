// The view render's own cost, step by step, in a fresh worker thread as the FUSE workers render
// (docs/bench/2026-12-07-render-cost.md). `node dist/bench/render-cost.js PID [--handler] [N] [GAP_MS]`:
// PID is any process in the cgroup to render for (a `sandbox run` workload). A worker renders each
// view N times GAP_MS apart (every render a render-cache miss, as `bench procfs`'s spaced row) and
// prints the median time of each step of procfs/view-handler.ts's render, plus the first render's.
// --handler drives createViewHandler itself (open, read, read at EOF, release) and prints totals;
// --fresh renders each time as the first render in a new sandbox does (descriptors opened again,
// a fresh ViewMemory and task scanner), the code already compiled by the first round.
import { readFileSync } from 'node:fs';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { fileURLToPath } from 'node:url';
import { detectLayout } from '../supervisor/cgroup/detect.js';
import { KeptFiles } from '../supervisor/kept-files.js';
import { createOpenTable } from '../procfs/fuse/open-table.js';
import { TaskScanner } from '../procfs/tasks.js';
import { openDescribedCgroup, type CgroupDescription } from '../procfs/view-cgroup.js';
import { createViewHandler } from '../procfs/view-handler.js';
import { SharedViews, createSharedViewData } from '../procfs/view-shared.js';
import { VIEWS, createViewMemory, readViewStats, renderView, type ViewName } from '../procfs/views/index.js';

const NAMES: ViewName[] = ['meminfo', 'stat', 'cpuinfo', 'uptime', 'loadavg', 'diskstats'];

interface Input {
  description: CgroupDescription;
  handler: boolean;
  fresh: boolean;
  /** Renders of each view back to back before the measured ones (the JIT warmed up). */
  warm: number;
  n: number;
  gapMs: number;
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;
const sleep = (ms: number): void => void Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);

function steps(input: Input): Record<string, Record<string, { first: number; median: number }>> {
  const data = createSharedViewData(1);
  const shared = new SharedViews(data);
  shared.resetSlot(0);
  let cgroup = openDescribedCgroup(input.description);
  let host = new KeptFiles();
  let scanner = new TaskScanner();
  const startedAtMs = Date.now() - 60_000;
  const out: Record<string, Record<string, { first: number; median: number }>> = {};
  for (const name of NAMES) {
    const spec = VIEWS.find((v) => v.name === name)!;
    const times: Record<string, number[]> = {};
    const mark = (step: string, t0: number): number => {
      const t = performance.now();
      (times[step] ??= []).push((t - t0) * 1000);
      return t;
    };
    for (let i = 0; i < input.n; i++) KeptFiles.batch(() => {
      if (input.fresh && i > 0) {
        host.closeAll();
        scanner.close();
        cgroup = openDescribedCgroup(input.description);
        host = new KeptFiles();
        scanner = new TaskScanner();
        shared.resetSlot(0);
      }
      const t0 = performance.now();
      let t = t0;
      const nowMs = Date.now();
      if (spec.cgroup === 'memory' || spec.cgroup === 'cpu') cgroup.limitsKey(spec.cgroup);
      t = mark('limitsKey', t);
      const hostText = spec.hostPath ? host.read(spec.hostPath) : '';
      t = mark('host file', t);
      const tasks = spec.liveTasks ? scanner.sample(cgroup.threads()) : { running: 0, blocked: 0, threads: 0, lastPid: 0 };
      t = mark('tasks', t);
      const stats = readViewStats(cgroup, spec);
      t = mark('cgroup stats', t);
      const load = shared.load(0);
      let text: string;
      if (name === 'stat' || name === 'uptime') {
        let inner = 0;
        text = shared.withMemory(0, startedAtMs, (memory) => {
          const r0 = performance.now();
          const s = renderView(name, hostText, stats, load, tasks, memory, nowMs);
          inner = performance.now() - r0;
          return s;
        });
        const all = performance.now() - t;
        (times['render'] ??= []).push(inner * 1000);
        (times['memory lock+json'] ??= []).push((all - inner) * 1000);
        t = performance.now();
      } else {
        text = renderView(name, hostText, stats, load, tasks, createViewMemory(startedAtMs), nowMs);
        t = mark('render', t);
      }
      Buffer.from(text);
      t = mark('Buffer.from', t);
      (times['total'] ??= []).push((t - t0) * 1000);
      sleep(input.gapMs);
    });
    out[name] = Object.fromEntries(Object.entries(times).map(([k, v]) => [k, { first: v[0]!, median: median(v.slice(1)) }]));
  }
  return out;
}

function handler(input: Input): Record<string, { first: number; median: number }> {
  const data = createSharedViewData(1);
  const shared = new SharedViews(data);
  shared.resetSlot(0);
  shared.writeRegistry([{ id: 'bench', key: 1, slot: 0, cgroup: input.description, startedAtMs: Date.now() - 60_000, views: NAMES }]);
  const h = createViewHandler({ shared: data, opens: createOpenTable(64, 1, 16 << 10), byTarget: false, mountedAtMs: Date.now(), maxOpenPerSandbox: 64 }, (line) => process.stderr.write(line));
  const out: Record<string, { first: number; median: number }> = {};
  const buf = Buffer.alloc(128 << 10);
  const ctx = { interrupted: () => false } as never;
  for (let w = 0; w < input.warm; w++) {
    for (const name of NAMES) {
      const nodeid = 64 + 1 + VIEWS.findIndex((v) => v.name === name);
      const o = h.open(nodeid, 0, ctx) as { fh: number };
      h.read(nodeid, o.fh, 0, buf.length, buf, ctx);
      h.release(nodeid, o.fh);
    }
    sleep(11); // past the render cache's 10 ms
  }
  for (const name of NAMES) {
    const nodeid = 64 + 1 + VIEWS.findIndex((v) => v.name === name);
    const times: number[] = [];
    for (let i = 0; i < input.n; i++) {
      const t0 = performance.now();
      const o = h.open(nodeid, 0, ctx) as { fh: number };
      const n = h.read(nodeid, o.fh, 0, buf.length, buf, ctx) as number;
      h.read(nodeid, o.fh, n, buf.length, buf, ctx);
      h.release(nodeid, o.fh);
      times.push((performance.now() - t0) * 1000);
      sleep(input.gapMs);
    }
    out[name] = { first: times[0]!, median: median(times.slice(1)) };
  }
  return out;
}

/** The cgroup of `pid` as the view server describes a sandbox's: its hierarchies with a sandbox-* leaf. */
function leafOf(pid: number): CgroupDescription {
  const layout = detectLayout(readFileSync(`/proc/${pid}/cgroup`, 'utf8'), readFileSync('/proc/self/mountinfo', 'utf8'));
  if (layout.mode === 'v2') return { root: '/', layout };
  return { root: '/', layout: { mode: 'v1', hierarchies: layout.hierarchies.filter((h) => /\/sandbox-[^/]+$/.test(h.ownDir)) } };
}

if (isMainThread) {
  const args = process.argv.slice(2);
  const pid = Number(args[0]);
  const rest = args.slice(1).filter((a) => !a.startsWith('--'));
  const input: Input = {
    description: leafOf(pid),
    handler: args.includes('--handler'),
    fresh: args.includes('--fresh'),
    warm: Number(args.find((a) => a.startsWith('--warm='))?.slice('--warm='.length) ?? 0),
    n: Number(rest[0] ?? 100),
    gapMs: Number(rest[1] ?? 20),
  };
  const worker = new Worker(fileURLToPath(import.meta.url), { workerData: input });
  worker.on('message', (m) => console.log(JSON.stringify(m, (_, v: unknown) => (typeof v === 'number' ? Math.round(v) : v), 1)));
  worker.on('error', (e) => {
    console.error(e);
    process.exitCode = 1;
  });
} else {
  const input = workerData as Input;
  parentPort!.postMessage(input.handler ? handler(input) : steps(input));
}
