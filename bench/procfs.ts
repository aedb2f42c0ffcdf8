// `npm run bench -- procfs`: our views against lxcfs's, read from inside one sandbox, interleaved.
// One C reader (native/bench/view-reader.c) runs inside `sandbox run --cpu 100% --mem 512M` and
// reads each file cat-style (open, read to EOF, close); blocks of reads alternate between our file
// and lxcfs's, in a rotating order, so drift in the machine's load hits both alike. Between blocks
// the bench samples both daemons' CPU time. The kernel's own file is read by the same reader on the
// host. A third daemon, the transport floor (bench/fuse-floor.ts: procfs/fuse with the views' mount
// options and open flags, serving constant text), is read in the same rounds: ours minus the floor
// is what rendering costs, the floor minus the host file what FUSE through our transport costs.
// Reads spaced 20 ms apart (longer than the render cache keeps a render) show the render's own
// cost; the render cache's hit rate is printed beside each latency row (the supervisor prints its
// counts at exit under SANDBOX_TIMINGS=1). The fleet: 16 sandboxes each reading every view in a
// loop (the pattern of lxcfs issue #446), ours (16 supervisors each serving its own; then one
// running `sandbox procfs serve` serving 16 and 48) against lxcfs serving the same readers.
// Figures are ratios in the same run, against the issue's targets.
import { spawn, spawnSync, type ChildProcess, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { createInterface, type Interface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { ensureLxcfs, startLxcfs, type Lxcfs } from './lxcfs.js';
import { quantile } from './stats.js';
import { startViewDaemon, type BenchDaemon } from './view-daemon.js';
import type { Row as TableRow, Section } from './table.js';

const CLI = fileURLToPath(new URL('../supervisor/main.cjs', import.meta.url));
/**
 * Another build's CLI (SANDBOX_BENCH_BASELINE_CLI=/other/checkout/dist/supervisor/main.cjs): its
 * sandboxes are read beside ours in the spaced and first-read rows, so a change to the render is
 * measured before and after in the same run (as bench/launch.ts does for launch).
 */
const BASELINE_CLI = process.env.SANDBOX_BENCH_BASELINE_CLI ?? '';
/** Parts of the run (SANDBOX_BENCH_PROCFS_PARTS=fleet,steady …; default all): a narrow run for one row kind. */
const PARTS = ['steady', 'host', 'first', 'spaced', 'fleet'] as const;
type Part = (typeof PARTS)[number];
/** Fleet sizes on one shared server (SANDBOX_BENCH_FLEETS=16,48; default by plan); the per-sandbox fleet runs only by default. */
const FLEET_SIZES = process.env.SANDBOX_BENCH_FLEETS ?? '';

/** The parts asked for; throws one line naming the variable and the value. */
function partsAsked(env: string | undefined): Set<Part> {
  if (!env) return new Set(PARTS);
  const asked = env.split(',').map((p) => p.trim());
  const bad = asked.find((p) => !(PARTS as readonly string[]).includes(p));
  if (bad !== undefined)
    throw new Error(`SANDBOX_BENCH_PROCFS_PARTS: unknown part "${bad}" (known: ${PARTS.join(', ')})`);
  return new Set(asked as Part[]);
}

/** The fleets to run: SANDBOX_BENCH_FLEETS's sizes (each on one shared server), or the plan's. */
function fleetsAsked(quick: boolean): readonly FleetSpec[] {
  if (!FLEET_SIZES) return quick ? FLEETS_QUICK : FLEETS_FULL;
  return FLEET_SIZES.split(',').map((s) => {
    const size = Number(s);
    if (!Number.isInteger(size) || size < 1 || size > 256)
      throw new Error(`SANDBOX_BENCH_FLEETS: "${s}" is not a fleet size from 1 to 256`);
    return { size, shared: true };
  });
}
const READER = fileURLToPath(new URL('../native/view-reader', import.meta.url));
const FLOOR = fileURLToPath(new URL('./fuse-floor.js', import.meta.url));
const FILES = ['meminfo', 'stat', 'cpuinfo', 'uptime', 'loadavg'] as const;
type File = (typeof FILES)[number];
type Variant = 'ours' | 'floor' | 'lxcfs';
const VARIANTS: readonly Variant[] = ['ours', 'floor', 'lxcfs'];
/** USER_HZ: the unit of utime/stime in /proc/<pid>/stat. */
const TICK_US = 10_000;

/** Sizes of one run. */
interface Plan {
  rounds: number;
  readsPerBlock: number;
  throughputMs: number;
  firstReadSandboxes: number;
  /** Reads per file and daemon SPACED_MS apart. */
  spacedReads: number;
  /** Fleet: rounds (each: ours, then lxcfs, or the reverse) and reads per file per reader per round. */
  fleetRounds: number;
  fleetReads: number;
}

/** The fleets: how many sandboxes, and whether one running `sandbox procfs serve` serves them all. */
interface FleetSpec {
  size: number;
  shared: boolean;
}
const FLEETS_QUICK: readonly FleetSpec[] = [
  { size: 16, shared: false },
  { size: 16, shared: true },
];
const FLEETS_FULL: readonly FleetSpec[] = [...FLEETS_QUICK, { size: 48, shared: true }];
const fleetLabel = (f: FleetSpec) => `fleet of ${f.size}, ${f.shared ? 'one shared server' : 'a server per sandbox'}`;
/** Gap between spaced reads: twice the render cache's 10 ms. */
const SPACED_MS = 20;
/** Views with the heavy targets (a render that reads and parses host and cgroup text). */
const HEAVY: ReadonlySet<File> = new Set(['meminfo', 'stat', 'cpuinfo']);

const QUICK: Plan = {
  rounds: 2,
  readsPerBlock: 100,
  throughputMs: 150,
  firstReadSandboxes: 2,
  spacedReads: 20,
  fleetRounds: 2,
  fleetReads: 10,
};
// Full: 5 rounds × 500 reads (2500 per file and daemon): fewer rounds gave the same medians, but
// shorter blocks put the first reads of each block into p99, so the blocks stay at 500 reads
// (docs/bench/README.md, "Why these settings").
const FULL: Plan = {
  rounds: 5,
  readsPerBlock: 500,
  throughputMs: 500,
  firstReadSandboxes: 6,
  spacedReads: 100,
  fleetRounds: 4,
  fleetReads: 50,
};

/** One fleet variant's reads and server CPU. */
interface FleetCounts {
  latencyUs: number[];
  cpuTicks: number;
  reads: number;
}
/** Who serves a fleet round: ours, lxcfs, or the baseline build's shared daemon. */
type FleetVariant = 'ours' | 'lxcfs' | 'baseline';

/** Everything measured, raw. */
interface Samples {
  latencyUs: Record<Variant | 'host', Record<File, number[]>>;
  cpuTicks: Record<Variant, Record<File, number>>;
  reads: Record<Variant, Record<File, number>>;
  throughput: Record<Variant, Record<File, number>>;
  firstReadUs: Record<'ours' | 'lxcfs' | 'baseline', Record<'meminfo' | 'stat', number[]>>;
  spacedUs: Record<Variant | 'baseline', Record<File, number[]>>;
  /** Render cache counts of the steady-state sandbox's supervisor, per view (null: it printed none). */
  cache: Record<string, { hits: number; misses: number; refreshes?: number }> | null;
  /** Per fleet (fleetLabel). */
  fleets: Record<string, Record<'ours' | 'lxcfs', FleetCounts> & { baseline?: FleetCounts }>;
}

const perFile = <T>(make: () => T): Record<File, T> =>
  Object.fromEntries(FILES.map((f) => [f, make()])) as Record<File, T>;

/** Process-wide CPU time (user + system, all threads, exited ones included) in USER_HZ ticks. */
function cpuTicks(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(fields[11]) + Number(fields[12]); // utime, stime: fields 14 and 15 of proc(5)
}

/** A view reader we talk to line by line. */
class Reader {
  private readonly lines: Interface;
  private readonly pending: Array<(line: string) => void> = [];
  /** The supervisor's render cache counts, from its `sandbox-views` line at exit (SANDBOX_TIMINGS=1). */
  viewCounts: Record<string, { hits: number; misses: number; refreshes?: number }> | null = null;

  constructor(readonly child: ChildProcessWithoutNullStreams) {
    this.lines = createInterface({ input: child.stdout });
    this.lines.on('line', (line) => this.pending.shift()?.(line));
    createInterface({ input: child.stderr }).on('line', (line) => {
      if (line.startsWith('sandbox-views '))
        this.viewCounts = JSON.parse(line.slice('sandbox-views '.length)) as Reader['viewCounts'];
      else if (!line.startsWith('sandbox-timings ') && !line.startsWith('sandbox-code-cache '))
        process.stderr.write(`${line}\n`);
    });
    // A reader that died makes the next write fail with EPIPE: its exit rejects the pending ask
    // (below), so the run's finally blocks stop the peers instead of an unhandled error ending it.
    child.stdin.on('error', () => undefined);
  }

  /** Send one command; resolve with the numbers of its "ok …" answer. */
  ask(command: string): Promise<number[]> {
    return new Promise((resolve, reject) => {
      const onExit = (code: number | null) => reject(new Error(`view reader exited ${code} during "${command}"`));
      if (this.child.exitCode !== null || this.child.signalCode !== null) return onExit(this.child.exitCode);
      this.child.once('exit', onExit);
      this.pending.push((line) => {
        this.child.off('exit', onExit);
        if (!line.startsWith('ok')) return reject(new Error(`view reader answered "${line}" to "${command}"`));
        resolve(line.slice(2).trim().split(' ').filter(Boolean).map(Number));
      });
      this.child.stdin.write(`${command}\n`);
    });
  }

  /** Ask it to quit and wait for the sandbox (or process) to end. */
  async quit(): Promise<void> {
    const done = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    this.child.stdin.end('quit\n');
    await done;
    await new Promise((resolve) => setImmediate(resolve)); // the stderr lines read before exit
  }
}

/**
 * Start the reader inside a new sandbox, with the peers' directory bound in read-only at the same
 * path (the host's /run, where it lives, is covered inside a sandbox), or on the host with null.
 */
function startReader(peers: Peers | null, viewSocket = '', cli = CLI): Reader {
  const args =
    peers === null
      ? []
      : [cli, 'run', '--cpu', '100%', '--mem', '512M', '-v', `${peers.dir}:${peers.dir}:ro`, '--', READER];
  // SANDBOX_PROCFS_SOCKET: the views of a running `sandbox procfs serve`, or (empty) the sandbox's own.
  const env = { ...process.env, SANDBOX_TIMINGS: '1', SANDBOX_PROCFS_SOCKET: viewSocket };
  const child = spawn(peers === null ? READER : process.execPath, args, { stdio: ['pipe', 'pipe', 'pipe'], env });
  return new Reader(child);
}

/** The daemons read besides ours. */
interface Peers {
  /** The directory holding both mounts. */
  dir: string;
  lxcfs: Lxcfs;
  floor: { pid: number; dir: string };
}

function pathOf(variant: Variant | 'host', file: File, peers: Peers): string {
  if (variant === 'lxcfs') return `${peers.lxcfs.procDir}/${file}`;
  if (variant === 'floor') return `${peers.floor.dir}/${file}`;
  return `/proc/${file}`;
}

/** Start the transport floor on `dir` and wait until it serves. */
async function startFloor(dir: string): Promise<{ child: ChildProcess; pid: number; dir: string }> {
  mkdirSync(dir, { recursive: true });
  const child = spawn(process.execPath, [FLOOR, dir, ...FILES], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`transport floor exited ${code}`)));
    child.stdout!.once('data', () => resolve());
  });
  return { child, pid: child.pid!, dir };
}

