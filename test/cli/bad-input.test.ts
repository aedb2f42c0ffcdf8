// Malformed invocations, table-driven: units, ranges, empty and missing values, unknown and
// conflicting flags, huge numbers, negative zero, non-ASCII digits, inner whitespace, control
// characters, and commands that are missing (127) or not executable (126). Each must give its exit
// code, exactly one line on stderr that names the flag (or command) and the value, nothing on
// stdout, and leave nothing behind. Flag errors need no root (validation comes first); the command
// rows start a real sandbox and run only where one can.
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { buildBusyboxImage, imageUnavailable } from '../helpers/image.js';
import {
  CLI,
  cli,
  finish,
  leftovers,
  removeLeftoverCgroups,
  sandboxUnavailable,
  cliUnavailable,
} from '../helpers/sandbox.js';
import { requireOrSkip } from '../helpers/skip.js';
import { waitFor } from '../helpers/wait.js';

/** One malformed invocation: argv after `sandbox`, the exit code, and what its one line must contain. */
type Row = [label: string, args: string[], code: number, mentions: string[]];

const T = ['--', 'true'];
const FLAG_ROWS: Row[] = [
  // units
  ['events --since without a unit', ['events', '--since', '10x'], 125, ['--since', '"10x"']],
  [
    '--user outside the --userns range',
    ['run', '--userns', '--user', '70000', ...T],
    125,
    ['--user', '"70000"', 'below 65536'],
  ],
  [
    '--user outside the default user namespace',
    ['run', '--user', '70000', ...T],
    125,
    ['--user', '"70000"', 'below 65536'],
  ],
  ['--userns with a value other than host', ['run', '--userns=auto', ...T], 125, ['--userns', '"auto"']],
  ['--userns with an empty value', ['run', '--userns=', ...T], 125, ['--userns', '""']],
  ['unknown size unit', ['run', '--mem', '256X', ...T], 125, ['--mem', '"256X"']],
  ['two decimal points', ['run', '--mem', '1.5.5G', ...T], 125, ['--mem', '"1.5.5G"']],
  ['space before the unit', ['run', '--mem', '256 M', ...T], 125, ['--mem', '"256 M"']],
  ['hex size', ['run', '--mem', '0x100M', ...T], 125, ['--mem', '"0x100M"']],
  ['exponent size', ['run', '--mem', '1e3M', ...T], 125, ['--mem', '"1e3M"']],
  ['cpu in "pct"', ['run', '--cpu', '20pct', ...T], 125, ['--cpu', '"20pct"']],
  ['double percent', ['run', '--cpu', '20%%', ...T], 125, ['--cpu', '"20%%"']],
  ['period without a unit', ['run', '--cpu-period', '100', ...T], 125, ['--cpu-period', '"100"']],
  ['period in minutes', ['run', '--cpu-period', '100min', ...T], 125, ['--cpu-period', '"100min"']],
  ['burst without a unit', ['run', '--cpu', '50%', '--cpu-burst', '5', ...T], 125, ['--cpu-burst', '"5"']],
  // ranges
  ['zero cpu', ['run', '--cpu', '0', ...T], 125, ['--cpu', '"0"']],
  ['more CPUs than the host', ['run', '--cpu', '100000%', ...T], 125, ['--cpu', '"100000%"']],
  ['quota under 1ms', ['run', '--cpu', '0.5%', ...T], 125, ['--cpu', '"0.5%"']],
  ['memory too low to start', ['run', '--mem', '1M', ...T], 125, ['--mem', '"1M"', 'too low']],
  ['zero percent of RAM', ['run', '--mem', '0%', ...T], 125, ['--mem', '"0%"']],
  ['over 100% of RAM', ['run', '--mem', '101%', ...T], 125, ['--mem', '"101%"']],
  ['zero pids', ['run', '--pids', '0', ...T], 125, ['--pids', '"0"']],
  ['pids too low to start', ['run', '--pids', '1', ...T], 125, ['--pids', '"1"', 'too low']],
  ['pids over the kernel maximum', ['run', '--pids', '4194305', ...T], 125, ['--pids', '"4194305"']],
  ['zero weight', ['run', '--cpu-weight', '0', ...T], 125, ['--cpu-weight', '"0"']],
  ['weight over 10000', ['run', '--cpu-weight', '10001', ...T], 125, ['--cpu-weight', '"10001"']],
  ['zero period', ['run', '--cpu-period', '0ms', ...T], 125, ['--cpu-period', '"0ms"']],
  ['period over 1s', ['run', '--cpu-period', '2s', ...T], 125, ['--cpu-period', '"2s"']],
  ['offline CPU', ['run', '--cpuset-cpus', '999', ...T], 125, ['--cpuset-cpus', 'CPU 999']],
  ['reversed CPU range', ['run', '--cpuset-cpus', '1-0', ...T], 125, ['--cpuset-cpus', '"1-0"']],
  ['burst over the quota', ['run', '--cpu', '20%', '--cpu-burst', '1s', ...T], 125, ['--cpu-burst', '"1s"']],
  // block I/O
  ['io weight zero', ['run', '--io-weight', '0', ...T], 125, ['--io-weight', '"0"']],
  ['io weight over 1000', ['run', '--io-weight', '1001', ...T], 125, ['--io-weight', '"1001"']],
  ['device rate without a device', ['run', '--device-write-bps', '2M', ...T], 125, ['--device-write-bps', '"2M"']],
  [
    'device rate of a character device',
    ['run', '--device-read-bps', '/dev/null:2M', ...T],
    125,
    ['--device-read-bps', '"/dev/null"', 'not a block device'],
  ],
  [
    'device rate of a missing path',
    ['run', '--device-write-bps', '/nonexistent/vdz:2M', ...T],
    125,
    ['--device-write-bps', '"/nonexistent/vdz"'],
  ],
  ['zero device rate', ['run', '--device-write-bps', '/dev/null:0', ...T], 125, ['--device-write-bps', '"0"']],
  [
    'device rate with a bad unit',
    ['run', '--device-read-bps', '/dev/null:2X', ...T],
    125,
    ['--device-read-bps', '"2X"'],
  ],
  [
    'iops with a size unit',
    ['run', '--device-write-iops', '/dev/null:10M', ...T],
    125,
    ['--device-write-iops', '"10M"'],
  ],
  // empty values
  ['empty --mem', ['run', '--mem', '', ...T], 125, ['--mem', '""']],
  ['empty --cpu', ['run', '--cpu', '', ...T], 125, ['--cpu', '""']],
  ['empty --pids', ['run', '--pids', '', ...T], 125, ['--pids', '""']],
  ['empty --net', ['run', '--net', '', ...T], 125, ['--net', '""']],
  ['empty --hostname', ['run', '--hostname', '', ...T], 125, ['--hostname', '""']],
  ['empty --cpuset-cpus', ['run', '--cpuset-cpus', '', ...T], 125, ['--cpuset-cpus', '""']],
  // missing values and commands
  ['flag at the end', ['run', '--mem'], 125, ["'--mem <size>'", 'argument missing']],
  ['"--" taken as the value', ['run', '--cpu', '--', 'true'], 125, ['--cpu', '"--"']],
  ['no command', ['run'], 125, ["'command'"]],
  ['nothing after --', ['run', '--cpu', '20%', '--'], 125, ["'command'"]],
  // unknown flags and commands
  ['unknown long flag', ['run', '--bogus', ...T], 125, ["'--bogus'"]],
  ['unknown short flag', ['run', '-x', ...T], 125, ["'-x'"]],
  ['near miss of --mem', ['run', '--memory', '256M', ...T], 125, ["'--memory'", '--mem?']],
  ['unknown flag with =value', ['run', '--bogus=1', ...T], 125, ["'--bogus=1'"]],
  ['unknown subcommand', ['launch'], 125, ["'launch'"]],
  // conflicting flags
  ['--swap without --mem', ['run', '--swap', '1G', ...T], 125, ['--swap', '"1G"', '--mem']],
  ['--cpu-burst without --cpu', ['run', '--cpu-burst', '5ms', ...T], 125, ['--cpu-burst', '"5ms"', '--cpu']],
  ['--cpu given twice', ['run', '--cpu', '20%', '--cpu', '30%', ...T], 125, ['--cpu', '"20%"', '"30%"']],
  ['--net given twice', ['run', '--net', 'none', '--net', 'host', ...T], 125, ['--net', '"none"', '"host"']],
  [
    'quota above the pinned CPUs',
    ['run', '--cpu', '2', '--cpuset-cpus', '0', ...T],
    125,
    ['--cpuset-cpus', '"0"', '--cpu "2"'],
  ],
  // huge numbers
  [
    'huge memory',
    ['run', '--mem', '99999999999999999999G', ...T],
    125,
    ['--mem', '"99999999999999999999G"', 'too large'],
  ],
  ['huge pids', ['run', '--pids', '99999999999999999999', ...T], 125, ['--pids', '"99999999999999999999"']],
  ['huge cpu', ['run', '--cpu', '99999999999999999999', ...T], 125, ['--cpu', '"99999999999999999999"']],
  [
    'huge weight',
    ['run', '--cpu-weight', '99999999999999999999', ...T],
    125,
    ['--cpu-weight', '"99999999999999999999"'],
  ],
  [
    'huge period',
    ['run', '--cpu-period', '99999999999999999999s', ...T],
    125,
    ['--cpu-period', '"99999999999999999999s"'],
  ],
  // negative zero and signs
  ['-0 memory', ['run', '--mem', '-0', ...T], 125, ['--mem', '"-0"']],
  ['-0 cpu', ['run', '--cpu', '-0', ...T], 125, ['--cpu', '"-0"']],
  ['-0 pids', ['run', '--pids', '-0', ...T], 125, ['--pids', '"-0"']],
  ['-0ms period', ['run', '--cpu-period', '-0ms', ...T], 125, ['--cpu-period', '"-0ms"']],
  ['+1 weight', ['run', '--cpu-weight', '+1', ...T], 125, ['--cpu-weight', '"+1"']],
  // digits that are not ASCII
  ['Arabic-Indic pids', ['run', '--pids', '١٢', ...T], 125, ['--pids', '"١٢"']],
  ['fullwidth cpu', ['run', '--cpu', '２0%', ...T], 125, ['--cpu', '"２0%"']],
  ['fullwidth memory', ['run', '--mem', '２５６M', ...T], 125, ['--mem', '"２５６M"']],
  ['Devanagari weight', ['run', '--cpu-weight', '५', ...T], 125, ['--cpu-weight', '"५"']],
  // whitespace and control characters
  ['space inside a number', ['run', '--pids', '1 2', ...T], 125, ['--pids', '"1 2"']],
  ['tab inside a size', ['run', '--mem', '256\tM', ...T], 125, ['--mem', '"256\\tM"']],
  ['newline in a hostname', ['run', '--hostname', 'a\nb', ...T], 125, ['--hostname', '"a\\nb"']],
  ['escape sequence in a value', ['run', '--net', '\u001b[31mred', ...T], 125, ['--net', '"\\x1b[31mred"']],
  ['hostname with a leading dash', ['run', '--hostname', '-lead', ...T], 125, ['--hostname', '"-lead"']],
  ['hostname with a dot', ['run', '--hostname', 'a.b', ...T], 125, ['--hostname', '"a.b"']],
  // filesystem flags
  [
    'missing rootfs',
    ['run', '--rootfs', '/nonexistent-rootfs-xyz', ...T],
    125,
    ['--rootfs', '"/nonexistent-rootfs-xyz"'],
  ],
  [
    'rootfs that is a file',
    ['run', '--rootfs', '/etc/hostname', ...T],
    125,
    ['--rootfs', '"/etc/hostname"', 'not a directory'],
  ],
  ['missing layer', ['run', '--layer', '/nonexistent-layer-xyz', ...T], 125, ['--layer', '"/nonexistent-layer-xyz"']],
  [
    'layer path with a colon',
    ['run', '--layer', '/tmp', '--layer', '/nonexistent:a', ...T],
    125,
    ['--layer', '"/nonexistent:a"'],
  ],
  ['--keep without a root', ['run', '--keep', '/tmp/keep-xyz', ...T], 125, ['--keep', '"/tmp/keep-xyz"']],
  ['volume without a target', ['run', '-v', '/tmp', ...T], 125, ['--volume', '"/tmp"']],
  ['volume with a relative target', ['run', '-v', '/tmp:data', ...T], 125, ['--volume', '"/tmp:data"']],
  ['volume on /', ['run', '-v', '/tmp:/', ...T], 125, ['--volume', '"/tmp:/"']],
  [
    'volume with a missing source',
    ['run', '-v', '/nonexistent-src-xyz:/x', ...T],
    125,
    ['--volume', '"/nonexistent-src-xyz"'],
  ],
  ['tmpfs with a bad size', ['run', '--tmpfs', '/x:64Q', ...T], 125, ['--tmpfs', '"64Q"']],
  ['tmpfs on a relative path', ['run', '--tmpfs', 'x', ...T], 125, ['--tmpfs', '"x"']],
  ['tmpfs of zero bytes', ['run', '--tmpfs', '/x:0', ...T], 125, ['--tmpfs', '"/x:0"']],
  ['commit without DIR', ['commit', 'abc'], 125, ["'dir'"]],
  // security options
  ['unknown capability', ['run', '--cap-add', 'SYS_ADMINN', ...T], 125, ['--cap-add', '"SYS_ADMINN"']],
  ['empty capability', ['run', '--cap-drop', '', ...T], 125, ['--cap-drop', '""']],
  ['capability prefix alone', ['run', '--cap-add', 'CAP_', ...T], 125, ['--cap-add', '"CAP_"']],
  ['capability by number', ['run', '--cap-drop', '21', ...T], 125, ['--cap-drop', '"21"']],
  [
    'seccomp profile file',
    ['run', '--security-opt', 'seccomp=/etc/profile.json', ...T],
    125,
    ['--security-opt', '"seccomp=/etc/profile.json"'],
  ],
  [
    'unknown security option',
    ['run', '--security-opt', 'apparmor=unconfined', ...T],
    125,
    ['--security-opt', '"apparmor=unconfined"'],
  ],
  [
    'no-new-privileges off',
    ['run', '--security-opt', 'no-new-privileges=false', ...T],
    125,
    ['--security-opt', '"no-new-privileges=false"'],
  ],
  ['empty security option', ['run', '--security-opt', '', ...T], 125, ['--security-opt', '""']],
  // network
  ['unknown network mode', ['run', '--net', 'bridge', ...T], 125, ['--net', '"bridge"']],
  ['sandbox: without an id', ['run', '--net', 'sandbox:', ...T], 125, ['--net', '"sandbox:"']],
  ['publish port 0', ['run', '-p', '0:80', ...T], 125, ['--publish', '"0:80"']],
  ['publish port 70000', ['run', '-p', '8080:70000', ...T], 125, ['--publish', '"8080:70000"']],
  ['publish without a container port', ['run', '-p', '8080', ...T], 125, ['--publish', '"8080"', 'missing a port']],
  ['publish an empty spec', ['run', '-p', '', ...T], 125, ['--publish', '""']],
  ['publish with a bad protocol', ['run', '-p', '8080:80/sctp', ...T], 125, ['--publish', '"8080:80/sctp"', '"sctp"']],
  [
    'publish on a bad IPv4 address',
    ['run', '-p', '300.1.1.1:8080:80', ...T],
    125,
    ['--publish', '"300.1.1.1:8080:80"'],
  ],
  ['publish on IPv6 without brackets', ['run', '-p', '::1:8080:80', ...T], 125, ['--publish', '"::1:8080:80"']],
  [
    'publish on a host name',
    ['run', '-p', 'localhost:8080:80', ...T],
    125,
    ['--publish', '"localhost:8080:80"', '"localhost"'],
  ],
  ['publish a port range', ['run', '-p', '8080-8081:80', ...T], 125, ['--publish', '"8080-8081"']],
  [
    'publish a host port twice',
    ['run', '-p', '8080:80', '-p', '8080:81', ...T],
    125,
    ['--publish', '"8080:80"', '"8080:81"'],
  ],
  ['renumber a UDP port', ['run', '-p', '5353:53/udp', ...T], 125, ['--publish', '"5353:53/udp"', '53:53/udp']],
  [
    'publish with --net none',
    ['run', '--net', 'none', '-p', '8080:80', ...T],
    125,
    ['--publish', '"8080:80"', '--net none'],
  ],
  [
    'publish with --net host',
    ['run', '--net', 'host', '-p', '8080:80', ...T],
    125,
    ['--publish', '"8080:80"', '--net host'],
  ],
];

