// The lifecycle commands read cgroup files and state.json (mode 0600) and signal root's processes.
import { SandboxError } from '../errors.js';

/** Fail with exit 125 and a one-line reason unless running as root. */
export function requireRoot(command: string): void {
  if (process.getuid?.() !== 0) throw new SandboxError(`${command}: needs root (it reads the sandboxes' state and cgroups); try sudo`);
}