/** Stop the floor (it unmounts on SIGTERM) and make sure nothing stays mounted. */
async function stopFloor(floor: { child: ChildProcess; dir: string }): Promise<void> {
  const exited = new Promise((resolve) => floor.child.once('exit', resolve));
  floor.child.kill('SIGTERM');
  await Promise.race([exited, new Promise((r) => setTimeout(r, 3000))]);
  if (floor.child.exitCode === null && floor.child.signalCode === null) floor.child.kill('SIGKILL');
  spawnSync('umount', ['-l', floor.dir], { stdio: 'ignore' }); // already gone normally: harmless
}

/** Latency, CPU and throughput blocks from one long-lived sandbox. */
async function steadyState(plan: Plan, peers: Peers, samples: Samples): Promise<void> {
  const reader = startReader(peers);
  const supervisorPid = reader.child.pid!;
  const daemons: Record<Variant, number> = { ours: supervisorPid, floor: peers.floor.pid, lxcfs: peers.lxcfs.pid };
  try {
    for (const file of FILES) for (const v of VARIANTS) await reader.ask(`lat 50 ${pathOf(v, file, peers)}`); // warm-up
    for (let round = 0; round < plan.rounds; round++) {
      for (let i = 0; i < FILES.length; i++) {
        const file = FILES[(i + round) % FILES.length]!;
        const order = VARIANTS.map((_, k) => VARIANTS[(k + round + i) % VARIANTS.length]!);
        for (const v of order) {
          const before = cpuTicks(daemons[v]);
          const times = await reader.ask(`lat ${plan.readsPerBlock} ${pathOf(v, file, peers)}`);
          samples.cpuTicks[v][file] += cpuTicks(daemons[v]) - before;
          samples.reads[v][file] += times.length;
          samples.latencyUs[v][file].push(...times);
        }
      }
      process.stderr.write(`procfs bench: latency round ${round + 1}/${plan.rounds}\n`);
    }
    for (const file of FILES) {
      for (const v of VARIANTS) {
        const [count] = await reader.ask(`tput ${plan.throughputMs} ${pathOf(v, file, peers)}`);
        samples.throughput[v][file] = ((count ?? 0) * 1000) / plan.throughputMs;
      }
    }
  } finally {
    await reader.quit();
    samples.cache = reader.viewCounts;
  }
}

