// The view render's own cost, step by step, in a fresh worker thread as the FUSE workers render
// (docs/bench/2026-12-07-render-cost.md). `node dist/bench/render-cost.js PID [--handler] [N] [GAP_MS]`:
// PID is any process in the cgroup to render for (a `sandbox run` workload). A worker renders each
// view N times GAP_MS apart (every render a render-cache miss, as `bench procfs`'s spaced row) and
// prints the median time of each step of procfs/view-handler.ts's render, plus the first render's.
// --handler drives createViewHandler itself (open, read, read at EOF, release) and prints totals,
// with --baseline=DIST another build's handler (DIST: its dist directory) in alternation, in the
// same worker (same JIT history and machine load);
// --fresh renders each time as the first render in a new sandbox does (descriptors opened again,
// a fresh ViewMemory and task scanner), the code already compiled by the first round.
import { readFileSync } from 'node:fs';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { fileURLToPath } from 'node:url';
import { detectLayout } from '../supervisor/cgroup/index.js';
import { KeptFiles } from '../supervisor/kept-files.js';
import { createOpenTable } from '../procfs/fuse/open-table.js';
import { TaskScanner } from '../procfs/tasks.js';
import { openDescribedCgroup, type CgroupDescription } from '../procfs/view-cgroup.js';
import { OPEN_WORDS, createViewHandler } from '../procfs/view-handler.js';
import { SharedViews, createSharedViewData } from '../procfs/view-shared.js';
import { VIEWS, createViewMemory, readViewStats, renderView, type ViewName } from '../procfs/views/index.js';

const NAMES: ViewName[] = ['meminfo', 'stat', 'cpuinfo', 'uptime', 'loadavg', 'diskstats'];

interface Input {
  description: CgroupDescription;
  handler: boolean;
  fresh: boolean;
  /** Renders of each view back to back before the measured ones (the JIT warmed up). */
  warm: number;
  /** --baseline=DIST: another build's dist directory, whose handler --handler reads in alternation with this one's. */
  baseline: string | null;
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
    for (let i = 0; i < input.n; i++)
      KeptFiles.batch(() => {
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
        const tasks = spec.liveTasks
          ? scanner.sample(cgroup.threads())
          : { running: 0, blocked: 0, threads: 0, lastPid: 0 };
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
          (times.render ??= []).push(inner * 1000);
          (times['memory lock+json'] ??= []).push((all - inner) * 1000);
          t = performance.now();
        } else {
          text = renderView(name, hostText, stats, load, tasks, createViewMemory(startedAtMs), nowMs);
          t = mark('render', t);
        }
        Buffer.from(text);
        t = mark('Buffer.from', t);
        (times.total ??= []).push((t - t0) * 1000);
        sleep(input.gapMs);
      });
    out[name] = Object.fromEntries(
      Object.entries(times).map(([k, v]) => [k, { first: v[0]!, median: median(v.slice(1)) }]),
    );
  }
  return out;
}

/** What --handler needs of a build (this one's, or a baseline's loaded from its dist directory). */
interface Build {
  createViewHandler: typeof createViewHandler;
  createSharedViewData: typeof createSharedViewData;
  SharedViews: typeof SharedViews;
  createOpenTable: typeof createOpenTable;
  VIEWS: typeof VIEWS;
}

/** Load another build's handler modules from its dist directory. */
async function loadBuild(dist: string): Promise<Build> {
  const at = (p: string) => import(`${dist}/${p}`);
  const [h, s, o, v] = await Promise.all([
    at('procfs/view-handler.js'),
    at('procfs/view-shared.js'),
    at('procfs/fuse/open-table.js'),
    at('procfs/views/index.js'),
  ]);
  return {
    createViewHandler: h.createViewHandler,
    createSharedViewData: s.createSharedViewData,
    SharedViews: s.SharedViews,
    createOpenTable: o.createOpenTable,
    VIEWS: v.VIEWS,
  };
}

