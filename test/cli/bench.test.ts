// The bench's command line (bench/args.ts, bench/run.ts), through `npm run bench`'s entry and through
// `sandbox bench`: a bad argument is one line on stderr
// naming it, exit 125, nothing on stdout and nothing run; --help prints the usage. No timing is
// asserted here: benchmarks report figures, tests check behaviour (../shared/BENCH.md step 6).
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parseBenchArgs, SCENARIOS } from '../../bench/args.js';

const BENCH = fileURLToPath(new URL('../../dist/bench/main.js', import.meta.url));
const CLI = fileURLToPath(new URL('../../dist/supervisor/main.cjs', import.meta.url));

/** The two ways in: `node dist/bench/main.js ARGS` (npm run bench) and `sandbox bench ARGS`. */
const ENTRIES: Array<[string, string[]]> = [
  ['npm run bench', [BENCH]],
  ['sandbox bench', [CLI, 'bench']],
];

describe.each(ENTRIES)('bench arguments through %s', (_entry, prefix) => {
  /** Run the built bench with argv. */
  const bench = (args: string[]) =>
    spawnSync(process.execPath, [...prefix, ...args], { encoding: 'utf8', timeout: 10_000 });

  it.each([
    ['unknown scenario', ['nosuch'], ['"nosuch"', 'quota']],
    ['unknown option', ['--fast'], ['"--fast"']],
    ['--json without a file', ['--json'], ['--json', 'nothing']],
    ['--plot followed by a flag', ['--plot', '--quick'], ['--plot', '"--quick"']],
    ['--json with an empty file name', ['--json', ''], ['--json', '""']],
  ])('%s: exit 125 and one line naming it', (_label, args, mentions) => {
    const r = bench(args);
    expect(r.status).toBe(125);
    expect(r.stdout).toBe('');
    const lines = r.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    for (const m of mentions) expect(lines[0]).toContain(m);
  });

  it('--help prints the usage with every scenario and exits 0', () => {
    const r = bench(['--help']);
    expect(r.status).toBe(0);
    for (const s of SCENARIOS) expect(r.stdout).toContain(s);
  });
});

describe('bench scenario selection', () => {
  it('runs named scenarios in the fixed order, once each, and all by default', () => {
    expect(parseBenchArgs(['procfs', 'quota', 'procfs', '--quick']).scenarios).toEqual(['quota', 'procfs']);
    expect(parseBenchArgs([]).scenarios).toEqual([...SCENARIOS]);
    const o = parseBenchArgs(['--json', 'out.json', '--plot', 'plots']);
    expect([o.json, o.plot, o.quick]).toEqual(['out.json', 'plots', false]);
  });
});
