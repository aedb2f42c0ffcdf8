// What a cgroup's views are rendered from, as plain data the view server's workers open again
// (procfs/view-cgroup.ts): `sandbox run` describes its own sandbox's cgroup, `sandbox procfs serve`
// each registered container's.
import type { SandboxViewSpec } from './fs.js';
import { describeCgroup } from './view-cgroup.js';

/** A view spec for the cgroup whose leaf directories are `cgroup.dirs` (uptime counts from startedAtMs). */
export function cgroupViewSpec(cgroup: { dirs: readonly string[] }, startedAtMs: number, root = '/'): SandboxViewSpec {
  return { cgroup: describeCgroup(cgroup.dirs, root), startedAtMs };
}
