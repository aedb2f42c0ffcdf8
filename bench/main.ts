// `npm run bench`: launch overhead of `sandbox run -- true` against `node -e 0` (the floor of any
// Node CLI) and `true`, interleaved in a rotating order every round (../shared/BENCH.md), plus the
// latency of one view read (open + read to EOF + close) against the host file, from inside a sandbox.
// The full suite (quota enforcement, peers, plots) is a later issue.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { summary } from './stats.js';

const CLI = fileURLToPath(new URL('../supervisor/main.js', import.meta.url));
const quick = process.argv.includes('--quick');
const ROUNDS = quick ? 3 : 5;
const PER_ROUND = quick ? 5 : 10;

/** Wall time of one command in ms (it must exit 0). */
function time(cmd: string, args: string[]): Promise<number> {
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: 'ignore' });
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve(performance.now() - t0) : reject(new Error(`${cmd} ${args.join(' ')} exited ${code}`))));
  });
}

const variants: Record<string, [string, string[]]> = {
  'sandbox run --cpu 20% --mem 256M -- true': [process.execPath, [CLI, 'run', '--cpu', '20%', '--mem', '256M', '--', 'true']],
  'node -e 0': [process.execPath, ['-e', '0']],
  true: ['true', []],
};

async function launch(): Promise<Record<string, number[]>> {
  const samples: Record<string, number[]> = Object.fromEntries(Object.keys(variants).map((k) => [k, []]));
  const names = Object.keys(variants);
  for (const name of names) await time(...(variants[name] as [string, string[]])); // warm-up, discarded
  for (let round = 0; round < ROUNDS; round++) {
    for (let i = 0; i < PER_ROUND; i++) {
      for (let k = 0; k < names.length; k++) {
        const name = names[(i + k + round) % names.length] as string;
        samples[name]!.push(await time(...(variants[name] as [string, string[]])));
      }
    }
    process.stderr.write(`launch round ${round + 1}/${ROUNDS}\n`);
  }
  return samples;
}

/** Latency of open+read+close of each view inside one sandbox, interleaved with the host's file. */
async function views(): Promise<string> {
  // The reader runs inside the sandbox; /proc/self/... is the host file it would read without us.
  const script = `
    const fs = require('fs'); const n = ${quick ? 200 : 1000}; const out = {};
    const files = ['/proc/meminfo', '/proc/stat', '/proc/cpuinfo', '/proc/uptime', '/proc/loadavg'];
    for (const f of files) { fs.readFileSync(f); }
    for (const f of files) {
      const t = [];
      for (let i = 0; i < n; i++) { const t0 = process.hrtime.bigint(); fs.readFileSync(f); t.push(Number(process.hrtime.bigint() - t0) / 1000); }
      t.sort((a, b) => a - b); out[f] = [t[n >> 1], t[Math.floor(n * 0.9)], t[Math.floor(n * 0.99)]];
    }
    const t = []; for (let i = 0; i < n; i++) { const t0 = process.hrtime.bigint(); fs.readFileSync('/proc/self/status'); t.push(Number(process.hrtime.bigint() - t0) / 1000); }
    t.sort((a, b) => a - b); out['host /proc/self/status (unvirtualized)'] = [t[n >> 1], t[Math.floor(n * 0.9)], t[Math.floor(n * 0.99)]];
    console.log(JSON.stringify(out));`;
  return new Promise((resolve, reject) => {
    let stdout = '';
    const child = spawn(process.execPath, [CLI, 'run', '--cpu', '100%', '--mem', '512M', '--', process.execPath, '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.on('exit', (code) => (code === 0 ? resolve(stdout) : reject(new Error(`view bench exited ${code}`))));
  });
}

const loadavg = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
console.log(`# sandbox bench (${quick ? 'quick' : 'full'}): ${new Date().toISOString()}, kernel ${readFileSync('/proc/sys/kernel/osrelease', 'utf8').trim()}, load ${loadavg}`);
if (Number(loadavg.split(' ')[0]) > 0.3) console.log('warning: load average above 0.3; figures are noisy');
const launchSamples = await launch();
const floor = summary(launchSamples['node -e 0']!).median;
console.log('\n## Launch (ms, wall)\n\n| variant | median | p90 | p99 | n | median / node -e 0 |\n|---|---|---|---|---|---|');
for (const [name, s] of Object.entries(launchSamples)) {
  const m = summary(s);
  console.log(`| ${name} | ${m.median.toFixed(1)} | ${m.p90.toFixed(1)} | ${m.p99.toFixed(1)} | ${m.n} | ${(m.median / floor).toFixed(2)} |`);
}
const viewLatency = JSON.parse(await views()) as Record<string, [number, number, number]>;
console.log('\n## View reads from inside a 100% / 512M sandbox (µs per open+read+close)\n\n| file | median | p90 | p99 |\n|---|---|---|---|');
for (const [file, [m, p90, p99]] of Object.entries(viewLatency)) console.log(`| ${file} | ${m.toFixed(0)} | ${p90.toFixed(0)} | ${p99.toFixed(0)} |`);
process.exit(0);