/** One build's handler over the described cgroup, and a cat (OPEN, READ, READ at EOF, RELEASE) of a view through it. */
function catter(input: Input, b: Build): (name: ViewName) => number {
  const data = b.createSharedViewData(1);
  const shared = new b.SharedViews(data);
  shared.resetSlot(0);
  shared.writeRegistry([
    { id: 'bench', key: 1, slot: 0, cgroup: input.description, startedAtMs: Date.now() - 60_000, views: NAMES },
  ]);
  const h = b.createViewHandler(
    {
      shared: data,
      opens: b.createOpenTable(64, OPEN_WORDS, 16 << 10),
      byTarget: false,
      mountedAtMs: Date.now(),
      maxOpenPerSandbox: 64,
    },
    (line) => process.stderr.write(line),
  );
  const buf = Buffer.alloc(128 << 10);
  const ctx = { interrupted: () => false } as never;
  return (name) => {
    const nodeid = 64 + 1 + b.VIEWS.findIndex((v) => v.name === name);
    const t0 = performance.now();
    const o = h.open(nodeid, 0, ctx) as { fh: number };
    const n = h.read(nodeid, o.fh, 0, buf.length, buf, ctx);
    h.read(nodeid, o.fh, n, buf.length, buf, ctx);
    h.release(nodeid, o.fh);
    return (performance.now() - t0) * 1000;
  };
}

/** --handler: cats of each view GAP_MS apart; with --baseline=DIST, this build's and the baseline's in alternation. */
function handler(
  input: Input,
  baseline: Build | null,
): Record<string, Record<string, { first: number; median: number }>> {
  const builds: Array<[string, (name: ViewName) => number]> = [
    ['this', catter(input, { createViewHandler, createSharedViewData, SharedViews, createOpenTable, VIEWS })],
  ];
  if (baseline) builds.push(['baseline', catter(input, baseline)]);
  for (let w = 0; w < input.warm; w++) {
    for (const name of NAMES) for (const [, cat] of builds) cat(name);
    sleep(11); // past the render cache's 10 ms
  }
  const out: Record<string, Record<string, { first: number; median: number }>> = {};
  for (const name of NAMES) {
    const times = new Map<string, number[]>(builds.map(([b]) => [b, []]));
    for (let i = 0; i < input.n; i++) {
      for (let k = 0; k < builds.length; k++) {
        const [b, cat] = builds[(i + k) % builds.length]!;
        times.get(b)!.push(cat(name));
        sleep(input.gapMs);
      }
    }
    out[name] = Object.fromEntries([...times].map(([b, t]) => [b, { first: t[0]!, median: median(t.slice(1)) }]));
  }
  return out;
}

/** The cgroup of `pid` as the view server describes a sandbox's: its hierarchies with a sandbox-* leaf. */
function leafOf(pid: number): CgroupDescription {
  const layout = detectLayout(
    readFileSync(`/proc/${pid}/cgroup`, 'utf8'),
    readFileSync('/proc/self/mountinfo', 'utf8'),
  );
  if (layout.mode === 'v2') return { root: '/', layout };
  return {
    root: '/',
    layout: { mode: 'v1', hierarchies: layout.hierarchies.filter((h) => /\/sandbox-[^/]+$/.test(h.ownDir)) },
  };
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
    baseline: args.find((a) => a.startsWith('--baseline='))?.slice('--baseline='.length) ?? null,
    n: Number(rest[0] ?? 100),
    gapMs: Number(rest[1] ?? 20),
  };
  const worker = new Worker(fileURLToPath(import.meta.url), { workerData: input });
  worker.on('message', (m) =>
    console.log(JSON.stringify(m, (_, v: unknown) => (typeof v === 'number' ? Math.round(v) : v), 1)),
  );
  worker.on('error', (e) => {
    console.error(e);
    process.exitCode = 1;
  });
} else {
  const input = workerData as Input;
  const baseline = input.baseline ? await loadBuild(input.baseline) : null;
  parentPort!.postMessage(input.handler ? handler(input, baseline) : steps(input));
}