/** Reads SPACED_MS apart, each a render (its own sandbox: the steady one's cache counts stay its own). */
async function spacedReads(plan: Plan, peers: Peers, samples: Samples): Promise<void> {
  const reader = startReader(peers);
  const base = BASELINE_CLI ? startReader(peers, '', BASELINE_CLI) : null;
  const variants: Array<Variant | 'baseline'> = base ? [...VARIANTS, 'baseline'] : [...VARIANTS];
  const readerOf = (v: Variant | 'baseline'): Reader => (v === 'baseline' ? base! : reader);
  try {
    for (const file of FILES)
      for (const v of variants) await readerOf(v).ask(`lat 5 ${pathOf(v === 'baseline' ? 'ours' : v, file, peers)}`); // warm-up
    for (let i = 0; i < FILES.length; i++) {
      const file = FILES[i]!;
      for (let k = 0; k < variants.length; k++) {
        const v = variants[(i + k) % variants.length]!;
        samples.spacedUs[v][file].push(
          ...(await readerOf(v).ask(
            `spaced ${plan.spacedReads} ${SPACED_MS} ${pathOf(v === 'baseline' ? 'ours' : v, file, peers)}`,
          )),
        );
      }
    }
  } finally {
    await Promise.all([reader.quit(), base?.quit()]);
  }
}