/**
 * `sandbox commit` rows (root): @host, @ro and @img stand for the ids of sandboxes started on the
 * host root, with --read-only, and with --rootfs @image --keep @keep; @dir is a scratch dir.
 */
const COMMIT_ROWS: Row[] = [
  ['commit of an unknown id', ['commit', 'nosuch0000ab', '@dir/out'], 125, ['"nosuch0000ab"']],
  ['commit of a sandbox on the host root', ['commit', '@host', '@dir/out'], 125, ['no writable layer', "host's root"]],
  ['commit of a --read-only sandbox', ['commit', '@ro', '@dir/out'], 125, ['no writable layer', '--read-only']],
  ['commit into a non-empty dir', ['commit', '@img', '@image'], 125, ['"@image"', 'not empty']],
  ['commit onto a file', ['commit', '@img', '@image/etc/passwd'], 125, ['"@image/etc/passwd"', 'not a directory']],
  [
    'commit into its own image',
    ['commit', '@img', '@image/new-layer'],
    125,
    ['"@image/new-layer"', "sandbox's own layers"],
  ],
  [
    'commit into its own --keep dir',
    ['commit', '@img', '@keep/upper2'],
    125,
    ['"@keep/upper2"', "sandbox's own layers"],
  ],
  ['commit into a path with a colon', ['commit', '@img', '@dir/a:b'], 125, ['"@dir/a:b"', 'overlay layer']],
  ['commit into a missing parent', ['commit', '@img', '@dir/no/such'], 125, ['"@dir/no/such"', 'parent']],
];

