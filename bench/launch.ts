// `npm run bench -- launch`: the wall time of `sandbox run --cpu 20% --mem 256M -- true`, with views
// of its own and with a running `sandbox procfs serve`'s, against `true`, `node -e 0` (the floor of
// any Node CLI), the launchers of bench/peers.ts (runc among them) and docker and podman running
// `true` under the same limits (bench/engine-peers.ts), warm (back-to-back) and cold (0.5 s apart),
// in a rotating order every round (../shared/BENCH.md step 2), warm-ups discarded. --quick runs
// every variant too, engines included, with fewer rounds. Our runs carry SANDBOX_TIMINGS=1, so each
// also gives its phase breakdown (supervisor/run/timings.ts mark(): ms since the Node process
// started). What the scenario starts is stopped at its end, also on Ctrl-C (bench/abort.ts).
import { spawn } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { onAbort } from './abort.js';
import { enginePeers, type EnginePeers } from './engine-peers.js';
import { launchPeers, type Peer } from './peers.js';
import { startViewDaemon, type BenchDaemon } from './view-daemon.js';
import { CLI } from './sandbox-proc.js';
import { quantile } from './stats.js';
import { fmt, progress, type Row, type Section } from './table.js';

const OURS = 'sandbox run --cpu 20% --mem 256M -- true';
/** The same with a running `sandbox procfs serve`: its views, no FUSE mount of its own (supervisor/shared-views.ts). */
const OURS_SHARED = `${OURS}, views from a running procfs serve`;
const NODE = 'node -e 0';
/** The floor of any Node CLI that runs a command: Node's start, child_process, one fork + exec + wait. */
const NODE_SPAWN = 'node -e spawn(true)';
const NODE_SPAWN_CODE =
  "require('node:child_process').spawn('true', { stdio: 'inherit' }).on('exit', (code) => process.exit(code))";
/** Ours without a sandbox: Node's start and our CLI loaded (the bundle, commander, the builtins it requires). */
const OUR_CLI = 'sandbox --version';

/**
 * Another build's CLI (SANDBOX_BENCH_BASELINE_CLI=/other/checkout/dist/supervisor/main.cjs) timed in
 * the same rounds as ours: a change's launch cost, before and after, interleaved in one run.
 */
const BASELINE_CLI = process.env.SANDBOX_BENCH_BASELINE_CLI ?? '';
const BASELINE = `${OURS} (baseline: ${BASELINE_CLI})`;

/** Wall time (ms) of one run, and our phase marks when it printed them. */
interface Timed {
  ms: number;
  marks: Record<string, number> | null;
}

/** Run argv to completion (it must exit 0) and time it. */
function time(cmd: string, args: string[], env: NodeJS.ProcessEnv): Promise<Timed> {
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'], env });
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', reject);
    child.on('exit', (code) => {
      const ms = performance.now() - t0;
      if (code !== 0)
        return reject(new Error(`${cmd} ${args.join(' ')} exited ${code}: ${err.trim().split('\n').pop()}`));
      const line = err.split('\n').find((l) => l.startsWith('sandbox-timings '));
      resolve({
        ms,
        marks: line ? (JSON.parse(line.slice('sandbox-timings '.length)) as Record<string, number>) : null,
      });
    });
  });
}

/**
 * Our phases, from consecutive marks (and the wall time for the process exit after teardown). The
 * marks are on the child's own clock (performance.now(), from Node's time origin), which starts
 * after Node's exec and early set-up: so the last phase also holds what precedes the clock,
 * besides exit_group and the reap (docs/bench/README.md, "Why these settings").
 */
