// `bench scale` (issue 24): what idle detached sandboxes cost the host as their number grows.
// N = 16, 64 and 200 sandboxes of `run -d --mem 16M -- sleep …` (--quick: 4), started one after
// another, first with views served by each supervisor (the embedded default), then from one shared
// `sandbox procfs serve` with the Node supervisor kept (SANDBOX_MONITOR=0, as before the handover),
// then from the shared server with each sandbox handed over to its stage (supervisor/run/monitor.ts:
// no Node supervisor left). At each size, after a settle time: the supervision's RSS and PSS summed
// over every process that supervises a sandbox (its Node supervisor, the stage's outer process, and
// the shared server, whose cost is divided by the sandboxes it serves), its CPU and wake-ups per
// second over an idle window (schedstat of every thread), the host's MemAvailable, the wall time of
// `sandbox ps` and `sandbox gc`, and the launch of the next sandboxes against the first ones. The
// same run measures each candidate home of the supervision (issue 24, "Decide by measurement"):
// a bare idle Node, the stage's outer process, the shared server; lxcfs (one daemon for a host)
// beside the shared server; podman (one conmon per container) with the same number of idle
// containers (bench/scale-podman.ts).
// Everything started is stopped: the supervisors get SIGTERM (which ends their workload and runs
// their teardown), then `sandbox gc` runs.
import { execFile, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { ensureLxcfs, startLxcfs, type Lxcfs } from './lxcfs.js';
import { childrenOf, commOf, cpuBetween, cpuSnapshot, memoryOf, memoryOfAll, type MemoryKiB } from './proc-usage.js';
import { CLI } from './sandbox-proc.js';
import { podmanFleet, type PodmanFleet, type PodmanSize } from './scale-podman.js';
import { quantile } from './stats.js';
import { fmt, progress, type Row, type Section } from './table.js';
import { startViewDaemon, type BenchDaemon } from './view-daemon.js';

const RUN_DIR = '/run/sandbox';
/** Launches timed at the start and after each size (their median is reported). */
const TIMED_LAUNCHES = 3;

/** How the views of a fleet are served, and who supervises: a Node supervisor, or (monitor) the stage. */
type Mode = 'own' | 'shared' | 'monitor';

/** One idle sandbox and the processes that supervise it. */
interface Member {
  id: string;
  /** The Node supervisor; null once it handed the sandbox over to its stage. */
  supervisor: number | null;
  /** The stage's outer process (relays signals, waits for PID 1). */
  stage: number | null;
  /** The sandbox's PID 1 (in the sandbox's own cgroup: its memory is the sandbox's). */
  init: number | null;
}

/** The figures of one size. */
interface SizeFigures {
  mode: Mode;
  n: number;
  supervision: MemoryKiB;
  /** Parts of `supervision`: every Node supervisor, every stage's outer process, the shared server. */
  nodes: MemoryKiB;
  stages: MemoryKiB;
  server: MemoryKiB;
  inits: MemoryKiB;
  cpuMsPerS: number;
  wakeupsPerS: number;
  serverCpuMsPerS: number;
  memAvailableDropKiB: number;
  bareNode: MemoryKiB;
  lxcfs: (MemoryKiB & { cpuMsPerS: number }) | null;
  psMs: number[];
  gcMs: number[];
  nextLaunchMs: number[];
}

function memAvailableKiB(): number {
  return Number(/^MemAvailable:\s+(\d+) kB$/m.exec(readFileSync('/proc/meminfo', 'utf8'))?.[1] ?? NaN);
}

/** Run the CLI to its end; its stdout and wall time. */
function timedCli(args: string[], env: NodeJS.ProcessEnv): Promise<{ ms: number; stdout: string }> {
  const t0 = performance.now();
  return new Promise((resolve, reject) =>
    execFile(process.execPath, [CLI, ...args], { env, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`sandbox ${args.slice(0, 2).join(' ')}: ${err.message} ${stderr.trim()}`));
      else resolve({ ms: performance.now() - t0, stdout });
    }),
  );
}

