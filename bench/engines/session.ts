// Docker and podman for a bench scenario, each confined as the engine tests confine them: one 0700
// directory under /tmp for every file they write (bench/engines/dockerd.ts, podman.ts), one cgroup
// box below the bench's own cgroup for every process they start (cgroup-box.ts), no network, the
// busybox image imported locally (image.ts). stop() removes their containers and images, stops
// dockerd, ends anything left in the box, detaches any mount left under the directory, removes the
// directory and the box, and says what it found left; it also runs when the bench is interrupted
// (bench/abort.ts). An engine that can't be had is not started, and the reason is kept.
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { onAbort } from '../abort.js';
import { createCgroupBox, cgroupBoxMissing, type CgroupBox } from './cgroup-box.js';
import { dockerMissing, mountsUnder, startDockerd, type Dockerd } from './dockerd.js';
import { existingEnginePaths, newEnginePaths } from './host-paths.js';
import { buildImageTarball, imageMissing } from './image.js';
import { podmanMissing, setUpPodman, type Podman } from './podman.js';

/** The image's name in both engines (podman qualifies a bare name with localhost/). */
export const ENGINE_IMAGE = 'localhost/sandbox-bench-busybox:latest';

/** Started engines, and why the others are not. */
export interface EngineSession {
  /** The session's 0700 directory. */
  readonly dir: string;
  readonly box: CgroupBox;
  /** dockerd with the image imported, or why not. */
  readonly docker: Dockerd | string;
  /** podman with the image imported, or why not. */
  readonly podman: Podman | string;
  /** Stop and remove everything (once; later calls wait for the first); resolves with what was left. */
  stop(): Promise<string[]>;
}

/** Which engines to start. */
export type EngineName = 'docker' | 'podman';

/** A promise that settles within ms (rejecting after), so a hung client can't hold the clean-up. */
function bounded<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>(
    (_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: no answer after ${ms} ms`)), ms)),
  );
  return Promise.race([p, deadline]).finally(() => clearTimeout(timer));
}

/** The last line of an error from a client (execFile's message holds the whole command first). */
function lastLine(err: unknown): string {
  const e = err as { stderr?: string; message?: string };
  return (e.stderr?.trim() || e.message || String(err)).split('\n').pop() ?? '';
}

/**
 * Start the engines named; `label` names the session's directory and cgroup
 * (`/tmp/sandbox-bench-LABEL-XXXXXX`, `<own cgroup>/sandbox-bench-LABEL-PID`). Resolves with the
 * session, or with why no engine can run here at all.
 */
export async function startEngines(label: string, engines: readonly EngineName[]): Promise<EngineSession | string> {
  const common = cgroupBoxMissing() ?? imageMissing();
  if (common) return common;
  const hostBefore = existingEnginePaths();
  const dir = mkdtempSync(`/tmp/sandbox-bench-${label}-`);
  chmodSync(dir, 0o700);
  let box: CgroupBox;
  try {
    box = createCgroupBox(`sandbox-bench-${label}-${process.pid}`);
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    return `no cgroup of ours for the engines: ${(err as Error).message}`;
  }
  let dockerd: Dockerd | null = null;
  let podman: Podman | null = null;
  let stopping: Promise<string[]> | null = null;
  const stop = (): Promise<string[]> => (stopping ??= stopAll());
  const unregister = onAbort(stop);

  async function stopAll(): Promise<string[]> {
    const left: string[] = [];
    if (dockerd) {
      const d = dockerd;
      const ids = (await bounded(d.docker(['ps', '-aq']), 30_000, 'docker ps').catch(() => ({ stdout: '' }))).stdout
        .split('\n')
        .filter(Boolean);
      if (ids.length > 0) await bounded(d.docker(['rm', '-f', ...ids]), 60_000, 'docker rm').catch(() => undefined);
      await d.stop();
    }
    if (podman) {
      const p = podman;
      await bounded(p.podman(['rm', '--all', '--force']), 60_000, 'podman rm').catch(() => undefined);
      await bounded(p.podman(['rmi', '--all', '--force']), 60_000, 'podman rmi').catch(() => undefined);
    }
    left.push(...box.pids().map((pid) => `process ${pid} (left in the engines' cgroup; killed)`));
    await box.remove().catch((err: Error) => left.push(`the engines' cgroup: ${err.message}`));
    // podman's storage mounts (overlay layers) live in our mount namespace, under its root.
    for (const m of mountsUnder(dir).reverse()) {
      left.push(`mount ${m} (detached)`);
      spawnSync('umount', ['-l', m]);
    }
    rmSync(dir, { recursive: true, force: true });
    if (existsSync(dir)) left.push(`directory ${dir}`);
    left.push(...newEnginePaths(hostBefore));
    unregister();
    return left;
  }

  let docker: Dockerd | string = 'not asked for';
  let pod: Podman | string = 'not asked for';
  try {
    const tar = buildImageTarball(`${dir}/image`);
    if (engines.includes('docker')) {
      docker = dockerMissing() ?? '';
      if (docker === '') {
        try {
          dockerd = await startDockerd(`${dir}/docker`, box);
          await dockerd.docker(['import', tar, ENGINE_IMAGE]);
          docker = dockerd;
        } catch (err) {
          docker = `dockerd: ${lastLine(err)}`;
        }
      }
    }
    if (engines.includes('podman')) {
      pod = podmanMissing() ?? '';
      if (pod === '') {
        try {
          podman = setUpPodman(`${dir}/podman`, box);
          await podman.importImage(tar, ENGINE_IMAGE);
          pod = podman;
        } catch (err) {
          pod = `podman: ${lastLine(err)}`;
        }
      }
    }
  } catch (err) {
    await stop();
    return `the engines' image: ${lastLine(err)}`;
  }
  return { dir, box, docker, podman: pod, stop };
}