/**
 * A fleet: spec.size sandboxes, each reading every view in turn, all at once; ours (each sandbox's
 * own supervisor serves it, or one shared daemon) and lxcfs (one daemon for all) in rotating order
 * every round. Server CPU: the supervisors' ticks (or the shared daemon's) against lxcfs's. With a
 * baseline build and a shared server, a second fleet of as many sandboxes takes its views from the
 * baseline build's daemon, read in the same rotation (before and after in one run).
 */
async function fleet(plan: Plan, peers: Peers, samples: Samples, spec: FleetSpec): Promise<void> {
  const readers: Reader[] = [];
  const baseReaders: Reader[] = [];
  const daemon: BenchDaemon | null = spec.shared ? await startViewDaemon() : null;
  const baseDaemon: BenchDaemon | null =
    spec.shared && BASELINE_CLI
      ? await startViewDaemon(BASELINE_CLI).catch(async (err: unknown) => {
          await daemon?.stop();
          throw err;
        })
      : null;
  const empty = () => ({ latencyUs: [] as number[], cpuTicks: 0, reads: 0 });
  const counts: Samples['fleets'][string] = {
    ours: empty(),
    lxcfs: empty(),
    ...(baseDaemon ? { baseline: empty() } : {}),
  };
  samples.fleets[fleetLabel(spec)] = counts;
  const variants: FleetVariant[] = baseDaemon ? ['ours', 'lxcfs', 'baseline'] : ['ours', 'lxcfs'];
  try {
    for (let i = 0; i < spec.size; i++) readers.push(startReader(peers, daemon?.socket ?? ''));
    if (baseDaemon)
      for (let i = 0; i < spec.size; i++) baseReaders.push(startReader(peers, baseDaemon.socket, BASELINE_CLI));
    await Promise.all(
      [...readers, ...baseReaders].map(async (r) => {
        for (const file of FILES)
          for (const v of ['ours', 'lxcfs'] as const) await r.ask(`lat 3 ${pathOf(v, file, peers)}`);
      }),
    );
    const ticks = (pids: number[]) => pids.reduce((sum, pid) => sum + cpuTicks(pid), 0);
    for (let round = 0; round < plan.fleetRounds; round++) {
      for (let k = 0; k < variants.length; k++) {
        const v = variants[(k + round) % variants.length]!;
        const pids =
          v === 'lxcfs'
            ? [peers.lxcfs.pid]
            : v === 'baseline'
              ? baseDaemon!.pids()
              : daemon
                ? daemon.pids()
                : readers.map((r) => r.child.pid!);
        const group = v === 'baseline' ? baseReaders : readers;
        const path = (file: File) => pathOf(v === 'baseline' ? 'ours' : v, file, peers);
        const before = ticks(pids);
        const times = await Promise.all(
          group.map(async (r) => {
            const out: number[] = [];
            for (let k = 0; k < FILES.length; k++)
              out.push(...(await r.ask(`lat ${plan.fleetReads} ${path(FILES[(k + round) % FILES.length]!)}`)));
            return out;
          }),
        );
        const f = counts[v]!;
        f.cpuTicks += ticks(pids) - before;
        for (const t of times) f.latencyUs.push(...t);
        f.reads += times.reduce((n, t) => n + t.length, 0);
      }
      process.stderr.write(`procfs bench: ${fleetLabel(spec)}: round ${round + 1}/${plan.fleetRounds}\n`);
    }
  } finally {
    await Promise.all([...readers, ...baseReaders].map((r) => r.quit()));
    await daemon?.stop();
    await baseDaemon?.stop();
  }
}