const PHASES: Array<[string, (m: Record<string, number>, wall: number) => number]> = [
  ['node start + CLI load (→ run)', (m) => m.run!],
  ['state dir (run → state)', (m) => m.state! - m.run!],
  ['cgroup create (state → created)', (m) => m.created! - m.state!],
  ['FUSE load + mount, overlapped (state → fuse)', (m) => m.fuse! - m.state!],
  ['stage spawn (created → spawn)', (m) => m.spawn! - m.created!],
  ["cpuset + limits, beside PID 1's set-up (spawn → cgroup)", (m) => m.cgroup! - m.spawn!],
  ['wait for the FUSE mount (cgroup → released)', (m) => m.released! - m.cgroup!],
  ['stage, PID 1, exec, true (released → exited)', (m) => m.exited! - m.released!],
  ['teardown (exited → teardown)', (m) => m.teardown! - m.exited!],
  ["process exit, and Node's exec before its clock starts (teardown → wall end)", (m, wall) => wall - m.teardown!],
];

/** Run the launch scenario. */
export async function launchBench(quick: boolean): Promise<Section> {
  const { peers: toolPeers, skipped } = launchPeers();
  let engines: EnginePeers | null = null;
  let daemon: Promise<BenchDaemon> | null = null;
  let stopping: Promise<string[]> | null = null;
  /** Everything the scenario started, stopped once (at its end, or on Ctrl-C: bench/abort.ts). */
  const stopAll = (): Promise<string[]> =>
    (stopping ??= (async () => {
      for (const p of toolPeers) p.cleanup?.();
      // A daemon still starting is waited for: it is stopped once it serves, or has gone by itself.
      const [left] = await Promise.all([
        engines?.stop() ?? [],
        daemon?.then(
          (d) => d.stop(),
          () => undefined,
        ),
      ]);
      return left;
    })());
  const unregister = onAbort(stopAll);
  try {
    engines = await enginePeers();
    skipped.push(...engines.skipped);
    daemon = startViewDaemon();
    return await measure(quick, await daemon, [...toolPeers, ...engines.peers], skipped, stopAll);
  } finally {
    await stopAll();
    unregister();
  }
}

