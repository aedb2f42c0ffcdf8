// `bench sysinfo`: the latency of one sysinfo(2) call inside a sandbox, where PID 1 answers it from
// the views (native/stage/sysinfo.c, a seccomp user notification), against the host's own call.
// Python's ctypes makes the calls in both places (its ~1 µs of overhead is in both); host and
// sandbox rounds alternate, and each round's samples are pooled per side.
import { execFileSync } from 'node:child_process';
import { CLI } from './sandbox-proc.js';
import { quantile } from './stats.js';
import { fmt, progress, type Section } from './table.js';

/** Calls per round after 50 warm-up calls; prints every latency in ns, space-separated. */
const LOOP = (n: number): string => `
import ctypes, time
libc = ctypes.CDLL(None); buf = ctypes.create_string_buffer(256); call = libc.sysinfo; clock = time.perf_counter_ns
for _ in range(50): call(buf)
out = []
for _ in range(${n}):
    t = clock(); call(buf); out.append(clock() - t)
print(' '.join(map(str, out)))
`;

/** Samples in µs from one run of the loop (on the host, or inside a sandbox). */
function round(inside: boolean, n: number): number[] {
  const argv = inside
    ? [process.execPath, CLI, 'run', '--mem', '256M', '--', 'python3', '-c', LOOP(n)]
    : ['python3', '-c', LOOP(n)];
  const out = execFileSync(argv[0]!, argv.slice(1), { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  return out
    .trim()
    .split(' ')
    .map((ns) => Number(ns) / 1000);
}

/** The scenario: medians and p99s of both sides, and their ratio. */
export async function sysinfoBench(quick: boolean): Promise<Section> {
  const rounds = quick ? 1 : 5;
  const n = quick ? 200 : 2000;
  const host: number[] = [];
  const ours: number[] = [];
  for (let i = 0; i < rounds; i++) {
    progress(`sysinfo: round ${i + 1}/${rounds}`);
    host.push(...round(false, n));
    ours.push(...round(true, n));
  }
  const row = (metric: string, q: number) => {
    const [o, h] = [quantile(ours, q), quantile(host, q)];
    return {
      metric,
      ours: fmt(o, 1, 'µs'),
      peer: fmt(h, 1, 'µs'),
      ratio: fmt(o / h, 0),
      spread: `${ours.length} calls each`,
      target: '',
    };
  };
  return {
    title: 'sysinfo(2) inside (answered by PID 1 from the views)',
    peerName: 'host',
    rows: [row('sysinfo(2) median', 0.5), row('sysinfo(2) p99', 0.99)],
    notes: [
      `${rounds} alternating rounds of ${n} calls per side through Python ctypes; inside: \`sandbox run --mem 256M\`. Each call inside reads the meminfo, uptime and loadavg views once.`,
    ],
    raw: { host, ours },
  };
}