/** The kernel's own files, read by the same reader on the host. */
async function hostFiles(plan: Plan, peers: Peers, samples: Samples): Promise<void> {
  const reader = startReader(null);
  try {
    for (let round = 0; round < plan.rounds; round++) {
      for (const file of FILES)
        samples.latencyUs.host[file].push(
          ...(await reader.ask(`lat ${plan.readsPerBlock} ${pathOf('host', file, peers)}`)),
        );
    }
  } finally {
    await reader.quit();
  }
}

/** The first read of a file in a sandbox that just started, ours and lxcfs's in alternating order. */
async function firstReads(plan: Plan, peers: Peers, samples: Samples): Promise<void> {
  for (let i = 0; i < plan.firstReadSandboxes; i++) {
    const reader = startReader(peers);
    try {
      const order: Array<'ours' | 'lxcfs'> = i % 2 === 0 ? ['ours', 'lxcfs'] : ['lxcfs', 'ours'];
      for (const file of ['meminfo', 'stat'] as const) {
        for (const v of order)
          samples.firstReadUs[v][file].push(...(await reader.ask(`first ${pathOf(v, file, peers)}`)));
      }
    } finally {
      await reader.quit();
    }
    if (!BASELINE_CLI) continue;
    const base = startReader(peers, '', BASELINE_CLI);
    try {
      for (const file of ['meminfo', 'stat'] as const)
        samples.firstReadUs.baseline[file].push(...(await base.ask(`first ${pathOf('ours', file, peers)}`)));
    } finally {
      await base.quit();
    }
  }
}

/** A table row: metric, ours, transport floor, lxcfs, host, ratio, target, met. */
type Row = [string, string, string, string, string, string, string, string];

