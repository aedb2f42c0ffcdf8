// Networking through the CLI, with real servers inside and real clients on the host: --net private
// (pasta), -p for TCP over IPv4 and IPv6 and for UDP, --net sandbox:ID (both sandboxes in one
// network namespace), and a joiner outliving the sandbox it joined. Host-side sockets bind only to
// 127.0.0.1 and ::1. Nothing may be left behind (pasta included: leftovers() looks for it).
import { createSocket } from 'node:dgram';
import { readlinkSync, writeFileSync } from 'node:fs';
import { createConnection, createServer, type AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { cli, sandboxUnavailable } from '../helpers/sandbox.js';
import { requireOrSkip } from '../helpers/skip.js';
import { cleanUpAfterEach, detached, gone, scratchDir } from '../helpers/lifecycle.js';
import { freePort, httpGet, pastaUnavailable } from '../helpers/net.js';
import { EVENT_DEADLINE_MS } from '../helpers/wait.js';

const skip = requireOrSkip(sandboxUnavailable() ?? pastaUnavailable());

/** A python3 one-liner that prints the body of http://HOST:PORT/PATH, retrying while the server starts (up to EVENT_DEADLINE_MS). */
function fetchInside(url: string): string {
  return `import time,urllib.request\nend=time.time()+${EVENT_DEADLINE_MS / 1000}\nwhile True:\n  try:\n    print(urllib.request.urlopen(${JSON.stringify(url)}, timeout=2).read().decode(), end=''); break\n  except OSError:\n    if time.time()>end: raise SystemExit(3)\n    time.sleep(0.1)`;
}

/** True when a TCP connection to host:port is accepted in time. */
function connects(host: string, port: number, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createConnection({ host, port, timeout: timeoutMs });
    s.on('connect', () => (s.destroy(), resolve(true)));
    s.on('error', () => resolve(false));
    s.on('timeout', () => (s.destroy(), resolve(false)));
  });
}

