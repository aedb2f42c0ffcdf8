// Docker and podman beside `sandbox run` in the launch scenario (issue 21): each runs `true` from
// the local busybox image in a container limited as ours (`--cpus 0.2 -m 256m`), with no network,
// removed after it exits (`--rm`): what a user of either CLI waits for. The engines are started for
// the scenario and stopped at its end (bench/engines/session.ts); one that can't be had, or whose
// trial run fails, is a skipped row with the reason, never a failed run.
import { spawn } from 'node:child_process';
import { startEngines, ENGINE_IMAGE, type EngineSession } from './engines/session.js';
import type { Peer } from './peers.js';
import { progress } from './table.js';

/** The container's options and command after the engine's own flags, the same for both engines. */
const RUN = ['--rm', '--network', 'none', '--cpus', '0.2', '-m', '256m', ENGINE_IMAGE, 'true'];
const LIMITS = '--cpus 0.2 -m 256m';

/** The engines' peers, the reasons for those skipped, and the end of the session. */
export interface EnginePeers {
  peers: Peer[];
  skipped: string[];
  /** Stop the engines and remove everything; resolves with what was left (reported, never thrown). */
  stop(): Promise<string[]>;
}

/** One run of argv (exit 0 expected): null, or why it failed. */
function trial(cmd: string, args: string[], env: Record<string, string>): Promise<string | null> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, ...env } });
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', (e) => resolve(e.message));
    child.on('exit', (code, signal) =>
      resolve(code === 0 ? null : `a trial run failed (exit ${code ?? signal}): ${err.trim().split('\n').pop() ?? ''}`),
    );
  });
}

/** Start docker and podman for the launch scenario and make their peers. */
export async function enginePeers(): Promise<EnginePeers> {
  progress('launch: starting dockerd and podman (state of their own under /tmp, no network)');
  const t0 = performance.now();
  const session: EngineSession | string = await startEngines('launch', ['docker', 'podman']);
  if (typeof session === 'string') {
    return { peers: [], skipped: [`docker: ${session}`, `podman: ${session}`], stop: async () => [] };
  }
  const peers: Peer[] = [];
  const skipped: string[] = [];
  // dockerd puts its containers under the box (its --cgroup-parent); podman is told on each run.
  const candidates: Array<
    [string, { argv(args: string[]): [string, string[]]; env: Record<string, string> } | string, string[]]
  > = [
    ['docker', session.docker, []],
    ['podman', session.podman, typeof session.podman === 'string' ? [] : session.podman.runFlags],
  ];
  for (const [name, engine, flags] of candidates) {
    if (typeof engine === 'string') {
      skipped.push(`${name}: ${engine}`);
      continue;
    }
    const [cmd, args] = engine.argv(['run', ...flags, ...RUN]);
    const failed = await trial(cmd, args, engine.env);
    if (failed) skipped.push(`${name}: ${failed}`);
    else
      peers.push({ name: `${name} run --rm (busybox true)`, argv: () => [cmd, args], limits: LIMITS, env: engine.env });
  }
  for (const s of skipped) progress(`launch peer ${s.replace(/^(\w+): /, '$1 skipped: ')}`);
  progress(
    `launch: engines ready in ${((performance.now() - t0) / 1000).toFixed(1)} s (${peers.map((p) => p.name.split(' ')[0]).join(', ') || 'none'}; state in ${session.dir})`,
  );
  const stop = async (): Promise<string[]> => {
    const t1 = performance.now();
    const left = await session.stop();
    progress(`launch: engines stopped and removed in ${((performance.now() - t1) / 1000).toFixed(1)} s`);
    return left;
  };
  return { peers, skipped, stop };
}
