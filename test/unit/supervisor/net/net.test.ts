// --net and -p parsing, and the pasta command line they become (pure: no namespaces, no pasta).
import { describe, expect, it } from 'vitest';
import { parseNet } from '../../../../supervisor/net/mode.js';
import { pastaArgs, pastaPortArgs } from '../../../../supervisor/net/pasta.js';
import { parsePublish, parsePublishList } from '../../../../supervisor/net/publish.js';
import { stageArgs } from '../../../../supervisor/stage.js';

describe('parsePublish', () => {
  it.each([
    ['8080:80', { hostIp: null, hostPort: 8080, containerPort: 80, proto: 'tcp' }],
    ['127.0.0.1:8080:80', { hostIp: '127.0.0.1', hostPort: 8080, containerPort: 80, proto: 'tcp' }],
    ['127.0.0.1:5353:5353/udp', { hostIp: '127.0.0.1', hostPort: 5353, containerPort: 5353, proto: 'udp' }],
    ['[::1]:8080:80/tcp', { hostIp: '::1', hostPort: 8080, containerPort: 80, proto: 'tcp' }],
    ['65535:1', { hostIp: null, hostPort: 65535, containerPort: 1, proto: 'tcp' }],
  ])('%s', (spec, want) => expect(parsePublish(spec)).toEqual({ text: spec, ...want }));

  it.each([
    ['0:80', 'HOST_PORT must be a port 1-65535, got "0"'],
    ['8080:70000', 'CONTAINER_PORT must be a port 1-65535, got "70000"'],
    ['8080', 'missing a port'],
    ['8080:', 'CONTAINER_PORT must be a port 1-65535, got ""'],
    [':80', 'HOST_PORT must be a port 1-65535, got ""'],
    ['8080:80/sctp', 'protocol "sctp" is not tcp or udp'],
    ['8080:80/', 'protocol "" is not tcp or udp'],
    ['256.0.0.1:8080:80', '"256.0.0.1" is not an IPv4 address'],
    ['localhost:8080:80', '"localhost" is not an IPv4 address'],
    ['::1:8080:80', 'too many parts'],
    ['[127.0.0.1]:8080:80', '"127.0.0.1" is not an IPv6 address'],
    ['[::1]8080:80', 'in brackets'],
    ['1.2.3.4:1:2:3', 'too many parts'],
    ['+80:80', 'got "+80"'],
    ['8080-8090:80', 'got "8080-8090"'],
    ['８０:80', 'got "８０"'],
    [
      '127.0.0.1:5353:53/udp',
      "a UDP port can't be renumbered (this pasta drops the replies): publish it as 127.0.0.1:53:53/udp",
    ],
  ])('%s is refused: %s', (spec, why) => {
    expect(() => parsePublish(spec)).toThrow(`--publish: `);
    expect(() => parsePublish(spec)).toThrow(why);
    expect(() => parsePublish(spec)).toThrow(`"${spec}"`);
  });

  it('refuses one host port published twice, also across a wildcard and an address', () => {
    expect(() => parsePublishList(['8080:80', '8080:81'])).toThrow(
      'host port 8080/tcp is published twice ("8080:80" and "8080:81")',
    );
    expect(() => parsePublishList(['8080:80', '127.0.0.1:8080:81'])).toThrow('published twice');
    expect(parsePublishList(['8080:80', '8080:8080/udp', '127.0.0.1:8081:80', '[::1]:8081:80'])).toHaveLength(4);
  });
});

describe('parseNet', () => {
  it('defaults to host, and to private when a port is published', () => {
    expect(parseNet(undefined, []).mode).toBe('host');
    expect(parseNet(undefined, ['8080:80']).mode).toBe('private');
  });
  it('takes sandbox:ID with the reference', () =>
    expect(parseNet('sandbox:web', [])).toEqual({ mode: 'sandbox', ref: 'web', publish: [] }));
  it.each(['bridge', 'sandbox:', 'container:web', ''])('refuses --net %j', (net) =>
    expect(() => parseNet(net, [])).toThrow(`--net: expected "host", "none", "private" or "sandbox:ID", got "${net}"`),
  );
  it.each(['host', 'none', 'sandbox:web'])('refuses -p with --net %s', (net) =>
    expect(() => parseNet(net, ['8080:80'])).toThrow(
      `--publish: "8080:80" needs a network of its own: --net private (implied by -p), not --net ${net}`,
    ),
  );
});

describe('pasta command line', () => {
  it('forwards exactly the published ports, nothing automatic, no host loopback', () => {
    const args = pastaArgs(
      '/run/sandbox/x/pasta.pid',
      parsePublishList(['127.0.0.1:8080:80', '[::1]:8443:443', '53:53/udp']),
    );
    expect(args).toEqual(
      expect.arrayContaining(['--netns', '/proc/self/fd/0', '-P', '/run/sandbox/x/pasta.pid', '--no-map-gw']),
    );
    expect(args.join(' ')).toContain('-T none -U none');
    expect(pastaPortArgs(parsePublishList(['127.0.0.1:8080:80', '[::1]:8443:443', '53:53/udp']))).toEqual([
      '-t',
      '127.0.0.1/8080:80',
      '-t',
      '::1/8443:443',
      '-u',
      '53:53',
    ]);
    expect(pastaPortArgs([])).toEqual(['-t', 'none', '-u', 'none']);
  });
});

describe('stage argv for a joined network', () => {
  it('passes --net none and --net-join PID', () => {
    const args = stageArgs({
      supervisorPid: 1,
      procsFiles: [],
      v1Hierarchies: null,
      hostname: 'h',
      net: 'none',
      netJoinPid: 4242,
      views: [],
      writableDirs: [],
      workdir: '/',
      command: ['true'],
      env: {},
    });
    expect(args.join(' ')).toContain('--net none --net-join 4242');
  });
});
