// `sandbox ps [--json]`: the running sandboxes with their cgroup figures. CPU percentages cover the
// sandbox's whole life (CPU time / elapsed time, as ps(1) computes %CPU); `sandbox stats` shows
// the current rate instead.
import type { Command } from 'commander';
import {
  readFigures,
  formatCommand,
  formatMemory,
  formatPercent,
  formatTable,
  formatUptime,
  type SandboxFigures,
} from './figures.js';
import { cgroupOf, liveSandboxes } from '../lookup.js';
import { requireRoot } from './root.js';

const EXAMPLES = `
Examples:
  sandbox ps
  sandbox ps --json | jq '.[] | select(.oomKills > 0) | .id'

Columns: CPU% is of one CPU, QUOTA% of the --cpu quota, both averaged since the sandbox started;
THROTTLED counts CFS periods in which the quota ran out; OOM counts OOM kills.`;

/** Figures of every running sandbox (a sandbox that ends while being read is left out). */
async function allFigures(): Promise<SandboxFigures[]> {
  const out: SandboxFigures[] = [];
  for (const state of await liveSandboxes()) {
    try {
      out.push((await readFigures(state, await cgroupOf(state))).figures);
    } catch {
      // its teardown removed the cgroup between the listing and the read
    }
  }
  return out;
}

/** The ps table. */
function psTable(list: readonly SandboxFigures[]): string {
  return formatTable(
    ['ID', 'NAME', 'COMMAND', 'UPTIME', 'CPU%', 'QUOTA%', 'MEM / LIMIT', 'PIDS', 'THROTTLED', 'OOM'],
    list.map((f) => [
      f.id,
      f.name ?? '-',
      formatCommand(f.command),
      formatUptime(f.uptimeSeconds),
      formatPercent(f.cpuPercentOfOneCpu),
      formatPercent(f.cpuPercentOfQuota),
      formatMemory(f),
      `${f.pids}${f.pidsMax === null ? '' : `/${f.pidsMax}`}`,
      String(f.throttledPeriods),
      String(f.oomKills),
    ]),
  );
}

/** Register `sandbox ps`. */
export function registerPs(program: Command): void {
  program
    .command('ps')
    .description('list running sandboxes: id, name, command, uptime, CPU, memory, pids, throttling, OOM kills')
    .option('--json', 'a JSON array, one object per sandbox (numbers in bytes, µs, seconds, percent)')
    .addHelpText('after', EXAMPLES)
    .action(async (flags: { json?: boolean }) => {
      requireRoot('ps');
      const list = await allFigures();
      process.stdout.write(flags.json ? JSON.stringify(list, null, 2) + '\n' : psTable(list));
    });
}
