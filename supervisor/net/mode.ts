// --net host | none | private | sandbox:ID, and -p (which implies private): validated before anything
// is created. Joining looks the sandbox up now (by id, id prefix or --name), so an unknown or exited
// one is one line naming --net, exit 125.
import { readlink } from 'node:fs/promises';
import { SandboxError, UsageError } from '../errors.js';
import { runningSandbox } from '../lookup.js';
import { checkHostPorts, parsePublishList, type PortSpec } from './publish.js';

/** The network modes: the host's, a new namespace with only lo, a new one with user-mode networking, another sandbox's. */
export type NetMode = 'host' | 'none' | 'private' | 'sandbox';

/** What the network of a new sandbox will be. */
export interface NetRequest {
  mode: NetMode;
  /** --net sandbox:ID: the joined sandbox's id and the host pid of its PID 1 (whose netns is joined). */
  join?: { id: string; initPid: number };
  /** -p with --net private (possibly empty). */
  publish: PortSpec[];
}

/** Parse --net and -p syntactically (no lookups): the mode, the join reference, the port specs. */
export function parseNet(
  net: string | undefined,
  publish: readonly string[],
): { mode: NetMode; ref?: string; publish: PortSpec[] } {
  const ports = parsePublishList(publish);
  const given = net ?? (ports.length > 0 ? 'private' : 'host');
  let mode: NetMode;
  let ref: string | undefined;
  if (given === 'host' || given === 'none' || given === 'private') mode = given;
  else if (given.startsWith('sandbox:') && given.length > 'sandbox:'.length) {
    mode = 'sandbox';
    ref = given.slice('sandbox:'.length);
  } else throw new UsageError('--net', `expected "host", "none", "private" or "sandbox:ID", got "${given}"`);
  if (ports.length > 0 && mode !== 'private') {
    throw new UsageError(
      '--publish',
      `"${ports[0]!.text}" needs a network of its own: --net private (implied by -p), not --net ${given}`,
    );
  }
  return { mode, ref, publish: ports };
}

/**
 * Resolve the network request (root, before anything is created): look up the sandbox to join, and
 * probe the host ports of -p. Joining a sandbox that shares the host's network is --net host.
 */
export async function resolveNet(net: string | undefined, publish: readonly string[]): Promise<NetRequest> {
  const parsed = parseNet(net, publish);
  if (parsed.mode === 'private') await checkHostPorts(parsed.publish);
  if (parsed.mode !== 'sandbox') return { mode: parsed.mode, publish: parsed.publish };
  const target = await runningSandbox(parsed.ref!).catch((err: unknown) => {
    throw new UsageError('--net', `"${net}": ${err instanceof Error ? err.message : String(err)}`);
  });
  const initPid = target.procs.init!;
  // network_namespaces(7): /proc/PID/ns/net names the namespace as "net:[INODE]"; equal links are one namespace.
  const [theirs, ours] = await Promise.all([readlink(`/proc/${initPid}/ns/net`), readlink('/proc/self/ns/net')]).catch(
    (err: unknown) => {
      throw new SandboxError(
        `--net: "${net}": sandbox ${target.state.id} has already exited (${(err as Error).message})`,
      );
    },
  );
  if (theirs === ours) return { mode: 'host', publish: [] };
  return { mode: 'sandbox', join: { id: target.state.id, initPid }, publish: [] };
}