describe.skipIf(skip)('networking', () => {
  cleanUpAfterEach();
  const dir = scratchDir('/tmp', 'sandbox-net-');

  it("--net private: a device with the host's address and a default route; the host's loopback services stay out of reach", async () => {
    // A host service on 127.0.0.1 (the kind --no-map-gw keeps away from the sandbox).
    const hostServer = createServer((s) => s.end('host secret\n'));
    await new Promise<void>((r) => hostServer.listen(0, '127.0.0.1', r));
    const port = (hostServer.address() as AddressInfo).port;
    try {
      const probe = `import socket,subprocess\ngw=[l.split()[2] for l in subprocess.run(['ip','route'],capture_output=True,text=True).stdout.splitlines() if l.startswith('default ')][0]\nfor h in ('127.0.0.1', gw):\n  try:\n    socket.create_connection((h, ${port}), timeout=1).recv(64); print(h, 'reached')\n  except OSError: print(h, 'refused')`;
      const r = await cli([
        'run',
        '--net',
        'private',
        '--',
        'sh',
        '-c',
        `ls /sys/class/net; ip route | grep -c ^default; python3 -c "${probe.replace(/"/g, '\\"')}"`,
      ]);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      const lines = r.stdout.trim().split('\n');
      expect(lines).toContain('lo');
      expect(lines.some((l) => /^[a-z]+[0-9]*$/.test(l) && l !== 'lo')).toBe(true); // pasta's tap device
      expect(lines).toContain('1'); // one default route
      expect(lines.filter((l) => l.endsWith('reached'))).toEqual([]);
      expect(lines.filter((l) => l.endsWith('refused'))).toHaveLength(2);
    } finally {
      hostServer.close();
    }
  });

  it('--net private: outbound connections leave through pasta (when this host itself reaches the internet)', async () => {
    // The only way out that a test may use is a real one: skipped, visibly, on a host without it.
    if (!(await connects('deb.debian.org', 80, 3000)))
      return void console.warn('skipping the outbound check: the host does not reach deb.debian.org:80');
    const r = await cli([
      'run',
      '--net',
      'private',
      '--',
      'python3',
      '-c',
      'import urllib.request as u; print(u.urlopen("http://deb.debian.org/debian/", timeout=10).status)',
    ]);
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('200\n');
  });

  it("--net sandbox:ID of a sandbox on the host's network is the host's network", async () => {
    const a = await detached(['--', 'sleep', '100']);
    const r = await cli(['run', '--net', `sandbox:${a}`, '--', 'readlink', '/proc/self/ns/net']);
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe(`${readlinkSync('/proc/self/ns/net')}\n`);
  });

  it('-p 127.0.0.1:PORT:8000: a web server inside answers curl-like GETs on the host; the port is free again after', async () => {
    writeFileSync(`${dir()}/hello.txt`, 'hello from inside\n');
    const port = await freePort();
    const id = await detached([
      '--userns=host',
      '-p',
      `127.0.0.1:${port}:8000`,
      '--workdir',
      dir(),
      '--',
      'python3',
      '-m',
      'http.server',
      '--bind',
      '0.0.0.0',
      '8000',
    ]);
    expect(await httpGet(`http://127.0.0.1:${port}/hello.txt`)).toBe('hello from inside\n');
    const ps = await cli(['ps', '--json']);
    const me = (JSON.parse(ps.stdout) as { id: string; net: string; ports: string[] }[]).find((s) => s.id === id);
    expect(me).toMatchObject({ net: 'private', ports: [`127.0.0.1:${port}:8000`] });
    expect((await cli(['stop', '--time', '1', id])).code).toBe(0);
    expect(await gone(id)).toBe(true);
    expect(await connects('127.0.0.1', port)).toBe(false); // pasta is gone with its listening socket
    expect(await freePort()).toBeGreaterThan(0);
  });

  it('-p [::1]:PORT:8000 publishes on IPv6 loopback', async () => {
    writeFileSync(`${dir()}/v6.txt`, 'six\n');
    const port = await freePort('::1');
    await detached([
      '--userns=host',
      '-p',
      `[::1]:${port}:8000`,
      '--workdir',
      dir(),
      '--',
      'python3',
      '-m',
      'http.server',
      '--bind',
      '::',
      '8000',
    ]);
    expect(await httpGet(`http://[::1]:${port}/v6.txt`)).toBe('six\n');
  });

  it('-p 127.0.0.1:PORT:PORT/udp: datagrams reach a UDP echo server inside and come back', async () => {
    const port = await freePort();
    const echo = `import socket\ns=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)\ns.bind(("0.0.0.0",${port}))\nwhile True:\n  d,a=s.recvfrom(2048); s.sendto(b"echo:"+d,a)`;
    await detached(['-p', `127.0.0.1:${port}:${port}/udp`, '--', 'python3', '-c', echo]);
    const sock = createSocket('udp4');
    try {
      const reply = await new Promise<string>((resolve, reject) => {
        const timer = setInterval(() => sock.send('ping', port, '127.0.0.1'), 100); // until the server is up
        sock.on('message', (m) => (clearInterval(timer), resolve(m.toString())));
        setTimeout(
          () => (clearInterval(timer), reject(new Error(`no UDP reply in ${EVENT_DEADLINE_MS} ms`))),
          EVENT_DEADLINE_MS,
        );
      });
      expect(reply).toBe('echo:ping');
    } finally {
      sock.close();
    }
  });

  it('--net sandbox:ID: one network namespace; a server in one is reachable from the other on 127.0.0.1', async () => {
    writeFileSync(`${dir()}/shared.txt`, 'same namespace\n');
    const a = await detached([
      '--userns=host',
      '--name',
      'net-a',
      '--net',
      'none',
      '--workdir',
      dir(),
      '--',
      'python3',
      '-m',
      'http.server',
      '--bind',
      '127.0.0.1',
      '8000',
    ]);
    const r = await cli([
      'run',
      '--net',
      'sandbox:net-a',
      '--',
      'sh',
      '-c',
      `readlink /proc/self/ns/net; ls /sys/class/net | tr '\\n' ' '; echo; python3 -c "${fetchInside('http://127.0.0.1:8000/shared.txt').replace(/"/g, '\\"')}"`,
    ]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const [ns, devices, body] = r.stdout.split('\n');
    const theirs = await cli([
      'exec',
      a,
      '--',
      'sh',
      '-c',
      "readlink /proc/self/ns/net; ls /sys/class/net | tr '\\n' ' '",
    ]);
    const [theirNs, theirDevices] = theirs.stdout.split('\n');
    expect(ns).toMatch(/^net:\[\d+\]$/);
    expect(ns).toBe(theirNs);
    expect(devices).toBe(theirDevices);
    expect(body).toBe('same namespace');
  });

  it('a joiner keeps the namespace when the joined sandbox ends first (as docker); exec and ps see it', async () => {
    writeFileSync(`${dir()}/kept.txt`, 'still here\n');
    const a = await detached(['--net', 'none', '--', 'sleep', '100']);
    const b = await detached([
      '--userns=host',
      '--net',
      `sandbox:${a}`,
      '--workdir',
      dir(),
      '--',
      'python3',
      '-m',
      'http.server',
      '--bind',
      '127.0.0.1',
      '8000',
    ]);
    expect((await cli(['stop', '--time', '1', a])).code).toBe(0);
    expect(await gone(a)).toBe(true);
    const r = await cli(['exec', b, '--', 'python3', '-c', fetchInside('http://127.0.0.1:8000/kept.txt')]);
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('still here\n');
    const ps = JSON.parse((await cli(['ps', '--json'])).stdout) as { id: string; net: string }[];
    expect(ps.find((s) => s.id === b)?.net).toBe(`sandbox:${a}`);
  });

  it('joining a --net private sandbox shares its published ports (a server in the joiner answers on the host)', async () => {
    writeFileSync(`${dir()}/pod.txt`, 'served by the joiner\n');
    const port = await freePort();
    const a = await detached(['-p', `127.0.0.1:${port}:8000`, '--', 'sleep', '100']);
    await detached([
      '--userns=host',
      '--net',
      `sandbox:${a}`,
      '--workdir',
      dir(),
      '--',
      'python3',
      '-m',
      'http.server',
      '--bind',
      '0.0.0.0',
      '8000',
    ]);
    expect(await httpGet(`http://127.0.0.1:${port}/pod.txt`)).toBe('served by the joiner\n');
  });

  it('--net sandbox:ID of a sandbox that has ended: exit 125, one line, nothing made', async () => {
    const a = await detached(['--net', 'none', '--', 'sleep', '100']);
    expect((await cli(['stop', '--time', '1', a])).code).toBe(0);
    expect(await gone(a)).toBe(true);
    const r = await cli(['run', '--net', `sandbox:${a}`, '--', 'true']);
    expect(r.code).toBe(125);
    expect(r.stderr).toBe(
      `sandbox: --net: "sandbox:${a}": no such sandbox: "${a}" (sandbox ps lists the running ones)\n`,
    );
  });
});
