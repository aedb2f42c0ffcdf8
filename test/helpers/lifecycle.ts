// Helpers for the lifecycle tests: start detached sandboxes through the CLI, wait for their
// teardown, and make sure none outlives its test (each is killed through `sandbox kill`).
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, expect } from 'vitest';
import { cli, leftovers, removeLeftoverCgroups } from './sandbox.js';

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

/** Wait until a sandbox's supervisor removed its state dir (its teardown is complete); false on timeout. */
export async function gone(id: string, timeoutMs = 5000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (present(id)) {
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 20));
  }
  started.delete(id);
  return true;
}

/** Kill and wait for every sandbox a test left running (call in afterEach before leftovers()). */
export async function killStarted(): Promise<void> {
  for (const id of [...started]) {
    if (present(id)) await cli(['kill', id]);
    await gone(id);
  }
}

/** The state.json of a running sandbox. */
export function stateOf(id: string): { name: string | null; cgroupDirs: string[]; supervisorPid: number; detached: boolean; workdir: string } {
  return JSON.parse(readFileSync(`/run/sandbox/${id}/state.json`, 'utf8'));
}

/** A sandbox's cgroup directory in the hierarchy carrying `controller` (e.g. "memory", "cpu,cpuacct"). */
export function cgroupDir(id: string, controller: string): string {
  const dir = stateOf(id).cgroupDirs.find((d) => d.split('/')[4]?.split(',').includes(controller));
  if (!dir) throw new Error(`sandbox ${id} has no ${controller} cgroup`);
  return dir;
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