function report(samples: Samples): Row[] {
  const rows: Row[] = [];
  const us = (x: number) => `${x.toFixed(0)} µs`;
  /** A baseline build's median (SANDBOX_BENCH_BASELINE_CLI) beside lxcfs's, under the row of ours it repeats. */
  const baselineRow = (file: File, b: number, l: number, targetText: string, met: boolean): void => {
    rows.push([
      `${file}: same, baseline build`,
      us(b),
      '',
      us(l),
      '',
      (b / l).toFixed(2),
      targetText,
      met ? 'yes' : 'NO',
    ]);
  };
  const ratioRow = (
    metric: string,
    of: (v: Variant) => number,
    host: string,
    target: (r: number) => boolean,
    targetText: string,
    fmt: (x: number) => string,
  ) => {
    const r = of('ours') / of('lxcfs');
    rows.push([
      metric,
      fmt(of('ours')),
      fmt(of('floor')),
      fmt(of('lxcfs')),
      host,
      r.toFixed(2),
      targetText,
      target(r) ? 'yes' : 'NO',
    ]);
  };
  const hitRate = (file: File): string => {
    const c = samples.cache?.[file];
    return c && c.hits + c.misses > 0
      ? `; cache hits ${((100 * c.hits) / (c.hits + c.misses)).toFixed(0)}% of ${c.hits + c.misses} renders asked, ${c.refreshes ?? 0} refreshed after a reply`
      : '';
  };
  const steady = samples.reads.ours.meminfo > 0;
  if (steady) {
    for (const file of FILES) {
      const h = samples.latencyUs.host[file];
      ratioRow(
        `${file}: median latency`,
        (v) => quantile(samples.latencyUs[v][file], 0.5),
        `${us(quantile(h, 0.5))}${hitRate(file)}`,
        (r) => r <= 0.5,
        '<= 0.5',
        us,
      );
      ratioRow(
        `${file}: p99 latency`,
        (v) => quantile(samples.latencyUs[v][file], 0.99),
        `${us(quantile(h, 0.99))}${hitRate(file)}`,
        (r) => r <= 1,
        '<= 1.0',
        us,
      );
    }
  }
  if (samples.spacedUs.ours.meminfo.length > 0) {
    for (const file of FILES) {
      const heavy = HEAVY.has(file);
      ratioRow(
        `${file}: median latency, reads ${SPACED_MS} ms apart (every read renders)`,
        (v) => quantile(samples.spacedUs[v][file], 0.5),
        '',
        (r) => !heavy || r <= 0.5,
        heavy ? '<= 0.5' : '',
        us,
      );
      if (samples.spacedUs.baseline[file].length > 0) {
        const b = quantile(samples.spacedUs.baseline[file], 0.5);
        const l = quantile(samples.spacedUs.lxcfs[file], 0.5);
        baselineRow(file, b, l, heavy ? '<= 0.5' : '', !heavy || b / l <= 0.5);
      }
    }
  }
  if (steady) {
    for (const file of FILES) {
      ratioRow(
        `${file}: reads/s, 2 readers`,
        (v) => samples.throughput[v][file],
        '',
        (r) => r >= 2,
        '>= 2',
        (x) => x.toFixed(0),
      );
    }
    for (const file of FILES) {
      ratioRow(
        `${file}: daemon CPU per read`,
        (v) => (samples.cpuTicks[v][file] * TICK_US) / samples.reads[v][file],
        '',
        (r) => r <= 0.5,
        '<= 0.5',
        us,
      );
    }
  }
  for (const [label, f] of Object.entries(samples.fleets)) {
    if (f.ours.reads === 0 || f.lxcfs.reads === 0) continue;
    const cpu = (c: FleetCounts) => (c.cpuTicks * TICK_US) / c.reads;
    const l = cpu(f.lxcfs);
    const sides: Array<[string, FleetCounts]> = [
      ['', f.ours],
      ...(f.baseline && f.baseline.reads > 0 ? [[' (baseline build)', f.baseline] as [string, FleetCounts]] : []),
    ];
    for (const [suffix, c] of sides) {
      const o = cpu(c);
      rows.push([
        `${label}${suffix}, every view in a loop: server CPU per read`,
        us(o),
        '',
        us(l),
        '',
        (o / l).toFixed(2),
        '<= 0.5',
        o / l <= 0.5 ? 'yes' : 'NO',
      ]);
      for (const [q, target] of [
        [0.5, ''],
        [0.99, '<= 1.0'],
      ] as const) {
        const qo = quantile(c.latencyUs, q);
        const ql = quantile(f.lxcfs.latencyUs, q);
        rows.push([
          `${label}${suffix}: p${q * 100} latency`,
          us(qo),
          '',
          us(ql),
          '',
          (qo / ql).toFixed(2),
          target,
          !target || qo <= ql ? 'yes' : 'NO',
        ]);
      }
    }
  }
  if (samples.firstReadUs.ours.meminfo.length > 0) {
    for (const file of ['meminfo', 'stat'] as const) {
      const o = quantile(samples.firstReadUs.ours[file], 0.5);
      const l = quantile(samples.firstReadUs.lxcfs[file], 0.5);
      rows.push([
        `${file}: first read in a new sandbox (median)`,
        us(o),
        '',
        us(l),
        '',
        (o / l).toFixed(2),
        '<= 1 ms',
        o <= 1000 ? 'yes' : 'NO',
      ]);
      if (samples.firstReadUs.baseline[file].length > 0) {
        const b = quantile(samples.firstReadUs.baseline[file], 0.5);
        baselineRow(file, b, l, '<= 1 ms', b <= 1000);
      }
    }
  }
  return rows;
}

