// A supervisor killed with SIGKILL takes its sandbox down (PDEATHSIG on the stage and PID 1),
// libfuse's auto_unmount removes its FUSE mount, and `sandbox gc` (also run at the start of every
// `sandbox run`) removes the cgroups and state dir it left. Live sandboxes are never touched.
import { readFile, readdir } from 'node:fs/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { cli, finish, leftovers, removeLeftoverCgroups, sandboxUnavailable, startCli } from '../helpers/sandbox.js';
import { requireOrSkip } from '../helpers/skip.js';

const skip = requireOrSkip(sandboxUnavailable());

/** The state.json of the only sandbox under /run/sandbox, once it exists. */
async function onlyState(): Promise<{ id: string; cgroupDirs: string[]; mountpoint: string }> {
  for (let i = 0; i < 100; i++) {
    const names = await readdir('/run/sandbox').catch(() => []);
    if (names.length === 1) {
      const text = await readFile(`/run/sandbox/${names[0]}/state.json`, 'utf8').catch(() => null);
      if (text) return JSON.parse(text);
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error('no single sandbox state appeared under /run/sandbox');
}

/** Pids in a cgroup directory (cgroup.procs). */
const procs = async (dir: string) => (await readFile(`${dir}/cgroup.procs`, 'utf8')).split('\n').filter(Boolean);

describe.skipIf(skip)('a SIGKILLed supervisor', () => {
  afterEach(() => {
    const left = leftovers();
    removeLeftoverCgroups();
    expect(left).toEqual([]);
  });

  it('takes its workload down within 1 s; gc leaves nothing; a live sandbox survives gc', async () => {
    const live = startCli(['run', '--', 'sh', '-c', 'echo ready; sleep 3; echo survived']);
    const liveDone = finish(live);
    await new Promise<void>((resolve) => live.stdout!.on('data', (d: Buffer) => d.toString().includes('ready') && resolve()));
    const liveState = await onlyState();

    const victim = startCli(['run', '--', 'sh', '-c', 'echo ready; sleep 100']);
    const victimDone = finish(victim);
    await new Promise<void>((resolve) => victim.stdout!.on('data', (d: Buffer) => d.toString().includes('ready') && resolve()));
    const names = await readdir('/run/sandbox');
    const victimId = names.find((n) => n !== liveState.id)!;
    const state = JSON.parse(await readFile(`/run/sandbox/${victimId}/state.json`, 'utf8')) as { cgroupDirs: string[]; mountpoint: string };
    const memoryDir = state.cgroupDirs.find((d) => d.includes('/memory/'))!;
    expect(await procs(memoryDir)).not.toEqual([]);

    victim.kill('SIGKILL');
    expect((await victimDone).signal).toBe('SIGKILL');
    const killedAt = Date.now();
    while ((await procs(memoryDir)).length > 0 && Date.now() - killedAt < 1000) await new Promise((r) => setTimeout(r, 10));
    expect(await procs(memoryDir)).toEqual([]);

    const gc = await cli(['gc']);
    expect(gc.code).toBe(0);
    expect(gc.stdout).toBe(`removed ${victimId}\n`);
    expect(await readdir('/run/sandbox')).toEqual([liveState.id]);
    const mounts = await readFile('/proc/self/mounts', 'utf8');
    expect(mounts).not.toContain(state.mountpoint);

    const liveResult = await liveDone;
    expect(liveResult.code).toBe(0);
    expect(liveResult.stdout).toBe('ready\nsurvived\n');
  });

  it('--userns: the workload still goes within 1 s (PID 1 sets PDEATHSIG again after its uid change clears it)', async () => {
    const victim = startCli(['run', '--userns', '--', 'sh', '-c', 'echo ready; sleep 100']);
    const victimDone = finish(victim);
    await new Promise<void>((resolve) => victim.stdout!.on('data', (d: Buffer) => d.toString().includes('ready') && resolve()));
    const state = await onlyState().catch((err: unknown) => {
      victim.kill('SIGKILL');
      throw err;
    });
    const memoryDir = state.cgroupDirs.find((d) => d.includes('/memory/'))!;
    const before = await procs(memoryDir);
    victim.kill('SIGKILL');
    expect(before.length).toBeGreaterThanOrEqual(2); // PID 1 and sh
    expect((await victimDone).signal).toBe('SIGKILL');
    const killedAt = Date.now();
    while ((await procs(memoryDir)).length > 0 && Date.now() - killedAt < 1000) await new Promise((r) => setTimeout(r, 10));
    expect(await procs(memoryDir)).toEqual([]);
    expect((await cli(['gc'])).stdout).toBe(`removed ${state.id}\n`);
  });
});
