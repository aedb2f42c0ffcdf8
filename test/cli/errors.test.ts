// The CLI contract for bad input: exit 125, exactly one line on stderr naming the flag and the
// value, and nothing created. These run without root: validation happens before anything is made.
import { existsSync, readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { cli, cliUnavailable } from '../helpers/sandbox.js';
import { requireOrSkip } from '../helpers/skip.js';

const runDirEntries = () => (existsSync('/run/sandbox') ? readdirSync('/run/sandbox').sort() : []);

describe.skipIf(requireOrSkip(cliUnavailable()))('sandbox CLI errors', () => {
  it.each([
    [['--cpu', '0'], 'sandbox: --cpu: must be more than 0, got "0"'],
    [['--cpu', '-20%'], 'sandbox: --cpu: expected a share like 20%, 150% or 0.5 (CPUs), got "-20%"'],
    [['--cpu', 'lots'], 'sandbox: --cpu: expected a share like 20%, 150% or 0.5 (CPUs), got "lots"'],
    [['--cpu', '100000%'], /^sandbox: --cpu: "100000%" is more than this host's \d+ CPUs? \(\d+%\)$/],
    [['--mem', '256X'], 'sandbox: --mem: expected a size like 256M, 1.5G or 25%, got "256X"'],
    [['--mem', '0'], 'sandbox: --mem: "0" is too low: a sandbox needs at least 6 MiB to start'],
    [['--mem', '-1G'], 'sandbox: --mem: expected a size like 256M, 1.5G or 25%, got "-1G"'],
    [['--mem', '1M'], 'sandbox: --mem: "1M" is too low: a sandbox needs at least 6 MiB to start'],
    [['--swap', '1G'], 'sandbox: --swap: needs --mem (swap is allowed on top of a memory limit), got "1G"'],
    [['--pids', '0'], 'sandbox: --pids: must be from 1 to 4194304, got "0"'],
    [['--pids', 'many'], 'sandbox: --pids: expected a whole number from 1 to 4194304 or "max", got "many"'],
    [['--cpu-period', '100'], 'sandbox: --cpu-period: expected a duration like 100ms or 0.1s, got "100"'],
    [['--cpu', '20%', '--cpu-burst', '1s'], 'sandbox: --cpu-burst: "1s" is more than the quota of 20ms per period'],
    [['--cpuset-cpus', '999'], /^sandbox: --cpuset-cpus: CPU 999 is not online on this host \(online: [\d,-]+\)$/],
    [['--cpu-weight', '0'], 'sandbox: --cpu-weight: must be from 1 to 10000, got "0"'],
    [['--net', 'bridge'], 'sandbox: --net: expected "host", "none", "private" or "sandbox:ID", got "bridge"'],
    [
      ['--hostname', 'bad_name!'],
      'sandbox: --hostname: expected letters, digits and inner dashes (at most 63), got "bad_name!"',
    ],
    [['--bogus'], "sandbox: unknown option '--bogus'"],
  ])('run %j -- true', async (flags, message) => {
    const before = runDirEntries();
    const r = await cli(['run', ...flags, '--', 'true']);
    expect(r.code).toBe(125);
    expect(r.stdout).toBe('');
    const lines = r.stderr.split('\n').filter(Boolean);
    expect(lines).toHaveLength(1);
    if (typeof message === 'string') expect(lines[0]).toBe(message);
    else expect(lines[0]).toMatch(message);
    expect(runDirEntries()).toEqual(before);
  });

  it('a flag without its value is a usage error', async () => {
    const r = await cli(['run', '--cpu']);
    expect(r.code).toBe(125);
    expect(r.stderr).toBe("sandbox: option '--cpu <share>' argument missing\n");
  });

  it('a run without a command is a usage error', async () => {
    const r = await cli(['run', '--cpu', '20%']);
    expect(r.code).toBe(125);
    expect(r.stderr).toBe("sandbox: missing required argument 'command'\n");
  });

  it('an unknown subcommand is a usage error', async () => {
    const r = await cli(['launch']);
    expect(r.code).toBe(125);
    expect(r.stderr).toMatch(/^sandbox: unknown command 'launch'/);
  });

  it('--help exits 0 and shows the examples', async () => {
    const r = await cli(['run', '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/sandbox run --cpu 20% --mem 256M -- top -b -n 1/);
  });

  it('options after the command belong to the command', async () => {
    const r = await cli(['run', '--cpu', 'nope', 'ls', '-l']);
    expect(r.code).toBe(125);
    expect(r.stderr).toBe('sandbox: --cpu: expected a share like 20%, 150% or 0.5 (CPUs), got "nope"\n');
  });
});
