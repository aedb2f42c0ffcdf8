// `sandbox bench [SCENARIO…] [--quick] [--json FILE] [--plot DIR]`: the bench of bench/run.ts, the
// same as `npm run bench`. Loaded only when asked for: the bench (and vega for --plot) stays out of
// the bundled CLI, which every `sandbox run` parses (native/compile-ts.sh), so the URL is computed
// at run time and esbuild leaves it alone; only the scenario list (bench/args.ts) is bundled.
import { existsSync } from 'node:fs';
import type { Command } from 'commander';
import { SCENARIOS } from '../../bench/args.js';
import { importEsm } from '../esm-import.js';

/**
 * dist/bench/run.js (tsc emits it): one level up from the bundle dist/supervisor/sandbox.bundle.cjs, two from
 * tsc's own dist/supervisor/commands/bench.js (what a plain `tsc` build leaves).
 */
function benchModule(): URL {
  const up = new URL('../bench/run.js', import.meta.url);
  return existsSync(up) ? up : new URL('../../bench/run.js', import.meta.url);
}

/** Add `sandbox bench`; `onExit` receives the bench's exit code (0, or 125 for bad input). */
export function registerBench(program: Command, onExit: (code: number) => void): void {
  program
    .command('bench')
    .description('measure CPU-quota enforcement, launch cost and view speed against the kernel and peers')
    .argument('[args...]', `scenarios (${SCENARIOS.join(', ')}) and --quick, --json FILE, --plot DIR, --help`)
    .helpOption(false)
    .allowUnknownOption()
    .passThroughOptions()
    .action(async (args: string[]) => {
      const { runBench } = (await importEsm(benchModule().href)) as {
        runBench(argv: readonly string[]): Promise<number>;
      };
      onExit(await runBench(args));
    });
}