/** Rows that start a sandbox: the command itself can't run. cwd holds not-executable and a dir. */
const COMMAND_ROWS: Row[] = [
  ['command not found', ['run', '--', 'no-such-command-xyz'], 127, ['exec "no-such-command-xyz"', 'No such file']],
  [
    'missing path with spaces',
    ['run', '--', '/tmp/dir with space/missing'],
    127,
    ['exec "/tmp/dir with space/missing"'],
  ],
  ['command name with a newline', ['run', '--', 'a\nb'], 127, ['exec "a\\nb"']],
  ['empty command name', ['run', '--', ''], 127, ['exec ""']],
  ['not executable', ['run', '--', './not executable'], 126, ['exec "./not executable"', 'Permission denied']],
  ['a directory', ['run', '--', './a dir'], 126, ['exec "./a dir"', 'Permission denied']],
];

/** The common contract of every row. */
async function expectOneLine(args: string[], code: number, mentions: string[], cwd?: string): Promise<void> {
  const r = await cli(args, { cwd });
  expect(r.stdout).toBe('');
  const lines = r.stderr.split('\n');
  expect(lines.at(-1)).toBe(''); // ends with a newline
  expect(lines.slice(0, -1)).toHaveLength(1);
  expect(lines[0]).toMatch(/^sandbox: /);
  for (const m of mentions) expect(lines[0]).toContain(m);
  expect(r.code).toBe(code);
}