/** The procfs rows in the shared table format: the floor and the host file go to the spread column. */
function asTableRows(rows: Row[]): TableRow[] {
  return rows.map(([metric, ours, floor, lxcfs, host, ratio, target, met]) => ({
    metric,
    ours,
    peer: lxcfs,
    ratio,
    spread: [floor && `floor ${floor}`, host && `host ${host}`].filter(Boolean).join(', '),
    target,
    ...(target ? { met: met === 'yes' } : {}),
  }));
}

/** Run the procfs scenario; its table and raw samples as a Section. */
export async function procfsBench(quick: boolean): Promise<Section> {
  const plan = quick ? QUICK : FULL;
  const parts = partsAsked(process.env.SANDBOX_BENCH_PROCFS_PARTS);
  const fleets = fleetsAsked(quick);
  const title = `Views: ours vs lxcfs, from inside one sandbox (${plan.rounds} rounds × ${plan.readsPerBlock} reads per file and daemon)`;
  const missing = ensureLxcfs();
  if (missing) return { title, peerName: 'lxcfs', rows: [], notes: [`skipped: ${missing}`], raw: null };
  const samples: Samples = {
    latencyUs: { ours: perFile(() => []), floor: perFile(() => []), lxcfs: perFile(() => []), host: perFile(() => []) },
    cpuTicks: { ours: perFile(() => 0), floor: perFile(() => 0), lxcfs: perFile(() => 0) },
    reads: { ours: perFile(() => 0), floor: perFile(() => 0), lxcfs: perFile(() => 0) },
    throughput: { ours: perFile(() => 0), floor: perFile(() => 0), lxcfs: perFile(() => 0) },
    firstReadUs: {
      ours: { meminfo: [], stat: [] },
      lxcfs: { meminfo: [], stat: [] },
      baseline: { meminfo: [], stat: [] },
    },
    spacedUs: {
      ours: perFile(() => []),
      floor: perFile(() => []),
      lxcfs: perFile(() => []),
      baseline: perFile(() => []),
    },
    cache: null,
    fleets: {},
  };
  const dir = `/run/sandbox-bench-${process.pid}`;
  const lxcfs = await startLxcfs(`${dir}/lxcfs`);
  const floor = await startFloor(`${dir}/floor`).catch(async (err: unknown) => {
    await lxcfs.stop();
    throw err;
  });
  try {
    const peers = { dir, lxcfs, floor };
    if (parts.has('steady')) await steadyState(plan, peers, samples);
    if (parts.has('host')) await hostFiles(plan, peers, samples);
    if (parts.has('first')) await firstReads(plan, peers, samples);
    if (parts.has('spaced')) await spacedReads(plan, peers, samples);
    if (parts.has('fleet')) for (const spec of fleets) await fleet(plan, peers, samples, spec);
  } finally {
    await stopFloor(floor);
    await lxcfs.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  const notes = [
    'The spread column holds the transport floor (procfs/fuse serving constant text, the mount options and open flags of the views) and the host file read by the same reader; ratio = ours / lxcfs.',
    `Cache hits: the render cache (10 ms) of the steady-state sandbox's supervisor over its whole life (warm-up, latency blocks, the 2-reader throughput), per view: renders asked at offset 0 answered from the cache. Spaced reads: ${plan.spacedReads} per file and daemon, ${SPACED_MS} ms apart, in a sandbox of their own.${BASELINE_CLI ? ` Baseline build: ${BASELINE_CLI}, its own sandbox read in the same rotation.` : ''}`,
    `Fleets: N sandboxes at once, each reading every view ${plan.fleetReads} times per round, ${plan.fleetRounds} rounds alternating ours and lxcfs; server CPU = the N supervisors' ticks (a server per sandbox), the daemon's (one shared server: a \`sandbox procfs serve\` of the bench's own that every sandbox takes its views from), or lxcfs's, per read.`,
  ];
  return { title, peerName: 'lxcfs', rows: asTableRows(report(samples)), notes, raw: samples };
}
