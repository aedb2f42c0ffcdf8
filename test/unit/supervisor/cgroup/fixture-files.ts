// Test helper: read captured fixture files directly (independently of the code under test), so
// expectations come from the kernel's own text.
import type { CgroupLimits } from '../../../../supervisor/cgroup/types.js';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** test/fixtures dir. */
const FIXTURES = fileURLToPath(new URL('../../../fixtures/', import.meta.url));

/** A v1 scenario's root dir. */
export function v1Scenario(name: string): string {
  return join(FIXTURES, 'cgroup-v1', name);
}

/** Text of a host-absolute path inside a fixture root. */
export function fixtureText(root: string, path: string): string {
  return readFileSync(join(root, path), 'utf8');
}

/** Value of an exact "key value" line. */
export function keyed(text: string, key: string): number {
  const line = text.split('\n').find((l) => l.split(' ')[0] === key);
  if (line === undefined) throw new Error(`no ${key} line`);
  return Number(line.split(' ')[1]);
}

/** The own cgroup path of one v1 controller, from the fixture's captured /proc/self/cgroup ("4:memory:/x"). */
export function ownPath(root: string, controller: string): string {
  for (const line of fixtureText(root, '/proc/self/cgroup').trim().split('\n')) {
    const [, ctrls, path] = line.split(':');
    if (ctrls === controller) return path === '/' ? '' : path!;
  }
  throw new Error(`no ${controller} line`);
}

/** Host-absolute leaf dir "sandbox-fixture" of a v1 controller in a scenario. */
export function v1Leaf(root: string, controller: string): string {
  return `/sys/fs/cgroup/${controller}${ownPath(root, controller)}/sandbox-fixture`;
}

/** The v1 hierarchies captured in the fixtures, as mountpoints. */
export const V1_MOUNTS = ['cpu', 'cpuacct', 'cpuset', 'memory', 'pids', 'freezer', 'blkio'].map(
  (c) => `/sys/fs/cgroup/${c}`,
);

/** A v2 scenario's root dir (captured in a pure-v2 guest; see test/fixtures/cgroup-v2/SOURCE.md). */
export function v2Scenario(name: string): string {
  return join(FIXTURES, 'cgroup-v2', name);
}

/**
 * The guest's supervisor shell ran in /parent before it moved itself into /parent/self and made
 * the sandbox leaves beside it; as the own cgroup, "/parent" puts sandbox-<id> where they are.
 */
export const V2_OWN_CGROUP = '0::/parent\n';

/** The guest's mountinfo (the cgroup2 line: "30 22 0:27 / /sys/fs/cgroup rw,relatime - cgroup2 none rw"). */
export const V2_MOUNTINFO = readFileSync(join(FIXTURES, 'cgroup-v2', 'busy-256M', 'proc/self/mountinfo'), 'utf8');

/** Parse every "key value" line of a flat keyed file (test-side, independent of the code under test). */
export function allKeyed(text: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of text.trim().split('\n')) {
    const [k, v] = line.split(' ');
    out[k!] = Number(v);
  }
  return out;
}

/** The limits of `sandbox run --cpu 20% --mem 256M` on CPU 1 with the supervisor's pids default. */
export const LIMITS_20PCT_256M: CgroupLimits = {
  cpuQuotaUs: 20000,
  cpuPeriodUs: 100000,
  cpuBurstUs: null,
  cpuWeight: null,
  cpusetCpus: [1],
  memoryBytes: 256 * 1024 * 1024,
  swapBytes: 0,
  pidsMax: 4096,
};
