// `sandbox stats [ID…] [--no-stream] [--json]`: a live table like `docker stats`. CPU percentages
// are the rate over the last refresh interval, from the cgroup's CPU time counter (nanoseconds on
// v1 cpuacct.usage_percpu_*, microseconds in v2 cpu.stat), so they are stable from one refresh to
// the next; QUOTA% is relative to the --cpu quota (100% = all of it).
import type { Command } from 'commander';
import type { CgroupReader } from '../cgroup/index.js';
import { sleep } from '../sleep.js';
import type { SandboxState } from '../state.js';
import {
  formatMemory,
  formatPercent,
  formatTable,
  readFigures,
  type CpuReading,
  type SandboxFigures,
} from './figures.js';
import { cgroupOf, findSandbox, liveSandboxes } from '../lookup.js';
import { requireRoot } from './root.js';

/**
 * Refresh interval of the live table. A window of W holds W/P CFS periods (P = 100 ms by default)
 * give or take one, since it can't be aligned with the kernel's period timer: a task using its
 * whole quota shows 100% ± P/W of it (± 10% over 1 s).
 */
const INTERVAL_MS = 1000;
/** The window --no-stream measures over: twice as long halves that error (± 5%); docker's --no-stream also takes ~2 s. */
const NO_STREAM_WINDOW_MS = 2000;

interface Tracked {
  state: SandboxState;
  cgroup: CgroupReader;
  last: CpuReading | null;
}

/** The stats table. */
function statsTable(list: readonly SandboxFigures[]): string {
  return formatTable(
    ['ID', 'NAME', 'CPU%', 'QUOTA%', 'MEM / LIMIT', 'MEM%', 'PIDS', 'THROTTLED'],
    list.map((f) => [
      f.id,
      f.name ?? '-',
      formatPercent(f.cpuPercentOfOneCpu),
      formatPercent(f.cpuPercentOfQuota),
      formatMemory(f),
      formatPercent(f.memoryLimitBytes ? Math.round((f.memoryBytes / f.memoryLimitBytes) * 1000) / 10 : null),
      String(f.pids),
      String(f.throttledPeriods),
    ]),
  );
}

/** Take a reading of every tracked sandbox; those that ended are dropped. */
async function sample(tracked: Map<string, Tracked>): Promise<SandboxFigures[]> {
  const out: SandboxFigures[] = [];
  for (const [id, t] of tracked) {
    try {
      const { figures, reading } = await readFigures(t.state, t.cgroup, t.last ?? undefined);
      if (t.last !== null) out.push(figures);
      t.last = reading;
    } catch {
      tracked.delete(id); // torn down
    }
  }
  return out;
}

/** Add running sandboxes not yet tracked (all of them when no ids were given). */
async function track(tracked: Map<string, Tracked>, states: readonly SandboxState[]): Promise<void> {
  for (const state of states) {
    if (tracked.has(state.id)) continue;
    try {
      tracked.set(state.id, { state, cgroup: await cgroupOf(state), last: null });
    } catch {
      // ended meanwhile
    }
  }
}

/** Register `sandbox stats`. */
export function registerStats(program: Command): void {
  program
    .command('stats')
    .description('live CPU, memory and pids figures of running sandboxes, refreshed every second')
    .argument('[sandbox...]', 'ids, unique id prefixes or names (default: all running)')
    .option('--no-stream', 'print one table (measured over 2 s) and exit')
    .option('--json', 'JSON: one array per refresh, one line each')
    .addHelpText('after', '\nExamples:\n  sandbox stats\n  sandbox stats --no-stream --json web')
    .action(async (refs: string[], flags: { stream: boolean; json?: boolean }) => {
      requireRoot('stats');
      const chosen = refs.length > 0 ? await Promise.all(refs.map(findSandbox)) : null;
      const tracked = new Map<string, Tracked>();
      await track(tracked, chosen ?? (await liveSandboxes()));
      await sample(tracked);
      const tty = process.stdout.isTTY === true && !flags.json;
      for (;;) {
        await sleep(flags.stream ? INTERVAL_MS : NO_STREAM_WINDOW_MS);
        if (chosen === null) await track(tracked, await liveSandboxes());
        const list = await sample(tracked);
        const text = flags.json ? JSON.stringify(list) + '\n' : statsTable(list);
        // A terminal gets the table redrawn in place (cursor home, clear screen), a pipe one table per refresh.
        process.stdout.write(tty && flags.stream ? `\x1b[H\x1b[2J${text}` : text);
        if (!flags.stream || (chosen !== null && tracked.size === 0)) return;
      }
    });
}
