// -p/--publish [HOST_IP:]HOST_PORT:CONTAINER_PORT[/tcp|udp]: parsed strictly (docker's syntax, one
// port per spec; an IPv6 host address in brackets, "[::1]:8080:80"), and each host port probed with
// a real bind before anything is created, so "already in use" and "privileged port without the
// right" are one line and exit 125 instead of a half-made sandbox.
import { createSocket } from 'node:dgram';
import { isIP, createServer } from 'node:net';
import { UsageError, describeSystemError } from '../errors.js';

/** One published port. */
export interface PortSpec {
  /** The spec as given, for messages. */
  text: string;
  /** Host address to bind, or null for all of the host's addresses (docker's default). */
  hostIp: string | null;
  hostPort: number;
  containerPort: number;
  proto: 'tcp' | 'udp';
}

/** A decimal port 1-65535 (no sign, no spaces, no other digits than ASCII). */
function port(text: string, what: string, spec: string): number {
  const n = /^[0-9]{1,5}$/.test(text) ? Number(text) : NaN;
  if (!(n >= 1 && n <= 65535))
    throw new UsageError('--publish', `${what} must be a port 1-65535, got "${text}" in "${spec}"`);
  return n;
}

/** Parse one -p value; UsageError naming the flag and the value otherwise. */
export function parsePublish(spec: string): PortSpec {
  const bad = (why: string) =>
    new UsageError('--publish', `expected [HOST_IP:]HOST_PORT:CONTAINER_PORT[/tcp|udp], got "${spec}" (${why})`);
  let rest = spec;
  let proto: 'tcp' | 'udp' = 'tcp';
  const slash = rest.lastIndexOf('/');
  if (slash >= 0) {
    const p = rest.slice(slash + 1);
    if (p !== 'tcp' && p !== 'udp') throw bad(`protocol "${p}" is not tcp or udp`);
    proto = p;
    rest = rest.slice(0, slash);
  }
  let hostIp: string | null = null;
  if (rest.startsWith('[')) {
    const end = rest.indexOf(']:');
    if (end < 0) throw bad('an IPv6 address goes in brackets, followed by ":HOST_PORT"');
    hostIp = rest.slice(1, end);
    if (isIP(hostIp) !== 6) throw bad(`"${hostIp}" is not an IPv6 address`);
    rest = rest.slice(end + 2);
  }
  const parts = rest.split(':');
  if (hostIp === null && parts.length === 3) {
    hostIp = parts.shift()!;
    if (isIP(hostIp) !== 4) throw bad(`"${hostIp}" is not an IPv4 address (IPv6 goes in brackets)`);
  }
  if (parts.length !== 2) throw bad(parts.length < 2 ? 'missing a port' : 'too many parts');
  const parsed: PortSpec = {
    text: spec,
    hostIp,
    hostPort: port(parts[0]!, 'HOST_PORT', spec),
    containerPort: port(parts[1]!, 'CONTAINER_PORT', spec),
    proto,
  };
  // Measured with Debian bookworm's pasta (passt 0.0~git20230309): a UDP datagram sent to host port
  // A reaches port B inside, but the reply to it never comes back unless A = B (TCP is not affected).
  if (proto === 'udp' && parsed.hostPort !== parsed.containerPort) {
    throw new UsageError(
      '--publish',
      `"${spec}": a UDP port can't be renumbered (this pasta drops the replies): publish it as ${hostIp === null ? '' : spec.startsWith('[') ? `[${hostIp}]:` : `${hostIp}:`}${parsed.containerPort}:${parsed.containerPort}/udp`,
    );
  }
  return parsed;
}

/** Parse every -p value and refuse a host port published twice (same protocol, overlapping addresses). */
export function parsePublishList(specs: readonly string[]): PortSpec[] {
  const parsed = specs.map(parsePublish);
  parsed.forEach((p, i) => {
    const other = parsed
      .slice(0, i)
      .find(
        (q) =>
          q.proto === p.proto &&
          q.hostPort === p.hostPort &&
          (q.hostIp === null || p.hostIp === null || q.hostIp === p.hostIp),
      );
    if (other)
      throw new UsageError(
        '--publish',
        `host port ${p.hostPort}/${p.proto} is published twice ("${other.text}" and "${p.text}")`,
      );
  });
  return parsed;
}

/** Bind the host side of a spec and release it at once: the error of a bind that would fail, or null. */
async function probe(p: PortSpec): Promise<NodeJS.ErrnoException | null> {
  // Without HOST_IP the helper binds every address, IPv4 and IPv6: "::" (dual-stack) covers both.
  const host = p.hostIp ?? '::';
  if (p.proto === 'tcp') {
    const server = createServer();
    return new Promise((resolve) => {
      server.once('error', (err: NodeJS.ErrnoException) => resolve(err));
      server.listen({ host, port: p.hostPort, exclusive: true }, () => server.close(() => resolve(null)));
    });
  }
  const sock = createSocket({ type: isIP(host) === 6 ? 'udp6' : 'udp4' });
  return new Promise((resolve) => {
    sock.once('error', (err: NodeJS.ErrnoException) => resolve(err));
    sock.bind({ address: host, port: p.hostPort, exclusive: true }, () => sock.close(() => resolve(null)));
  });
}

/**
 * Refuse host ports that can't be bound now: in use (EADDRINUSE), below
 * net.ipv4.ip_unprivileged_port_start without CAP_NET_BIND_SERVICE (EACCES, ip(7)), or an address
 * that is not the host's (EADDRNOTAVAIL). The helper binds them again moments later; one taken in
 * between makes it fail, which is reported the same way (net/pasta.ts).
 */
export async function checkHostPorts(specs: readonly PortSpec[]): Promise<void> {
  for (const p of specs) {
    const err = await probe(p);
    if (err === null) continue;
    const where = `${p.hostIp === null ? '' : p.hostIp.includes(':') ? `[${p.hostIp}]:` : `${p.hostIp}:`}${p.hostPort}/${p.proto}`;
    const why =
      err.code === 'EADDRINUSE'
        ? `host port ${where} is already in use`
        : err.code === 'EACCES'
          ? `host port ${where} is privileged (below net.ipv4.ip_unprivileged_port_start) and this process lacks CAP_NET_BIND_SERVICE`
          : err.code === 'EADDRNOTAVAIL'
            ? `${p.hostIp} is not an address of this host`
            : `can't bind host port ${where}: ${describeSystemError(err)}`;
    throw new UsageError('--publish', `"${p.text}": ${why}`);
  }
}