/** Start one idle detached sandbox; its member record and the launch's wall time. */
async function launch(env: NodeJS.ProcessEnv): Promise<{ member: Member; ms: number }> {
  const { ms, stdout } = await timedCli(['run', '-d', '--mem', '16M', '--', 'sleep', '100000'], env);
  const id = stdout.trim();
  const state = JSON.parse(readFileSync(`${RUN_DIR}/${id}/state.json`, 'utf8')) as {
    supervisorPid: number;
    monitorPid?: number;
  };
  const monitor = state.monitorPid ?? null;
  const stage = monitor ?? childrenOf(state.supervisorPid).find((p) => commOf(p) === 'sandbox-stage') ?? null;
  const init = stage === null ? null : (childrenOf(stage)[0] ?? null);
  return { member: { id, supervisor: monitor === null ? state.supervisorPid : null, stage, init }, ms };
}

/** A bare idle Node process beside the fleet (the floor of any Node supervisor): its RSS and PSS. */
async function bareNode(): Promise<MemoryKiB> {
  const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1 << 30)'], { stdio: 'ignore' });
  await sleep(1000);
  const m = memoryOf(child.pid!);
  const gone = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGKILL');
  await gone;
  return m;
}

/** SIGTERM every supervisor or monitoring stage (each ends its workload and tears down), wait for their state dirs, then gc. */
async function stopAll(members: Member[], env: NodeJS.ProcessEnv): Promise<void> {
  for (const m of members) {
    try {
      const pid = m.supervisor ?? m.stage;
      if (pid !== null) process.kill(pid, 'SIGTERM');
    } catch {
      // already gone
    }
  }
  const deadline = Date.now() + 120_000;
  while (members.some((m) => existsSync(`${RUN_DIR}/${m.id}`)) && Date.now() < deadline) await sleep(100);
  await timedCli(['gc'], env).catch((err: Error) => progress(`scale: gc after the run: ${err.message}`));
  const left = members.filter((m) => existsSync(`${RUN_DIR}/${m.id}`));
  if (left.length > 0)
    throw new Error(`scale: ${left.length} sandboxes still present after the stop: ${left.map((m) => m.id).join(' ')}`);
}

/** One fleet grown through `sizes`, measured at each. */
async function growFleet(
  mode: Mode,
  sizes: readonly number[],
  settleMs: number,
  windowMs: number,
  lxcfs: Lxcfs | null,
): Promise<{ firstLaunchMs: number[]; sizes: SizeFigures[] }> {
  let daemon: BenchDaemon | null = null;
  const members: Member[] = [];
  let env: NodeJS.ProcessEnv = { ...process.env, SANDBOX_PROCFS_SOCKET: '' };
  try {
    if (mode !== 'own') {
      daemon = await startViewDaemon();
      env = { ...process.env, SANDBOX_PROCFS_SOCKET: daemon.socket, SANDBOX_MONITOR: mode === 'shared' ? '0' : '1' };
    }
    const memBefore = memAvailableKiB();
    const firstLaunchMs: number[] = [];
    for (let i = 0; i < TIMED_LAUNCHES; i++) {
      const { member, ms } = await launch(env);
      members.push(member);
      firstLaunchMs.push(ms);
    }
    const out: SizeFigures[] = [];
    for (const n of sizes) {
      while (members.length < n) {
        if (members.length % 16 === 0) progress(`scale (${mode} views): ${members.length}/${n} sandboxes`);
        members.push((await launch(env)).member);
      }
      progress(`scale (${mode} views): ${n} sandboxes; settling ${settleMs / 1000} s, then ${windowMs / 1000} s idle`);
      await sleep(settleMs);
      const serverPids = daemon?.pids() ?? [];
      const supervisionPids = [
        ...members.flatMap((m) => [m.supervisor, m.stage].filter((p) => p !== null)),
        ...serverPids,
      ];
      const a = cpuSnapshot(supervisionPids);
      const sa = cpuSnapshot(serverPids);
      const la = lxcfs ? cpuSnapshot([lxcfs.pid]) : null;
      const t0 = performance.now();
      await sleep(windowMs);
      const b = cpuSnapshot(supervisionPids);
      const sb = cpuSnapshot(serverPids);
      const lb = lxcfs ? cpuSnapshot([lxcfs.pid]) : null;
      const seconds = (performance.now() - t0) / 1000;
      const cpu = cpuBetween(a, b);
      const nodes = memoryOfAll(members.flatMap((m) => (m.supervisor === null ? [] : [m.supervisor])));
      const stages = memoryOfAll(members.flatMap((m) => (m.stage === null ? [] : [m.stage])));
      const server = memoryOfAll(serverPids);
      const inits = memoryOfAll(members.flatMap((m) => (m.init === null ? [] : [m.init])));
      const memAvailableDropKiB = memBefore - memAvailableKiB();
      const bare = await bareNode();
      const psMs: number[] = [];
      const gcMs: number[] = [];
      for (let i = 0; i < 3; i++) {
        psMs.push((await timedCli(['ps'], env)).ms);
        gcMs.push((await timedCli(['gc'], env)).ms);
      }
      const nextLaunchMs: number[] = [];
      for (let i = 0; i < TIMED_LAUNCHES; i++) {
        const { member, ms } = await launch(env);
        members.push(member);
        nextLaunchMs.push(ms);
      }
      out.push({
        mode,
        n,
        supervision: { rss: nodes.rss + stages.rss + server.rss, pss: nodes.pss + stages.pss + server.pss },
        nodes,
        stages,
        server,
        inits,
        cpuMsPerS: cpu.ms / seconds,
        wakeupsPerS: cpu.wakeups / seconds,
        serverCpuMsPerS: cpuBetween(sa, sb).ms / seconds,
        memAvailableDropKiB,
        bareNode: bare,
        lxcfs: lxcfs && la && lb ? { ...memoryOf(lxcfs.pid), cpuMsPerS: cpuBetween(la, lb).ms / seconds } : null,
        psMs,
        gcMs,
        nextLaunchMs,
      });
    }
    return { firstLaunchMs, sizes: out };
  } finally {
    progress(`scale (${mode} views): stopping ${members.length} sandboxes`);
    await stopAll(members, env);
    await daemon?.stop();
  }
}

