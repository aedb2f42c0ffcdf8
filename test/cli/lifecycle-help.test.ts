// Every lifecycle subcommand's --help shows at least one example of itself (no root needed).
import { describe, expect, it } from 'vitest';
import { cli, cliUnavailable } from '../helpers/sandbox.js';
import { requireOrSkip } from '../helpers/skip.js';

describe.skipIf(requireOrSkip(cliUnavailable()))('sandbox SUBCOMMAND --help', () => {
  it.each(['run', 'ps', 'stats', 'exec', 'update', 'kill', 'stop', 'events', 'doctor', 'commit'])(
    '%s --help shows an example',
    async (command) => {
      const r = await cli([command, '--help']);
      expect(r.code).toBe(0);
      expect(r.stdout).toContain('Examples:');
      expect(r.stdout).toMatch(new RegExp(`^  sandbox ${command} `, 'm'));
    },
  );
});
