#!/usr/bin/env python3
"""Compare the two user-mode network helpers for `--net private -p` (pasta vs slirp4netns), as root.

For each helper, rounds interleaved: a fresh network namespace (`unshare -n sleep`), the helper
attached to it with one TCP port published on 127.0.0.1, a server inside (this file, --serve),
and a client on the host that (1) sends BYTES through the published port and waits for the
server's count (throughput), (2) does ROUNDS 64-byte request/response round trips on one
connection (latency). "direct" is the same client and server on the host's loopback, no helper.
Usage: python3 bench/net-helpers.py [--mb 100] [--rounds 1000] [--repeat 3] [--sandbox]
"""
import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import time

MSG = 64


def serve(port: int) -> None:
    """Inside: 'S' + data -> reply with the byte count at EOF; 'E' -> echo MSG-byte messages."""
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(('0.0.0.0', port))
    srv.listen(8)
    print('ready', flush=True)
    while True:
        conn, _ = srv.accept()
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        mode = conn.recv(1)
        if mode == b'S':
            n = 0
            while True:
                b = conn.recv(1 << 20)
                if not b:
                    break
                n += len(b)
            conn.sendall(str(n).encode())
        elif mode == b'E':
            buf = b''
            while True:
                b = conn.recv(MSG - len(buf))
                if not b:
                    break
                buf += b
                if len(buf) == MSG:
                    conn.sendall(buf)
                    buf = b''
        conn.close()


def throughput(port: int, total: int) -> float:
    """MB/s of sending `total` bytes and getting the count back."""
    chunk = b'x' * (1 << 20)
    s = socket.create_connection(('127.0.0.1', port))
    t0 = time.perf_counter()
    s.sendall(b'S')
    sent = 0
    while sent < total:
        s.sendall(chunk)
        sent += len(chunk)
    s.shutdown(socket.SHUT_WR)
    got = int(s.recv(64))
    dt = time.perf_counter() - t0
    s.close()
    assert got == total, (got, total)
    return total / dt / 1e6


def round_trips(port: int, rounds: int) -> list[float]:
    """Per-round-trip microseconds of `rounds` MSG-byte echoes on one connection."""
    s = socket.create_connection(('127.0.0.1', port))
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    s.sendall(b'E')
    msg = b'y' * MSG
    out = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        s.sendall(msg)
        got = b''
        while len(got) < MSG:
            got += s.recv(MSG - len(got))
        out.append((time.perf_counter() - t0) * 1e6)
    s.close()
    return out


def free_port() -> int:
    s = socket.socket()
    s.bind(('127.0.0.1', 0))
    p = s.getsockname()[1]
    s.close()
    return p


