// `npm run bench [-- SCENARIO…] [--quick] [--json FILE] [--plot DIR]`, or `sandbox bench …` (bench/args.ts).
// runBench() prints a header with the machine and its load before and after, then one table per scenario
// (metric | ours | peer | ratio | spread | target | met?), each followed by how long it took, and a
// footer with the run's total ("full run: 184 s (quota 75 s, …)"); progress goes to stderr. Method:
// ../shared/BENCH.md. A benchmark reports figures against the targets; a target not met is
// shown as "NO" and never fails the run (exit 0), so `--quick` serves as a CI smoke run.
import { mkdirSync, writeFileSync } from 'node:fs';
import { parseBenchArgs, USAGE, type Scenario } from './args.js';
import { burstBench } from './burst.js';
import { costBench } from './cost.js';
import { runDuration, scenarioDuration } from './durations.js';
import { enforceBench } from './enforce.js';
import { launchBench } from './launch.js';
import { headerLines, loadSnapshot, machineFacts } from './machine.js';
import { procfsBench } from './procfs.js';
import { quotaBench } from './quota.js';
import { scaleBench } from './scale.js';
import { sysinfoBench } from './sysinfo.js';
import { formatSection, progress, type Section } from './table.js';

const RUNNERS: Record<Scenario, ((quick: boolean) => Promise<Section>) | null> = {
  quota: quotaBench,
  burst: burstBench,
  enforce: enforceBench,
  launch: launchBench,
  cost: costBench,
  procfs: procfsBench,
  sysinfo: sysinfoBench,
  scale: scaleBench,
};

/** Run the bench with argv (the words after `bench`); resolves with the exit code (0, or 125 for bad input). */
export async function runBench(argv: readonly string[]): Promise<number> {
  let opts;
  try {
    opts = parseBenchArgs(argv);
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n`);
    return 125;
  }
  if (opts.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  if (process.getuid?.() !== 0) {
    process.stderr.write('bench: needs root (it creates cgroups and sandboxes)\n');
    return 125;
  }

  const facts = machineFacts();
  const before = loadSnapshot();
  const startedAt = new Date().toISOString();
  console.log(
    `# sandbox bench (${opts.quick ? 'quick' : 'full'}): ${startedAt}, scenarios ${opts.scenarios.join(', ')}\n`,
  );
  for (const line of headerLines(facts, before)) console.log(line);
  const sections: Partial<Record<Scenario, Section>> = {};
  const durations: Array<[Scenario, number]> = [];
  for (const name of opts.scenarios) {
    const run = RUNNERS[name];
    if (!run) {
      console.log(`\n## ${name}\n\nnot implemented yet`);
      continue;
    }
    progress(`scenario ${name}`);
    const t0 = performance.now();
    try {
      sections[name] = await run(opts.quick);
      console.log(formatSection(sections[name]!));
    } catch (err) {
      console.log(`\n## ${name}\n\nfailed: ${(err as Error).message}`);
      process.stderr.write(`bench: ${name} failed: ${(err as Error).stack ?? String(err)}\n`);
    }
    const ms = performance.now() - t0;
    durations.push([name, ms]);
    console.log(`\n${scenarioDuration(name, ms)}`);
    progress(`scenario ${name} took ${(ms / 1000).toFixed(1)} s`);
  }
  const after = loadSnapshot();
  console.log('');
  console.log(headerLines(facts, before, after)[2]);
  // performance.now() counts from this process's start: the total includes Node's start and the header.
  const total = runDuration(opts.quick, durations, performance.now());
  console.log(total);
  progress(total);
  if (opts.json) {
    const raw = Object.fromEntries(Object.entries(sections).map(([k, s]) => [k, { rows: s.rows, samples: s.raw }]));
    writeFileSync(
      opts.json,
      JSON.stringify({
        startedAt,
        quick: opts.quick,
        machine: facts,
        before,
        after,
        durationsMs: Object.fromEntries(durations),
        scenarios: raw,
      }),
    );
    progress(`raw samples written to ${opts.json}`);
  }
  if (opts.plot) {
    mkdirSync(opts.plot, { recursive: true });
    const { writePlots } = await import('./plot.js');
    for (const file of await writePlots(opts.plot, sections)) progress(`plot ${file}`);
  }
  return 0;
}