describe.skipIf(requireOrSkip(cliUnavailable()))(
  `bad input: ${FLAG_ROWS.length + COMMAND_ROWS.length + COMMIT_ROWS.length} malformed invocations`,
  () => {
    afterEach(() => {
      const left = leftovers();
      removeLeftoverCgroups();
      expect(left).toEqual([]);
    });

    it('has at least 40 rows', () => expect(FLAG_ROWS.length + COMMAND_ROWS.length).toBeGreaterThanOrEqual(40));

    it.each(FLAG_ROWS)('%s: %j exits %d', async (_label, args, code, mentions) => {
      await expectOneLine(args, code, mentions);
    });

    describe.skipIf(requireOrSkip(sandboxUnavailable()))('commands that cannot run (root)', () => {
      let dir: string;
      beforeAll(() => {
        dir = mkdtempSync(join(tmpdir(), 'sandbox-bad-'));
        writeFileSync(join(dir, 'not executable'), 'echo hi\n', { mode: 0o644 });
        mkdirSync(join(dir, 'a dir'));
      });
      afterAll(() => rmSync(dir, { recursive: true, force: true }));

      it.each(COMMAND_ROWS)('%s: %j exits %d', async (_label, args, code, mentions) => {
        await expectOneLine(args, code, mentions, dir);
      });
    });

    describe.skipIf(requireOrSkip(sandboxUnavailable()))('network values that need a look at the host (root)', () => {
      // A host port in use: a listener of ours on 127.0.0.1.
      let busy: Server;
      let port = 0;
      beforeAll(async () => {
        busy = createServer();
        await new Promise<void>((r) => busy.listen(0, '127.0.0.1', r));
        port = (busy.address() as AddressInfo).port;
      });
      afterAll(() => void busy.close());

      it('a host port already in use', async () => {
        await expectOneLine(['run', '-p', `127.0.0.1:${port}:80`, ...T], 125, [
          '--publish',
          `"127.0.0.1:${port}:80"`,
          'already in use',
        ]);
      });
      it("an address that is not the host's (TEST-NET-3)", async () => {
        await expectOneLine(['run', '-p', '203.0.113.7:8080:80', ...T], 125, [
          '--publish',
          '"203.0.113.7:8080:80"',
          'not an address of this host',
        ]);
      });
      it('an unknown sandbox to join', async () => {
        await expectOneLine(['run', '--net', 'sandbox:nonexistent-xyz', ...T], 125, [
          '--net',
          '"sandbox:nonexistent-xyz"',
          'no such sandbox',
        ]);
      });
      it('a privileged port without CAP_NET_BIND_SERVICE (root without that capability, setpriv(1))', async () => {
        // For root, execve(2) makes the permitted set the bounding set (capabilities(7)): dropping
        // the capability from it and from the inheritable set leaves this root without it.
        const child = spawn(
          'setpriv',
          [
            '--inh-caps',
            '-net_bind_service',
            '--bounding-set',
            '-net_bind_service',
            process.execPath,
            CLI,
            'run',
            '-p',
            '127.0.0.1:1:80',
            ...T,
          ],
          { stdio: ['ignore', 'pipe', 'pipe'] },
        );
        const r = await finish(child);
        expect(r.stderr).toBe(
          'sandbox: --publish: "127.0.0.1:1:80": host port 127.0.0.1:1/tcp is privileged (below net.ipv4.ip_unprivileged_port_start) and this process lacks CAP_NET_BIND_SERVICE\n',
        );
        expect(r.code).toBe(125);
      });
    });
  },
);

