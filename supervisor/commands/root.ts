// Every command but --version and help needs root: cgroups, namespaces, mounts, and the sandboxes'
// state (mode 0600).
import { SandboxError } from '../errors.js';

/** Fail with exit 125 and one line naming the command unless running as root. */
export function requireRoot(command: string): void {
  if (process.getuid?.() !== 0) throw new SandboxError(`${command}: needs root; try sudo`);
}
