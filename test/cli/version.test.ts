// `sandbox --version` prints the package's version (defined in the bundle by native/compile-ts.sh),
// with no root needed and nothing else done.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { cli, cliUnavailable } from '../helpers/sandbox.js';
import { requireOrSkip } from '../helpers/skip.js';

const version = (
  JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }
).version;

describe.skipIf(requireOrSkip(cliUnavailable()))('sandbox --version', () => {
  it.each(['--version', '-V'])('%s prints "sandbox <package.json version>" and exits 0', async (flag) => {
    const r = await cli([flag]);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(`sandbox ${version}\n`);
    expect(r.stderr).toBe('');
  });
});