describe.skipIf(requireOrSkip(sandboxUnavailable() ?? imageUnavailable()))('bad input: sandbox commit (root)', () => {
  const names: Record<string, string> = {};
  const ids: string[] = [];
  const subst = (a: string): string => a.replace(/@(dir|image|keep|host|ro|img)/g, (_m, k: string) => names[k]!);
  beforeAll(async () => {
    names.dir = mkdtempSync(join(tmpdir(), 'sandbox-bad-commit-'));
    names.image = join(names.dir, 'image');
    names.keep = join(names.dir, 'keep');
    buildBusyboxImage(names.image);
    const start = async (key: string, flags: string[]): Promise<void> => {
      const r = await cli(['run', '-d', ...flags, '--', 'sleep', '1000']);
      expect(r.stderr).toBe('');
      names[key] = r.stdout.trim();
      ids.push(names[key]!);
    };
    await start('host', []);
    await start('ro', ['--rootfs', names.image, '--read-only']);
    await start('img', ['--rootfs', names.image, '--keep', names.keep]);
  });
  afterAll(async () => {
    for (const id of ids) await cli(['kill', id]);
    await waitFor(() => !ids.some((id) => existsSync(`/run/sandbox/${id}`)), 'the killed sandboxes to be torn down');
    rmSync(names.dir!, { recursive: true, force: true });
    const left = leftovers();
    removeLeftoverCgroups();
    expect(left).toEqual([]);
  });

  it.each(COMMIT_ROWS)('%s: %j exits %d', async (_label, args, code, mentions) => {
    await expectOneLine(args.map(subst), code, mentions.map(subst));
    expect(existsSync(join(names.dir!, 'out'))).toBe(false);
  });
});