const MiB = (kib: number): number => kib / 1024;

const spreadOf = (xs: number[]): string => `${fmt(Math.min(...xs), 0)}–${fmt(Math.max(...xs), 0)} ms (${xs.length})`;

/** The rows of one size; `podman` is the podman fleet at the same size, or why there is none. */
function sizeRows(f: SizeFigures, firstLaunchMs: number[], podman: PodmanSize | string): Row[] {
  const tag = `${f.mode === 'monitor' ? 'shared views, stage monitors' : `${f.mode} views`}, N=${f.n}`;
  const per = (kib: number): string => fmt(MiB(kib) / f.n, 2, 'MiB');
  const first = quantile(firstLaunchMs, 0.5);
  const next = quantile(f.nextLaunchMs, 0.5);
  const peer = (show: (p: PodmanSize) => string): string => (typeof podman === 'string' ? podman : show(podman));
  const ratio = (ours: number, theirs: (p: PodmanSize) => number): string =>
    typeof podman === 'string' ? '' : fmt(ours / theirs(podman), 2);
  const podmanPss = (p: PodmanSize): number => p.conmons.pss / p.n;
  const podmanCpu = (p: PodmanSize): number => p.cpuMsPerS / p.n;
  return [
    {
      metric: `${tag}: supervision PSS per sandbox (peer: podman's conmon per container)`,
      ours: per(f.supervision.pss),
      peer: peer((p) => fmt(MiB(podmanPss(p)), 2, 'MiB')),
      ratio: ratio(f.supervision.pss / f.n, podmanPss),
      spread: `node ${per(f.nodes.pss)}, stage ${per(f.stages.pss)}, server ${per(f.server.pss)}`,
      target: '<= 5 MiB',
      met: MiB(f.supervision.pss) / f.n <= 5,
    },
    {
      metric: `${tag}: supervision RSS per sandbox`,
      ours: per(f.supervision.rss),
      peer: peer((p) => fmt(MiB(p.conmons.rss / p.n), 2, 'MiB')),
      ratio: ratio(f.supervision.rss / f.n, (p) => p.conmons.rss / p.n),
      spread: `node ${per(f.nodes.rss)}, stage ${per(f.stages.rss)}, server ${per(f.server.rss)}`,
      target: '',
    },
    {
      metric: `${tag}: host MemAvailable drop per sandbox`,
      ours: per(f.memAvailableDropKiB),
      peer: '',
      ratio: '',
      spread: `PID 1s' PSS ${per(f.inits.pss)}`,
      target: '',
    },
    {
      metric: `${tag}: idle CPU per sandbox`,
      ours: fmt(f.cpuMsPerS / f.n, 3, 'ms/s'),
      peer: peer((p) => fmt(podmanCpu(p), 3, 'ms/s')),
      ratio: ratio(f.cpuMsPerS / f.n, podmanCpu),
      spread: `${fmt(f.wakeupsPerS / f.n, 2)} wake-ups/s; server ${fmt(f.serverCpuMsPerS, 3, 'ms/s')}`,
      target: '<= 0.2 ms/s',
      met: f.cpuMsPerS / f.n <= 0.2,
    },
    {
      metric: `${tag}: launch of the next (median of ${f.nextLaunchMs.length}) vs the first`,
      ours: fmt(next, 0, 'ms'),
      peer: fmt(first, 0, 'ms'),
      ratio: fmt(next / first, 2),
      spread: spreadOf(f.nextLaunchMs),
      target: '<= 1.5x',
      met: next / first <= 1.5,
    },
    {
      metric: `${tag}: sandbox ps (median of 3)`,
      ours: fmt(quantile(f.psMs, 0.5), 0, 'ms'),
      peer: '',
      ratio: '',
      spread: spreadOf(f.psMs),
      target: '',
    },
    {
      metric: `${tag}: sandbox gc (median of 3)`,
      ours: fmt(quantile(f.gcMs, 0.5), 0, 'ms'),
      peer: '',
      ratio: '',
      spread: spreadOf(f.gcMs),
      target: '',
    },
  ];
}