def start_helper(kind: str, target: int, host_port: int, inner: int, tmp: str):
    """Start a helper on target's netns; return (cleanup, description)."""
    nsfd = os.open(f'/proc/{target}/ns/net', os.O_RDONLY)
    if kind == 'pasta':
        pidfile = f'{tmp}/pasta.pid'
        subprocess.run(['pasta', '--config-net', '--quiet', '--runas', '0:0', '-t', f'127.0.0.1/{host_port}:{inner}', '-u', 'none',
                        '-T', 'none', '-U', 'none', '--no-map-gw', '--no-netns-quit', '-P', pidfile,
                        '--netns', f'/proc/self/fd/{nsfd}'], check=True, pass_fds=[nsfd], stderr=subprocess.DEVNULL)
        os.close(nsfd)
        pid = int(open(pidfile).read())
        return lambda: os.kill(pid, 9)
    api = f'{tmp}/slirp.sock'
    r, w = os.pipe()
    p = subprocess.Popen(['slirp4netns', '--configure', '--mtu=65520', '--disable-host-loopback', '--enable-sandbox',
                          '--ready-fd', str(w), '--api-socket', api, '--netns-type=path', f'/proc/self/fd/{nsfd}', 'tap0'],
                         pass_fds=[nsfd, w], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    os.close(w)
    os.close(nsfd)
    assert os.read(r, 1) == b'1'
    os.close(r)
    c = socket.socket(socket.AF_UNIX)
    c.connect(api)
    c.sendall(json.dumps({'execute': 'add_hostfwd', 'arguments': {'proto': 'tcp', 'host_addr': '127.0.0.1', 'host_port': host_port, 'guest_port': inner}}).encode())
    reply = c.recv(4096)
    assert b'error' not in reply, reply
    c.close()

    def stop():
        p.kill()
        p.wait()
        os.unlink(api)
    return stop


def with_server(argv: list[str], port: int, mb: int, rounds: int, cleanup) -> tuple[float, list[float]]:
    """Start the server (argv), wait for its "ready", measure through `port`, then end it and clean up."""
    srv = subprocess.Popen(argv, stdout=subprocess.PIPE)
    srv.stdout.readline()
    try:
        return throughput(port, mb << 20), round_trips(port, rounds)
    finally:
        srv.kill()
        srv.wait()
        cleanup()


def one_round(kind: str, mb: int, rounds: int, tmp: str) -> tuple[float, list[float]]:
    me = os.path.abspath(__file__)
    if kind == 'direct':
        port = free_port()
        return with_server([sys.executable, me, '--serve', str(port)], port, mb, rounds, lambda: None)
    if kind == 'sandbox -p':
        # The product itself: `sandbox run -d -p` (pasta, attached by the supervisor), same server.
        cli = os.path.join(os.path.dirname(me), '..', 'dist', 'supervisor', 'main.cjs')
        port = free_port()
        sid = subprocess.run(['node', cli, 'run', '-d', '-p', f'127.0.0.1:{port}:8000', '--', sys.executable, me, '--serve', '8000'],
                             check=True, capture_output=True, text=True).stdout.strip()
        try:
            for _ in range(100):  # until the server inside answers (pasta accepts on the host before it does)
                try:
                    round_trips(port, 1)
                    break
                except OSError:
                    time.sleep(0.05)
            return throughput(port, mb << 20), round_trips(port, rounds)
        finally:
            subprocess.run(['node', cli, 'stop', '--time', '1', sid], check=True, capture_output=True)
    ns = subprocess.Popen(['unshare', '-n', 'sleep', '600'])
    time.sleep(0.05)
    inner, host_port = 8000, free_port()
    stop = start_helper(kind, ns.pid, host_port, inner, tmp)

    def cleanup():
        stop()
        ns.kill()
        ns.wait()
    return with_server(['nsenter', '-t', str(ns.pid), '-n', sys.executable, me, '--serve', str(inner)], host_port, mb, rounds, cleanup)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument('--serve', type=int)
    ap.add_argument('--mb', type=int, default=100)
    ap.add_argument('--rounds', type=int, default=1000)
    ap.add_argument('--repeat', type=int, default=3)
    ap.add_argument('--sandbox', action='store_true', help='also through `sandbox run -d -p` (needs the build; run under the test lock)')
    a = ap.parse_args()
    if a.serve:
        return serve(a.serve)
    tmp = f'/tmp/net-helpers.{os.getpid()}'
    os.makedirs(tmp)
    kinds = ['direct', 'pasta', 'slirp4netns'] + (['sandbox -p'] if a.sandbox else [])
    res = {k: {'mbps': [], 'rtt': []} for k in kinds}
    for i in range(a.repeat):
        for k in kinds[i % len(kinds):] + kinds[:i % len(kinds)]:  # rotating order
            mbps, rtt = one_round(k, a.mb, a.rounds, tmp)
            res[k]['mbps'].append(mbps)
            res[k]['rtt'] += rtt
    shutil.rmtree(tmp)
    print(f'{a.mb} MB through a published port, {a.rounds} x {MSG}-byte round trips, {a.repeat} rounds interleaved; load {os.getloadavg()[0]:.1f}')
    print('| path | throughput MB/s (median, min-max) | round trip µs median | p90 | p99 |')
    print('|---|---|---|---|---|')
    for k in kinds:
        m, r = res[k]['mbps'], sorted(res[k]['rtt'])
        q = lambda p: r[min(len(r) - 1, int(p * len(r)))]
        print(f'| {k} | {statistics.median(m):.0f} ({min(m):.0f}-{max(m):.0f}) | {statistics.median(r):.0f} | {q(0.9):.0f} | {q(0.99):.0f} |')


if __name__ == '__main__':
    main()
