// The bench's docker and podman (bench/engines/session.ts, the launch scenario's peers): started
// confined as the engine tests confine them, a container of each runs under the session's cgroup
// with no network but loopback, and stop() leaves nothing: no process in the session's cgroup, no
// cgroup, no mount, no directory, no host path an engine writes by default. `bench launch`
// interrupted by Ctrl-C (SIGINT to its process group, as a terminal sends it) while the engines
// run exits 128 + 2 and leaves nothing either. Nothing here is timed.
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { startEngines, ENGINE_IMAGE, type EngineSession } from '../../bench/engines/session.js';
import { cgroupBoxUnavailable } from '../helpers/engines/cgroup-box.js';
import { dockerUnavailable, mountsUnder } from '../helpers/engines/dockerd.js';
import { existingEnginePaths, newEnginePaths } from '../helpers/engines/host-untouched.js';
import { podmanUnavailable } from '../helpers/engines/podman.js';
import { imageUnavailable } from '../helpers/image.js';
import { leftovers, removeLeftoverCgroups, sandboxUnavailable } from '../helpers/sandbox.js';
import { requireOrSkip } from '../helpers/skip.js';
import { waitFor, within } from '../helpers/wait.js';

const skip = requireOrSkip(
  sandboxUnavailable() ?? dockerUnavailable() ?? podmanUnavailable() ?? imageUnavailable() ?? cgroupBoxUnavailable(),
);
const BENCH = fileURLToPath(new URL('../../dist/bench/main.js', import.meta.url));

/** Cgroup directories named `name` anywhere in the mounted hierarchies (a box is at most a few levels down). */
function cgroupsNamed(name: string): string[] {
  const found: string[] = [];
  const walk = (dir: string, depth: number): void => {
    if (depth > 6) return;
    let entries: string[];
    try {
      entries = readdirSync(dir, { withFileTypes: true })
        .filter((e) => e.isDirectory())
        .map((e) => e.name);
    } catch {
      return; // removed meanwhile
    }
    for (const e of entries) {
      if (e === name) found.push(`${dir}/${e}`);
      else walk(`${dir}/${e}`, depth + 1);
    }
  };
  walk('/sys/fs/cgroup', 0);
  return found;
}

/** Pids whose command line names path (dockerd's flags name its state directory). */
function processesNaming(path: string): number[] {
  return readdirSync('/proc')
    .filter((p) => /^\d+$/.test(p))
    .filter((p) => {
      try {
        return readFileSync(`/proc/${p}/cmdline`, 'utf8').includes(path);
      } catch {
        return false;
      }
    })
    .map(Number);
}

/** The bench's directories in /tmp (its engines', its views daemon's, its runtimes' bundles). */
function benchDirsInTmp(): string[] {
  return readdirSync('/tmp')
    .filter((n) => n.startsWith('sandbox-bench-'))
    .map((n) => `/tmp/${n}`);
}

/** What a session left behind after its stop(), besides what stop() reported itself. */
function leftBy(dir: string, cgroupName: string, hostBefore: string[]): string[] {
  return [
    ...(existsSync(dir) ? [`directory ${dir}`] : []),
    ...mountsUnder(dir).map((m) => `mount ${m}`),
    ...cgroupsNamed(cgroupName).map((c) => `cgroup ${c}`),
    ...processesNaming(dir).map((p) => `process ${p}`),
    ...newEnginePaths(hostBefore),
    ...leftovers(),
  ];
}

describe.skipIf(skip)("the bench's engines (bench/engines/session.ts)", () => {
  it("docker and podman run a container under the session's cgroup with loopback only; stop() leaves nothing", async () => {
    const hostBefore = existingEnginePaths();
    const session = await startEngines('test', ['docker', 'podman']);
    if (typeof session === 'string') throw new Error(session);
    const s: EngineSession = session;
    try {
      expect(typeof s.docker).not.toBe('string');
      expect(typeof s.podman).not.toBe('string');
      if (typeof s.docker === 'string' || typeof s.podman === 'string') return;
      // The container's memory cgroup and its network devices, as the container sees them.
      const probe = [
        'sh',
        '-c',
        "grep ':memory:' /proc/self/cgroup; tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d ' '",
      ];
      const ofDocker = (
        await s.docker.docker([
          'run',
          '--rm',
          '--network',
          'none',
          '--cpus',
          '0.2',
          '-m',
          '256m',
          ENGINE_IMAGE,
          ...probe,
        ])
      ).stdout;
      const ofPodman = (
        await s.podman.podman([
          'run',
          '--rm',
          '--network',
          'none',
          ...s.podman.runFlags,
          '--cpus',
          '0.2',
          '-m',
          '256m',
          ENGINE_IMAGE,
          ...probe,
        ])
      ).stdout;
      for (const out of [ofDocker, ofPodman]) {
        const [memory, ...devices] = out.trim().split('\n');
        // A cgroup namespace would hide the path: the engines here run in the host's (cgroup v1 default).
        expect(memory).toContain(`${s.box.containersParent}/`);
        expect(devices).toEqual(['lo']);
      }
    } finally {
      const left = await s.stop();
      const cgroupName = `sandbox-bench-test-${process.pid}`;
      removeLeftoverCgroups();
      expect([...left, ...leftBy(s.dir, cgroupName, hostBefore)]).toEqual([]);
    }
  });

  // Two moments: as the engines are ready (the views daemon starting, the warm-ups), and amid the
  // rounds (a sandbox, a container or a peer being run).
  it.each([
    ['as its engines are ready', /engines ready /],
    ['amid its rounds', /launch warm round 1\//],
  ])(
    '`bench launch --quick` interrupted by SIGINT %s: exit 130, nothing left',
    async (_when, moment) => {
      const hostBefore = existingEnginePaths();
      const tmpBefore = benchDirsInTmp();
      // A process group of its own: the signal goes to every process of it, as a terminal's Ctrl-C does.
      const bench = spawn(process.execPath, [BENCH, 'launch', '--quick'], {
        detached: true,
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      let stderr = '';
      bench.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      const exited = new Promise<number | null>((resolve) => bench.once('exit', (code) => resolve(code)));
      try {
        await waitFor(
          () => {
            if (bench.exitCode !== null) throw new Error(`bench exited ${bench.exitCode} before ${moment}: ${stderr}`);
            return moment.test(stderr);
          },
          `the bench's stderr to match ${moment}`,
          60_000,
        );
        process.kill(-bench.pid!, 'SIGINT');
        expect(await within(exited, 'the bench to exit after SIGINT')).toBe(130);
      } finally {
        if (bench.exitCode === null) process.kill(-bench.pid!, 'SIGKILL');
      }
      expect(stderr).toContain('SIGINT: stopping and removing what the bench started');
      const dir = /engines ready .*state in (\S+)\)/.exec(stderr)?.[1] ?? '';
      expect(dir).toMatch(/^\/tmp\/sandbox-bench-launch-/);
      removeLeftoverCgroups();
      const newInTmp = benchDirsInTmp()
        .filter((d) => !tmpBefore.includes(d))
        .map((d) => `directory ${d}`);
      expect([...newInTmp, ...leftBy(dir, `sandbox-bench-launch-${bench.pid}`, hostBefore)]).toEqual([]);
    },
    120_000,
  );
});
