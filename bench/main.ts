// `npm run bench [-- SCENARIO…] [--quick] [--json FILE]`. Scenarios: `launch` (the overhead of
// `sandbox run -- true` against `node -e 0`, the floor of any Node CLI, and `true`, interleaved in
// a rotating order every round, ../shared/BENCH.md) and `procfs` (our views against lxcfs's,
// bench/procfs.ts); none named = all. The rest of the suite (quota enforcement, peers, plots) is a
// later issue.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { procfsBench } from './procfs.js';
import { summary } from './stats.js';

const CLI = fileURLToPath(new URL('../supervisor/main.js', import.meta.url));
const quick = process.argv.includes('--quick');
const jsonAt = process.argv.indexOf('--json');
const jsonPath = jsonAt > 0 ? process.argv[jsonAt + 1] : undefined;
const named = process.argv.slice(2).filter((a, i, all) => !a.startsWith('--') && all[i - 1] !== '--json');
const SCENARIOS = ['launch', 'procfs'];
for (const name of named) {
  if (!SCENARIOS.includes(name)) {
    console.error(`bench: unknown scenario "${name}" (known: ${SCENARIOS.join(', ')})`);
    process.exit(125);
  }
}
const wanted = (name: string) => named.length === 0 || named.includes(name);
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

const loadavg = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
console.log(`# sandbox bench (${quick ? 'quick' : 'full'}): ${new Date().toISOString()}, kernel ${readFileSync('/proc/sys/kernel/osrelease', 'utf8').trim()}, load ${loadavg}`);
if (Number(loadavg.split(' ')[0]) > 0.3) console.log('warning: load average above 0.3; figures are noisy');
if (wanted('launch')) {
  const launchSamples = await launch();
  const floor = summary(launchSamples['node -e 0']!).median;
  console.log('\n## Launch (ms, wall)\n\n| variant | median | p90 | p99 | n | median / node -e 0 |\n|---|---|---|---|---|---|');
  for (const [name, s] of Object.entries(launchSamples)) {
    const m = summary(s);
    console.log(`| ${name} | ${m.median.toFixed(1)} | ${m.p90.toFixed(1)} | ${m.p99.toFixed(1)} | ${m.n} | ${(m.median / floor).toFixed(2)} |`);
  }
}
if (wanted('procfs')) await procfsBench(quick, jsonPath);
process.exit(0);