/** The candidates' own processes (issue 24: where each supervisor job could go), at one size. */
function candidateRows(f: SizeFigures): Row[] {
  const one = (m: MemoryKiB, count: number): string =>
    `${fmt(MiB(m.pss) / count, 2, 'MiB')} PSS, ${fmt(MiB(m.rss) / count, 2, 'MiB')} RSS`;
  const rows: Row[] = [
    {
      metric: `candidates, N=${f.n}, ${f.mode}: today's Node supervisor (mean per process)`,
      ours: f.mode === 'monitor' ? 'none (handed over)' : one(f.nodes, f.n),
      peer: '',
      ratio: '',
      spread: '',
      target: '',
    },
    {
      metric: `candidates, N=${f.n}: a bare idle \`node -e setInterval\` beside them`,
      ours: one(f.bareNode, 1),
      peer: '',
      ratio: '',
      spread: 'the floor of a leaner Node',
      target: '',
    },
    {
      metric: `candidates, N=${f.n}: the stage's outer process (mean)`,
      ours: one(f.stages, f.n),
      peer: '',
      ratio: '',
      spread: 'C, already one per sandbox',
      target: '',
    },
  ];
  if (f.mode !== 'own') {
    rows.push({
      metric: `candidates, N=${f.n}: one shared procfs serve (keeper + server)`,
      ours: one(f.server, 1),
      peer: f.lxcfs ? `lxcfs ${one(f.lxcfs, 1)}` : 'lxcfs n/a',
      ratio: f.lxcfs ? fmt(f.server.pss / f.lxcfs.pss, 2) : '',
      spread: `idle CPU ${fmt(f.serverCpuMsPerS, 3, 'ms/s')}${f.lxcfs ? ` (lxcfs ${fmt(f.lxcfs.cpuMsPerS, 3, 'ms/s')})` : ''}`,
      target: '',
    });
  }
  return rows;
}

