// The C sources of native/ keep the style .clang-format writes down; `npm run format:c` applies it.
// clang-format is the npm build pinned in package.json (@wasm-fmt/clang-format): its output differs
// between versions, so every machine checks with the same one.
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { needsSetup, requireOrSkip } from '../../helpers/skip.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const CLANG_FORMAT = join(ROOT, 'node_modules/@wasm-fmt/clang-format/clang-format-cli.cjs');
const missing = existsSync(CLANG_FORMAT) ? null : needsSetup('@wasm-fmt/clang-format, a devDependency (npm ci)');

/** Every .c and .h file under dir, relative to ROOT. */
function cSources(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { recursive: true, encoding: 'utf8' })
    .filter((f) => /\.[ch]$/.test(f))
    .map((f) => relative(ROOT, join(ROOT, dir, f)))
    .sort();
}

/** clang-format --dry-run --Werror on files, run in cwd: nonzero with a diagnostic per misformatted spot. */
function checkFormat(cwd: string, files: string[]) {
  return spawnSync(process.execPath, [CLANG_FORMAT, '--dry-run', '--Werror', '--style=file', ...files], {
    cwd,
    encoding: 'utf8',
  });
}

describe('C format', () => {
  const scratch = mkdtempSync(join(tmpdir(), 'sandbox-format-'));
  afterAll(() => rmSync(scratch, { recursive: true, force: true }));

  it.skipIf(requireOrSkip(missing))('a file off the style fails the check, naming the file', () => {
    copyFileSync(join(ROOT, '.clang-format'), join(scratch, '.clang-format'));
    writeFileSync(join(scratch, 'off.c'), 'int main(void) {\n  return 0;\n}\n');
    const run = checkFormat(scratch, ['off.c']);
    expect(run.status).not.toBe(0);
    expect(run.stderr).toContain('off.c');
  });

  it.skipIf(requireOrSkip(missing))('native/**/*.{c,h} are formatted as .clang-format says', () => {
    const files = cSources('native');
    expect(files).toContain('native/stage/pid1.c');
    const run = checkFormat(ROOT, files);
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
  });
});
