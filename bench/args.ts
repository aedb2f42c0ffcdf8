// The bench's command line: `npm run bench [-- SCENARIO…] [--quick] [--json FILE] [--plot DIR]`, or
// `sandbox bench [SCENARIO…] …`.
// Every bad input is one line naming the flag or value, exit 125 (like the CLI).

/** Scenarios in the order a full run executes them. */
export const SCENARIOS = ['quota', 'burst', 'enforce', 'launch', 'cost', 'procfs', 'sysinfo', 'scale'] as const;
/** One scenario's name. */
export type Scenario = (typeof SCENARIOS)[number];

/** Parsed options. */
export interface BenchOptions {
  scenarios: Scenario[];
  quick: boolean;
  json: string | null;
  plot: string | null;
  help: boolean;
}

/** The usage text of --help. */
export const USAGE = `usage: sandbox bench [SCENARIO…] [--quick] [--json FILE] [--plot DIR]
       (or: npm run bench -- [SCENARIO…] …)
  SCENARIO   ${SCENARIOS.join(', ')} (default: all, in this order)
  --quick    a ~30 s smoke run of the scenarios named (no thresholds fail it)
  --json F   write every raw sample to F
  --plot D   write SVG charts (vega-lite) to directory D
  --help     this text`;

/** Parse argv (without node and the script); throws an Error whose message is the one line to print. */
export function parseBenchArgs(argv: readonly string[]): BenchOptions {
  const out: BenchOptions = { scenarios: [], quick: false, json: null, plot: null, help: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--quick') out.quick = true;
    else if (a === '--help' || a === '-h') out.help = true;
    else if (a === '--json' || a === '--plot') {
      const v = argv[++i];
      if (v === undefined || v === '' || v.startsWith('--'))
        throw new Error(
          `bench: ${a} needs a ${a === '--json' ? 'file' : 'directory'}, got ${v === undefined ? 'nothing' : `"${v}"`}`,
        );
      if (a === '--json') out.json = v;
      else out.plot = v;
    } else if (a.startsWith('-'))
      throw new Error(`bench: unknown option "${a}" (known: --quick, --json FILE, --plot DIR, --help)`);
    else if ((SCENARIOS as readonly string[]).includes(a)) {
      if (!out.scenarios.includes(a as Scenario)) out.scenarios.push(a as Scenario);
    } else throw new Error(`bench: unknown scenario "${a}" (known: ${SCENARIOS.join(', ')})`);
  }
  if (out.scenarios.length === 0) out.scenarios = [...SCENARIOS];
  else out.scenarios = SCENARIOS.filter((s) => out.scenarios.includes(s));
  return out;
}