/** The podman fleet's own rows at one size: its launch against its first, its wake-ups, `podman ps`. */
function podmanRows(p: PodmanSize, firstLaunchMs: number[]): Row[] {
  const first = quantile(firstLaunchMs, 0.5);
  const next = quantile(p.nextLaunchMs, 0.5);
  return [
    {
      metric: `podman, N=${p.n}: launch of the next (median of ${p.nextLaunchMs.length}) vs the first`,
      ours: fmt(next, 0, 'ms'),
      peer: fmt(first, 0, 'ms'),
      ratio: fmt(next / first, 2),
      spread: spreadOf(p.nextLaunchMs),
      target: '',
    },
    {
      metric: `podman, N=${p.n}: conmons' wake-ups per container`,
      ours: fmt(p.wakeupsPerS / p.n, 2, '/s'),
      peer: '',
      ratio: '',
      spread: `${fmt(p.cpuMsPerS / p.n, 3, 'ms/s')} CPU`,
      target: '',
    },
    {
      metric: `podman, N=${p.n}: podman ps (median of 3)`,
      ours: fmt(quantile(p.psMs, 0.5), 0, 'ms'),
      peer: '',
      ratio: '',
      spread: spreadOf(p.psMs),
      target: '',
    },
  ];
}

/** The scenario. */
export async function scaleBench(quick: boolean): Promise<Section> {
  // SANDBOX_BENCH_SCALE_SIZES=16,64: other sizes than 16, 64 and 200 (a shorter run).
  const asked = (process.env.SANDBOX_BENCH_SCALE_SIZES ?? '').split(',').filter(Boolean).map(Number);
  const sizes = quick
    ? [4]
    : asked.length > 0 && asked.every((n) => Number.isInteger(n) && n > 0)
      ? asked
      : [16, 64, 200];
  const settleMs = quick ? 2000 : 10_000;
  const windowMs = quick ? 2000 : 10_000;
  const modes: Mode[] = quick ? ['own', 'monitor'] : ['own', 'shared', 'monitor'];
  const rows: Row[] = [];
  const raw: Record<string, unknown> = {};
  let lxcfs: Lxcfs | null = null;
  const notes: string[] = [];
  const fleets: { firstLaunchMs: number[]; sizes: SizeFigures[] }[] = [];

  try {
    if (!quick) {
      const missing = ensureLxcfs();
      if (missing) notes.push(`lxcfs: ${missing}`);
      else lxcfs = await startLxcfs(`/tmp/sandbox-bench-scale-lxcfs.${process.pid}`);
    }
    for (const mode of modes) {
      const fleet = await growFleet(mode, sizes, settleMs, windowMs, mode !== 'own' ? lxcfs : null);
      raw[mode] = fleet;
      fleets.push(fleet);
    }
  } finally {
    await lxcfs?.stop();
  }
  // After ours, with nothing of ours running: the two fleets never share the machine.
  const podman: PodmanFleet = await podmanFleet(sizes, settleMs, windowMs);
  raw.podman = podman;
  const podmanAt = (n: number): PodmanSize | string =>
    'skipped' in podman ? `skipped: ${podman.skipped}` : (podman.sizes.find((p) => p.n === n) ?? 'not measured');
  for (const fleet of fleets) {
    for (const f of fleet.sizes) rows.push(...sizeRows(f, fleet.firstLaunchMs, podmanAt(f.n)));
    for (const f of fleet.sizes) if (f.n === sizes[0] || f.n === sizes.at(-1)) rows.push(...candidateRows(f));
  }
  if (!('skipped' in podman)) for (const p of podman.sizes) rows.push(...podmanRows(p, podman.firstLaunchMs));
  return {
    title: `scale: idle detached sandboxes (run -d --mem 16M -- sleep), N = ${sizes.join(', ')}`,
    peerName: 'peer',
    rows,
    notes: [
      `Supervision = every Node supervisor (none once handed over: "stage monitors") + every stage's outer process + the shared server (keeper and server), summed; per sandbox = total / N. PSS from /proc/PID/smaps_rollup; CPU and wake-ups from schedstat of every thread over ${windowMs / 1000} s after ${settleMs / 1000} s of settling. PID 1 of each sandbox is in the sandbox's own cgroup and not counted.`,
      'Launch: wall time of `sandbox run -d` until it prints the id; "the first" is the median of the first three of the fleet, "the next" the median of the three launched right after each size was measured.',
      "podman: the same number of idle containers (`podman run -d -m 16m busybox sleep`, runc, cgroupfs, no network), run after ours; a container's supervision is its conmon (podman itself exits), measured the same way.",
      ...notes,
    ],
    raw,
  };
}
