// /proc/stat of a sandbox. Layout of fs/proc/stat.c show_stat(): "cpu  " (two spaces) and "cpuN "
// lines of ten USER_HZ counters separated by single spaces, then intr, ctxt, btime, processes,
// procs_running, procs_blocked and softirq. The cpu lines come from the cgroup (cpu-account.ts);
// btime is the sandbox's start, so `ps` start times (btime + starttime in the time namespace) agree;
// procs_running/procs_blocked are the sandbox's; intr, ctxt, processes and softirq are the host's.
import type { CpuStats } from '../../supervisor/cgroup/index.js';
import { CPU_FIELDS, type CpuTimes } from '../parse/index.js';
import type { TaskSample } from '../tasks.js';
import { advanceCpuAccount, totalOf, type CpuAccount } from './cpu-account.js';
import { elapsedMs, type ViewMemory } from './state.js';

/** USER_HZ: /proc/stat counts clock ticks of 1/100 s (nsec_to_clock_t()). */
export const USER_HZ = 100;
const US_PER_TICK = 1_000_000 / USER_HZ;

function ticks(us: number): number {
  return Math.floor(us / US_PER_TICK);
}

/** The counters of one line in ticks: user, system and idle from the account, the rest 0. */
function times(userUs: number, systemUs: number, idleUs: number): CpuTimes {
  const t = Object.fromEntries(CPU_FIELDS.map((f) => [f, 0])) as CpuTimes;
  t.user = ticks(userUs);
  t.system = ticks(systemUs);
  t.idle = ticks(idleUs);
  return t;
}

/** One cpu line as seq_put_decimal_ull() prints it: "cpu  v v …" (summary) or "cpuN v v …". */
function formatCpuLine(label: string, t: CpuTimes): string {
  return label + CPU_FIELDS.map((f) => ` ${t[f]}`).join('');
}

/** The cpu summary line and the n cpuN lines of an account. */
function cpuLines(account: CpuAccount): string[] {
  const lines = [
    formatCpuLine('cpu ', times(totalOf(account, 'userUs'), totalOf(account, 'systemUs'), totalOf(account, 'idleUs'))),
  ];
  for (const [i, c] of account.cpus.entries())
    lines.push(formatCpuLine(`cpu${i}`, times(c.userUs, c.systemUs, c.idleUs)));
  return lines;
}

/** Render /proc/stat; advances memory.cpu (the served counters). */
export function renderStat(
  hostText: string,
  cpu: CpuStats,
  tasks: TaskSample,
  memory: ViewMemory,
  nowMs: number,
): string {
  const account = advanceCpuAccount(memory.cpu, cpu, elapsedMs(memory, nowMs) * 1000);
  memory.cpu = account;
  // The reader of this file is itself running in the sandbox, so the kernel's nr_running() would count at least 1.
  const running = Math.max(1, tasks.running);
  const out: string[] = [];
  let cpuDone = false;
  // Only each line's first word matters here: the host's intr line holds hundreds of numbers that
  // are copied, not parsed (parse/stat.ts parses everything, for tests and tools).
  const body = hostText.endsWith('\n') ? hostText.slice(0, -1) : hostText;
  for (const raw of body === '' ? [] : body.split('\n')) {
    const space = raw.indexOf(' ');
    const key = space < 0 ? raw : raw.slice(0, space);
    if (/^cpu\d*$/.test(key)) {
      if (!cpuDone) out.push(...cpuLines(account));
      cpuDone = true;
    } else if (key === 'btime') out.push(`btime ${Math.floor(memory.startedAtMs / 1000)}`);
    else if (key === 'procs_running') out.push(`procs_running ${running}`);
    else if (key === 'procs_blocked') out.push(`procs_blocked ${tasks.blocked}`);
    else out.push(raw);
  }
  if (!cpuDone) out.unshift(...cpuLines(account));
  return out.join('\n') + '\n';
}
