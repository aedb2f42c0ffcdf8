// Issue 19, finding 7 (the NET_RAW part): with --net host, CAP_NET_RAW let the workload open a
// packet socket in the host's network namespace and capture host traffic (loopback included). The
// default set now lacks CAP_NET_RAW when the network namespace is the host's; `--cap-add NET_RAW`
// gives it back, and a sandbox with a network namespace of its own keeps it. The probes only
// create sockets (protocol 0: an AF_PACKET socket bound to no protocol receives nothing) and close
// them; no traffic is read.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanUpAfterEach, detached } from '../helpers/lifecycle.js';
import { cli, sandboxUnavailable } from '../helpers/sandbox.js';
import { requireOrSkip } from '../helpers/skip.js';

const skip = requireOrSkip(sandboxUnavailable());

// One line per socket kind: "packet OK" or "packet EPERM" (errno name), then CapEff's NET_RAW bit.
const PROBE = `
import errno, socket
for name, args in (('packet', (socket.AF_PACKET, socket.SOCK_RAW, 0)), ('raw-icmp', (socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP))):
    try:
        socket.socket(*args).close()
        print(name, 'OK')
    except OSError as e:
        print(name, errno.errorcode[e.errno])
eff = int([l for l in open('/proc/self/status') if l.startswith('CapEff:')][0].split()[1], 16)
print('net_raw', (eff >> 13) & 1)
`;

describe.skipIf(skip)('issue 19, finding 7: no packet socket in the host network namespace by default', () => {
  cleanUpAfterEach();
  let dir = '';
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'escape-netraw-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const probe = (flags: string[]) => cli(['run', ...flags, '--', 'python3', '-c', PROBE], { cwd: dir });

  it('--net host (the default): a packet socket and a raw socket are refused with EPERM, CAP_NET_RAW is not held', async () => {
    for (const flags of [[], ['--net', 'host']]) {
      const r = await probe(flags);
      expect(r.stderr).toBe('');
      expect(r.stdout).toBe('packet EPERM\nraw-icmp EPERM\nnet_raw 0\n');
    }
  });

  it('`sandbox exec` into a --net host sandbox gets the same set: EPERM', async () => {
    const id = await detached(['--', 'sleep', '100'], { cwd: dir });
    const r = await cli(['exec', id, '--', 'python3', '-c', PROBE]);
    expect(r.stdout).toBe('packet EPERM\nraw-icmp EPERM\nnet_raw 0\n');
  });

  it('--cap-add NET_RAW gives it back; a network namespace of its own (--net none) keeps it', async () => {
    expect((await probe(['--userns=host', '--cap-add', 'NET_RAW'])).stdout).toBe('packet OK\nraw-icmp OK\nnet_raw 1\n');
    expect((await probe(['--userns=host', '--net', 'none'])).stdout).toBe('packet OK\nraw-icmp OK\nnet_raw 1\n');
  });
});