/** Time every variant, stop what the scenario started (stopAll), and make the section. */
async function measure(
  quick: boolean,
  daemon: BenchDaemon,
  peers: Peer[],
  skipped: string[],
  stopAll: () => Promise<string[]>,
): Promise<Section> {
  const env = { ...process.env, SANDBOX_TIMINGS: '1', SANDBOX_PROCFS_SOCKET: '' };
  // The two floors answer the warm target only: they skip the cold runs, whose 0.5 s gaps are most
  // of the scenario's time.
  const variants: Array<Peer & { warmOnly?: boolean; env?: NodeJS.ProcessEnv }> = [
    {
      name: OURS,
      argv: () => [process.execPath, [CLI, 'run', '--cpu', '20%', '--mem', '256M', '--', 'true']],
      limits: 'cpu 20%, memory 256M',
    },
    {
      name: OURS_SHARED,
      argv: () => [process.execPath, [CLI, 'run', '--cpu', '20%', '--mem', '256M', '--', 'true']],
      limits: 'cpu 20%, memory 256M',
      env: { ...env, SANDBOX_PROCFS_SOCKET: daemon.socket },
    },
    ...(BASELINE_CLI
      ? [
          {
            name: BASELINE,
            argv: (): [string, string[]] => [
              process.execPath,
              [BASELINE_CLI, 'run', '--cpu', '20%', '--mem', '256M', '--', 'true'],
            ],
            limits: 'cpu 20%, memory 256M',
          },
        ]
      : []),
    { name: NODE, argv: () => [process.execPath, ['-e', '0']], limits: '' },
    { name: NODE_SPAWN, argv: () => [process.execPath, ['-e', NODE_SPAWN_CODE]], limits: '', warmOnly: true },
    { name: OUR_CLI, argv: () => [process.execPath, [CLI, '--version']], limits: '', warmOnly: true },
    { name: 'true', argv: () => ['true', []], limits: '' },
    ...peers.map((p) => ({ ...p, env: { ...env, ...p.env } })),
  ];
  // Full: 3 rounds of 6 warm and 2 cold runs of each: more gave the same ratios to node -e 0
  // (docs/bench/README.md, "Why these settings"); the cold runs' 0.5 s gaps are most of the scenario's time.
  const modes = {
    warm: { rounds: quick ? 2 : 3, perRound: quick ? 1 : 6, gapMs: 0 },
    cold: { rounds: quick ? 1 : 3, perRound: quick ? 1 : 2, gapMs: 500 },
  };
  const samples: Record<'warm' | 'cold', Record<string, number[]>> = { warm: {}, cold: {} };
  /** Phase marks of our runs: with views of their own, and with a running server's. */
  const marks: Record<string, Array<{ wall: number; marks: Record<string, number> }>> = {
    [OURS]: [],
    [OURS_SHARED]: [],
  };
  const roundMedians: Record<'warm' | 'cold', Record<string, number[]>> = { warm: {}, cold: {} };
  let run = 0;
  let left: string[] = [];
  try {
    for (const v of variants) await time(...v.argv(run++), v.env ?? env); // warm-up, discarded
    for (const [mode, plan] of Object.entries(modes) as Array<['warm' | 'cold', (typeof modes)['warm']]>) {
      for (let round = 0; round < plan.rounds; round++) {
        const thisRound: Record<string, number[]> = {};
        const inMode = variants.filter((v) => mode === 'warm' || !v.warmOnly);
        for (let i = 0; i < plan.perRound; i++) {
          for (let k = 0; k < inMode.length; k++) {
            const v = inMode[(i + k + round) % inMode.length]!;
            if (plan.gapMs) await sleep(plan.gapMs);
            const t = await time(...v.argv(run++), v.env ?? env);
            (samples[mode][v.name] ??= []).push(t.ms);
            (thisRound[v.name] ??= []).push(t.ms);
            if (t.marks) marks[v.name]?.push({ wall: t.ms, marks: t.marks });
          }
        }
        for (const [name, s] of Object.entries(thisRound)) (roundMedians[mode][name] ??= []).push(quantile(s, 0.5));
        progress(`launch ${mode} round ${round + 1}/${plan.rounds}`);
      }
    }
  } finally {
    left = await stopAll();
  }
  for (const l of left) progress(`launch: left behind by the engines, and removed: ${l}`);
  const rows: Row[] = [];
  for (const mode of ['warm', 'cold'] as const) {
    const floor = quantile(samples[mode][NODE] ?? [], 0.5);
    for (const v of variants) {
      if (mode === 'cold' && v.warmOnly) continue;
      const s = samples[mode][v.name] ?? [];
      const med = quantile(s, 0.5);
      const rm = roundMedians[mode][v.name] ?? [];
      const isOurs = v.name === OURS || v.name === OURS_SHARED;
      rows.push({
        metric: `${mode}: ${v.name}${v.limits && !isOurs ? ` (limits: ${v.limits})` : ''}`,
        ours: isOurs ? `${fmt(med, 1, 'ms')} (p90 ${fmt(quantile(s, 0.9), 1)}, p99 ${fmt(quantile(s, 0.99), 1)})` : '',
        peer: isOurs ? '' : `${fmt(med, 1, 'ms')} (p90 ${fmt(quantile(s, 0.9), 1)}, p99 ${fmt(quantile(s, 0.99), 1)})`,
        ratio: `${fmt(med / floor, 2)} × node -e 0`,
        spread: `round medians ${fmt(Math.min(...rm), 1)}–${fmt(Math.max(...rm), 1)} ms, n = ${s.length}`,
        target: isOurs && mode === 'warm' ? '≤ 1.25 × node -e 0' : '',
        ...(isOurs && mode === 'warm' ? { met: med / floor <= 1.25 } : {}),
      });
    }
    if (mode === 'warm') {
      for (const sk of skipped) {
        const [name = sk, reason = ''] = sk.split(/: (.*)/s);
        rows.push({ metric: `warm: ${name}`, ours: '', peer: 'skipped', ratio: '', spread: reason, target: '' });
      }
    }
    // Ours against the container runtimes (the peers that set the same limits), in the same rounds.
    const med = (name: string): number => quantile(samples[mode][name] ?? [], 0.5);
    for (const p of peers.filter((x) => !x.limits.startsWith('none'))) {
      rows.push({
        metric: `${mode}: ours with a running server / ${p.name}`,
        ours: fmt(med(OURS_SHARED), 1, 'ms'),
        peer: fmt(med(p.name), 1, 'ms'),
        ratio: `${fmt(med(OURS_SHARED) / med(p.name), 2)} × (own views: ${fmt(med(OURS) / med(p.name), 2)} ×)`,
        spread: 'ratio of medians',
        target: '',
      });
    }
  }
  // Where the warm run's time over node -e 0 goes, against the budget the target leaves.
  const warm = (name: string): number => quantile(samples.warm[name] ?? [], 0.5);
  const split: Array<[string, number]> = [
    ['the budget the target leaves: 0.25 × node -e 0', 0.25 * warm(NODE)],
    [`a Node CLI's floor for running a command: ${NODE_SPAWN} − node -e 0`, warm(NODE_SPAWN) - warm(NODE)],
    [`our CLI loaded, no sandbox: ${OUR_CLI} − node -e 0`, warm(OUR_CLI) - warm(NODE)],
    [`the sandbox itself: ours − ${OUR_CLI}`, warm(OURS) - warm(OUR_CLI)],
  ];
  for (const [what, ms] of split)
    rows.push({
      metric: `warm, added ms: ${what}`,
      ours: fmt(ms, 1, 'ms'),
      peer: '',
      ratio: '',
      spread: 'difference of medians',
      target: '',
    });
  for (const [who, runs] of [
    ['ours', marks[OURS]!],
    ['ours with a running server', marks[OURS_SHARED]!],
  ] as const) {
    for (const [name, of] of PHASES) {
      const xs = runs.map((m) => of(m.marks, m.wall)).filter(Number.isFinite);
      rows.push({
        metric: `${who}, phase: ${name}`,
        ours: fmt(quantile(xs, 0.5), 1, 'ms'),
        peer: '',
        ratio: '',
        spread: `p90 ${fmt(quantile(xs, 0.9), 1)} ms`,
        target: '',
      });
    }
  }
  const notes = [
    `Warm: ${modes.warm.rounds} rounds × ${modes.warm.perRound} back-to-back runs of each; cold: ${modes.cold.rounds} × ${modes.cold.perRound}, 0.5 s idle before each run. Figures: median (p90, p99); ratio = median / median of node -e 0 in the same mode. Phases: medians over all our runs (warm and cold), from SANDBOX_TIMINGS=1.`,
    `${OURS_SHARED}: a \`sandbox procfs serve\` of the bench's own serves the views (SANDBOX_PROCFS_SOCKET); its "FUSE" phase is the request to it. The other runs of ours serve their own (SANDBOX_PROCFS_SOCKET empty).`,
    `${NODE_SPAWN} is node -e "${NODE_SPAWN_CODE}": what any Node CLI that starts a process costs. ${OUR_CLI} is our CLI with no sandbox: Node's start and our code loaded.`,
  ];
  if (peers.some((p) => p.name.startsWith('docker') || p.name.startsWith('podman'))) {
    notes.push(
      "docker and podman: started by the scenario with state of their own under /tmp and a cgroup below the bench's (bench/engines/), no network; dockerd and its containerd idle beside every other variant's runs; both stopped and removed at the end.",
    );
  }
  if (left.length > 0) notes.push(`left behind by the engines, and removed: ${left.join('; ')}`);
  return { title: 'Launch overhead (wall ms, /bin/true)', peerName: 'peer', rows, notes, raw: { samples, marks } };
}
