// The import rules of .dependency-cruiser.cjs hold on the repository, and each of them can fail: a
// tiny tree laid out like the repository passes, and the same tree with one bad edge added fails
// with exactly the rule that edge breaks.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cruise, type IConfiguration, type ICruiseResult, type IViolation } from 'dependency-cruiser';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
/** The rules `npm run check:deps` applies, as the CLI reads them. */
const CONFIG = createRequire(import.meta.url)(join(ROOT, '.dependency-cruiser.cjs')) as IConfiguration;

/** Run the checker on supervisor/, procfs/, bench/ and test/ under `baseDir` (in process: one load of the parser for every run). */
async function violations(baseDir: string): Promise<IViolation[]> {
  const result = await cruise(['supervisor', 'procfs', 'bench', 'test'], {
    ...CONFIG.options,
    ruleSet: { forbidden: CONFIG.forbidden ?? [] },
    validate: true,
    baseDir,
  });
  return (result.output as ICruiseResult).summary.violations;
}

/** Names of the broken rules, each once, sorted. */
function ruleNames(found: readonly IViolation[]): string[] {
  return [...new Set(found.map((v) => v.rule.name))].sort();
}

/** A tree that keeps every rule: each part imports what it may, through the leaves' index files. */
const GOOD: Record<string, string> = {
  'supervisor/errors.ts': 'export const EXIT = 125;\n',
  'supervisor/sleep.ts': 'export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));\n',
  'supervisor/cgroup/index.ts':
    "export { readV1 } from './v1.js';\nexport type { Stats } from './types.js';\nimport { EXIT } from '../errors.js';\nexport const code = EXIT;\n",
  'supervisor/cgroup/types.ts': 'export interface Stats { usage: number }\n',
  'supervisor/cgroup/v1.ts':
    "import type { Stats } from './types.js';\nexport const readV1 = (): Stats => ({ usage: 0 });\n",
  'procfs/parse/index.ts': "export { parseStat } from './stat.js';\n",
  'procfs/parse/stat.ts': 'export const parseStat = (text: string): number => text.length;\n',
  'supervisor/state.ts':
    "import { readV1 } from './cgroup/index.js';\nimport { parseStat } from '../procfs/parse/index.js';\nexport const state = (): number => readV1().usage + parseStat('');\n",
  'supervisor/commands/ps.ts': "import { state } from '../state.js';\nexport const ps = state;\n",
  'supervisor/commands/bench.ts': "import { SCENARIOS } from '../../bench/args.js';\nexport const bench = SCENARIOS;\n",
  'supervisor/cli.ts':
    "import { ps } from './commands/ps.js';\nimport { bench } from './commands/bench.js';\nexport const cli = [ps, bench];\n",
  'procfs/views/meminfo.ts':
    "import type { Stats } from '../../supervisor/cgroup/index.js';\nexport const render = (s: Stats): string => String(s.usage);\n",
  'bench/args.ts': "import { readV1 } from '../supervisor/cgroup/index.js';\nexport const SCENARIOS = [readV1];\n",
  'test/helpers/wait.ts': 'export const wait = 1;\n',
  'test/unit/v1.test.ts':
    "import { readV1 } from '../../supervisor/cgroup/v1.js';\nimport { wait } from '../helpers/wait.js';\nexport const t = [readV1, wait];\n",
};

/** One bad edge per rule: files added to (or replacing files of) the good tree. */
const BAD: Record<string, Record<string, string>> = {
  'no-circular': {
    'supervisor/cgroup/v1.ts': "import { code } from './index.js';\nexport const readV1 = () => ({ usage: code });\n",
  },
  'cgroup-is-a-leaf': {
    'supervisor/limits.ts': 'export const MIB = 1 << 20;\n',
    'supervisor/cgroup/memory.ts': "import { MIB } from '../limits.js';\nexport const floor = MIB;\n",
  },
  'parse-is-a-leaf': {
    'procfs/parse/uptime.ts': "import { state } from '../../supervisor/state.js';\nexport const uptime = state;\n",
  },
  'cgroup-through-its-index': {
    'procfs/views/cpu.ts': "import type { Stats } from '../../supervisor/cgroup/types.js';\nexport type Cpu = Stats;\n",
  },
  'parse-through-its-index': {
    'supervisor/cpuset.ts': "import { parseStat } from '../procfs/parse/stat.js';\nexport const cpus = parseStat;\n",
  },
  'foundation-imports-nothing-of-ours': {
    'supervisor/sleep.ts': "import { state } from './state.js';\nexport const sleep = state;\n",
  },
  'core-not-to-cli': {
    'supervisor/run/release.ts': "import { ps } from '../commands/ps.js';\nexport const release = ps;\n",
  },
  'product-not-to-bench': {
    'supervisor/run/views.ts': "import { SCENARIOS } from '../../bench/args.js';\nexport const views = SCENARIOS;\n",
  },
  'product-not-to-test': {
    'bench/wait.ts': "import { wait } from '../test/helpers/wait.js';\nexport const w = wait;\n",
  },
};

const made: string[] = [];

/** Write a tree of files into a new temporary directory. */
function writeTree(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'sandbox-deps-'));
  made.push(dir);
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
  return dir;
}

afterAll(() => {
  for (const dir of made) rmSync(dir, { recursive: true, force: true });
});

describe('dependency rules (.dependency-cruiser.cjs)', () => {
  it('hold on the repository', async () => {
    const found = await violations(ROOT);
    expect(found.map((v) => `${v.rule.name}: ${v.from} -> ${v.to}`)).toEqual([]);
  });

  it('pass a tree that keeps them', async () => {
    expect(await violations(writeTree(GOOD))).toEqual([]);
  });

  it('cover every rule of the config with a bad edge here', () => {
    expect(Object.keys(BAD).sort()).toEqual((CONFIG.forbidden ?? []).map((r) => r.name).sort());
  });

  for (const [rule, files] of Object.entries(BAD)) {
    it(`fail ${rule} on one bad edge`, async () => {
      const found = await violations(writeTree({ ...GOOD, ...files }));
      expect(ruleNames(found)).toEqual([rule]);
    });
  }
});
