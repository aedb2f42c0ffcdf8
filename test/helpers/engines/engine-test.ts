// What the engine test files share: the cost of each step (printed for docs/testing.md, never
// asserted) and the end of their clean-up, after each has removed its own containers.
import { existsSync, rmSync } from 'node:fs';
import { leftovers } from '../sandbox.js';
import type { CgroupBox } from './cgroup-box.js';
import { mountsUnder } from './dockerd.js';
import { newEnginePaths } from './host-untouched.js';
import type { ViewsSource } from './views-source.js';

/** A record of what each step took (ms), and the wrapper that times one. */
export function stepCosts(): {
  costs: Record<string, number>;
  timed: <T>(step: string, f: () => Promise<T>) => Promise<T>;
} {
  const costs: Record<string, number> = {};
  const timed = async <T>(step: string, f: () => Promise<T>): Promise<T> => {
    const t = Date.now();
    try {
      return await f();
    } finally {
      costs[step] = Date.now() - t;
    }
  };
  return { costs, timed };
}

/**
 * End an engine test: anything still in the engine's cgroups (`leftBy` names who put it there) is a
 * leftover and is killed, the views servers stop, the test's directory goes; returns everything
 * left: processes, mounts, the directory, a views server still running, host paths an engine
 * writes by default, sandboxes and cgroups.
 */
export async function endEngineTest(
  box: CgroupBox | null,
  sources: Map<string, ViewsSource>,
  dir: string,
  hostBefore: string[],
  leftBy: string,
): Promise<string[]> {
  const left: string[] = [];
  const serverPids = [...sources.values()].map((v) => v.pid);
  if (box) {
    left.push(...box.pids().map((p) => `process ${p} (left by ${leftBy})`));
    await box.remove();
  }
  for (const source of sources.values()) await source.stop();
  left.push(...mountsUnder(dir).map((m) => `mount ${m}`));
  rmSync(dir, { recursive: true, force: true });
  if (existsSync(dir)) left.push(`directory ${dir}`);
  left.push(...serverPids.filter((pid) => existsSync(`/proc/${pid}`)).map((pid) => `process ${pid} (a views server)`));
  left.push(...newEnginePaths(hostBefore), ...leftovers());
  return left;
}
