// The TypeScript keeps the lint and format rules of biome.jsonc, has no floating promise
// (eslint.config.js: typescript-eslint's no-floating-promises, the one rule that needs the type
// checker), and no dead file, export or dependency (knip.jsonc). All three are pinned
// devDependencies, so every machine checks with the same versions; `npm run lint` runs the same
// checks by hand and `npm run format` applies the formatter (docs/lint.md).
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { needsSetup, requireOrSkip } from '../helpers/skip.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const BIOME = join(ROOT, 'node_modules/@biomejs/biome/bin/biome');
const ESLINT = join(ROOT, 'node_modules/eslint/bin/eslint.js');
const KNIP = join(ROOT, 'node_modules/knip/bin/knip.js');
const missing = [BIOME, ESLINT, KNIP].every(existsSync)
  ? null
  : needsSetup('@biomejs/biome, eslint and knip, devDependencies (npm ci)');
/** Type-checked linting and knip read the whole program: seconds, more on a loaded machine. */
const WHOLE_TREE_MS = 300_000;

/** Run a tool's CLI with this Node in cwd; NO_COLOR keeps its report plain text. */
function tool(bin: string, args: string[], cwd: string) {
  return spawnSync(process.execPath, [bin, ...args], {
    cwd,
    encoding: 'utf8',
    env: { ...process.env, NO_COLOR: '1', FORCE_COLOR: '0' },
    maxBuffer: 64 << 20,
  });
}

/** Biome as CI runs it: format and lint, read-only, warnings fail too. */
const biomeCheck = (cwd: string, paths: string[]) =>
  tool(BIOME, ['ci', '--colors=off', '--error-on-warnings', ...paths], cwd);

/** Write files (path relative to dir → text) under dir. */
function writeTree(dir: string, files: Record<string, string>): void {
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
}

describe('lint, format and dead code', () => {
  const scratch = mkdtempSync(join(tmpdir(), 'sandbox-lint-'));
  afterAll(() => rmSync(scratch, { recursive: true, force: true }));

  it.skipIf(requireOrSkip(missing))('Biome fails a file off the style and a type used through a value import', () => {
    const dir = join(scratch, 'biome');
    mkdirSync(dir);
    cpSync(join(ROOT, 'biome.jsonc'), join(dir, 'biome.jsonc'));
    writeTree(dir, {
      'src/shape.ts': 'export interface Shape {\n  n: number;\n}\n',
      'src/uses.ts': "import { Shape } from './shape.js';\n\nexport const s: Shape = { n: 1 };\n",
      'src/off.ts': 'export const a = "double quotes";\n',
    });
    const run = biomeCheck(dir, ['--vcs-enabled=false', 'src']);
    expect(run.status).not.toBe(0);
    expect(run.stdout + run.stderr).toMatch(/src\/off\.ts format/);
    expect(run.stdout + run.stderr).toMatch(/src\/uses\.ts:1:8 lint\/style\/useImportType/);
  });

  it.skipIf(requireOrSkip(missing))(
    'ESLint fails an unawaited promise typed by @types/node',
    () => {
      const dir = join(scratch, 'eslint');
      mkdirSync(dir);
      // The project's config over a program of one file, with the project's node_modules (the
      // config's typescript-eslint, the program's @types/node).
      writeTree(dir, {
        'package.json': '{ "type": "module" }\n',
        'tsconfig.test.json': JSON.stringify({
          compilerOptions: { strict: true, module: 'NodeNext', types: ['node'] },
          include: ['*.ts'],
        }),
        'floating.ts':
          "import { writeFile } from 'node:fs/promises';\n\nexport function save(): void {\n  writeFile('/nonexistent', 'x');\n}\n",
      });
      cpSync(join(ROOT, 'eslint.config.js'), join(dir, 'eslint.config.js'));
      symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'));
      const run = tool(ESLINT, ['--no-color', 'floating.ts'], dir);
      expect(run.status).not.toBe(0);
      expect(run.stdout).toMatch(/floating\.ts\n\s+4:3\s+error .*@typescript-eslint\/no-floating-promises/);
    },
    WHOLE_TREE_MS,
  );

  it.skipIf(requireOrSkip(missing))(
    'knip fails an unused export, file and dependency',
    () => {
      const dir = join(scratch, 'knip');
      mkdirSync(dir);
      writeTree(dir, {
        'package.json': JSON.stringify({
          name: 'knip-probe',
          type: 'module',
          main: 'main.ts',
          dependencies: { 'left-pad': '1.3.0' },
        }),
        'main.ts': "import { used } from './lib.js';\n\nconsole.log(used);\n",
        'lib.ts': 'export const used = 1;\nexport const unused = 2;\n',
        'orphan.ts': 'export const nobody = 3;\n',
      });
      const run = tool(KNIP, ['--no-progress', '--no-config-hints'], dir);
      expect(run.status).not.toBe(0);
      expect(run.stdout).toMatch(/Unused files \(1\)\norphan\.ts/);
      expect(run.stdout).toMatch(/Unused dependencies \(1\)\nleft-pad/);
      expect(run.stdout).toMatch(/Unused exports \(1\)\nunused\s+lib\.ts:2:14/);
    },
    WHOLE_TREE_MS,
  );

  it.skipIf(requireOrSkip(missing))('the tree is formatted and linted as biome.jsonc says', () => {
    const run = biomeCheck(ROOT, ['--max-diagnostics=30', '.']); // `npm run format` fixes a format error
    expect(run.stdout + run.stderr).not.toMatch(/×/);
    expect(run.status).toBe(0);
  });

  it.skipIf(requireOrSkip(missing))(
    'the tree has no floating promise',
    () => {
      const run = tool(ESLINT, ['--no-color', '--max-warnings=0', '.'], ROOT);
      expect(run.stdout + run.stderr).toBe('');
      expect(run.status).toBe(0);
    },
    WHOLE_TREE_MS,
  );

  it.skipIf(requireOrSkip(missing))(
    'the tree has no unused file, export or dependency',
    () => {
      const run = tool(KNIP, ['--no-progress'], ROOT);
      expect(run.stdout + run.stderr).toBe('');
      expect(run.status).toBe(0);
    },
    WHOLE_TREE_MS,
  );
});
