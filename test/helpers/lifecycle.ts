// Helpers for the lifecycle tests: start detached sandboxes through the CLI, wait for their
// teardown, and make sure none outlives its test (each is killed through `sandbox kill`).
import { existsSync, lstatSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, expect } from 'vitest';
import { cli, leftovers, removeLeftoverCgroups } from './sandbox.js';
import { EVENT_DEADLINE_MS, waitFor } from './wait.js';

/** Ids started by the current test file that may still run. */
const started = new Set<string>();

/** `sandbox run -d ARGS…`: expects exit 0 and one id on stdout; returns the id. */
export async function detached(args: string[], opts: { cwd?: string } = {}): Promise<string> {
  const r = await cli(['run', '-d', ...args], opts);
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  expect(r.stdout).toMatch(/^[0-9a-f]{12}\n$/);
  const id = r.stdout.trim();
  started.add(id);
  return id;
}

/** True while a sandbox's state dir exists. */
export function present(id: string): boolean {
  // removeState renames the dir to .old-<id> before removing it (supervisor/state.ts): both count.
  return existsSync(`/run/sandbox/${id}`) || existsSync(`/run/sandbox/.old-${id}`);
}

/** Wait until a sandbox's supervisor removed its state dir (its teardown is complete); false after the deadline. */
export async function gone(id: string, timeoutMs = EVENT_DEADLINE_MS): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (present(id)) {
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 20));
  }
  started.delete(id);
  return true;
}

/** Kill and wait for every sandbox a test left running (call in afterEach before leftovers()). */
async function killStarted(): Promise<void> {
  for (const id of [...started]) {
    if (present(id)) await cli(['kill', id]);
    await gone(id);
  }
}

/** The state.json of a running sandbox. */
export function stateOf(id: string): {
  name: string | null;
  cgroupDirs: string[];
  supervisorPid: number;
  detached: boolean;
  workdir: string;
} {
  return JSON.parse(readFileSync(`/run/sandbox/${id}/state.json`, 'utf8'));
}

/** A sandbox's cgroup directory in the hierarchy carrying `controller` (e.g. "memory", "cpu,cpuacct"). */
export function cgroupDir(id: string, controller: string): string {
  const dir = stateOf(id).cgroupDirs.find((d) => d.split('/')[4]?.split(',').includes(controller));
  if (!dir) throw new Error(`sandbox ${id} has no ${controller} cgroup`);
  return dir;
}

/**
 * A running sandbox's limit as the kernel holds it, in v1 units: memory bytes (v1
 * memory.limit_in_bytes, v2 memory.max), CPU quota µs per period (v1 cpu.cfs_quota_us, v2 the
 * first field of cpu.max), pids (pids.max on both). "max" (v2) reads as null, like v1's -1.
 */
export function limitOf(id: string, what: 'memory' | 'cpuQuotaUs' | 'pids'): number | null {
  const dirs = stateOf(id).cgroupDirs;
  const v2 = dirs.length === 1;
  const file = v2
    ? `${dirs[0]}/${{ memory: 'memory.max', cpuQuotaUs: 'cpu.max', pids: 'pids.max' }[what]}`
    : `${cgroupDir(id, { memory: 'memory', cpuQuotaUs: 'cpu', pids: 'pids' }[what])}/${{ memory: 'memory.limit_in_bytes', cpuQuotaUs: 'cpu.cfs_quota_us', pids: 'pids.max' }[what]}`;
  const word = readFileSync(file, 'utf8').trim().split(' ')[0]!;
  return word === 'max' || word === '-1' ? null : Number(word);
}

/** Host pids of a running sandbox's processes (cgroup.procs: v1 of its memory cgroup, v2 of its one cgroup). */
export function sandboxProcs(id: string): number[] {
  const dirs = stateOf(id).cgroupDirs;
  const dir = dirs.length === 1 ? dirs[0]! : cgroupDir(id, 'memory');
  return readFileSync(`${dir}/cgroup.procs`, 'utf8').split('\n').filter(Boolean).map(Number);
}

/** One counter of a running sandbox's cgroup, read from the host: v1 `file` in `controller`'s hierarchy, v2 `v2file`. */
function counter(id: string, controller: string, file: string, v2file: string, key?: string): number {
  const dirs = stateOf(id).cgroupDirs;
  const text = readFileSync(
    dirs.length === 1 ? `${dirs[0]}/${v2file}` : `${cgroupDir(id, controller)}/${file}`,
    'utf8',
  );
  const value = key === undefined ? text.trim() : new RegExp(`^${key} (\\d+)$`, 'm').exec(text)?.[1];
  if (value === undefined || !/^\d+$/.test(value))
    throw new Error(`sandbox ${id}: no ${key ?? 'number'} in ${file}/${v2file}`);
  return Number(value);
}

/** A running sandbox's CPU time so far in ns (v1 cpuacct.usage, v2 cpu.stat usage_usec). */
export function cpuUsageNs(id: string): number {
  const dirs = stateOf(id).cgroupDirs;
  return dirs.length === 1
    ? counter(id, 'cpu', '', 'cpu.stat', 'usage_usec') * 1000
    : counter(id, 'cpuacct', 'cpuacct.usage', '');
}

/** Periods in which a running sandbox's quota ran out (cpu.stat nr_throttled, v1 and v2). */
export function throttledPeriods(id: string): number {
  return counter(id, 'cpu', 'cpu.stat', 'cpu.stat', 'nr_throttled');
}

/** Tasks in a running sandbox (pids.current, v1 and v2). */
export function pidsCurrent(id: string): number {
  return counter(id, 'pids', 'pids.current', 'pids.current');
}

/** The file with a sandbox's "oom_kill N" line: v1 memory.oom_control, v2 memory.events. */
export function oomEventsFile(id: string): string {
  const dirs = stateOf(id).cgroupDirs;
  return dirs.length === 1 ? `${dirs[0]}/memory.events` : `${cgroupDir(id, 'memory')}/memory.oom_control`;
}

/** In a suite: after each test, kill the sandboxes it started and fail on anything left behind. */
export function cleanUpAfterEach(): void {
  afterEach(async () => {
    await killStarted();
    const left = leftovers();
    removeLeftoverCgroups();
    expect(left).toEqual([]);
  });
}

/** In a suite: a scratch directory under `parent`, made before its tests and removed after; call the result for its path. */
export function scratchDir(parent: string, prefix: string): () => string {
  let dir = '';
  beforeAll(() => {
    dir = mkdtempSync(join(parent, prefix));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  return () => dir;
}

/** Host pid of a sandbox's PID 1 (NSpid ends in 1), from its cgroup (v1's memory hierarchy or v2's one). */
export function initPid(id: string): number {
  for (const pid of sandboxProcs(id)) {
    const nspid = /^NSpid:\s*(.*)$/m
      .exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]
      ?.trim()
      .split(/\s+/);
    if (nspid && nspid.length > 1 && nspid.at(-1) === '1') return pid;
  }
  throw new Error(`no PID 1 in sandbox ${id}`);
}

/** Wait until a path exists inside a running sandbox (looked up through its PID 1's root from the host). */
export async function waitInside(id: string, path: string): Promise<void> {
  await waitFor(() => {
    try {
      lstatSync(`/proc/${initPid(id)}/root${path}`);
      return true;
    } catch {
      return false;
    }
  }, `${path} to appear in sandbox ${id}`);
}
