// A supervisor killed with SIGKILL takes its sandbox down (PDEATHSIG on the stage and PID 1), and
// `sandbox gc` (also run at the start of every `sandbox run`) removes the FUSE mount (mounted
// without auto_unmount), the cgroups and the state dir it left. Live sandboxes are never touched.
// The same promise for a detached sandbox handed over to its stage (the monitor): monitor.test.ts.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { readFile, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { cli, finish, leftovers, removeLeftoverCgroups, sandboxUnavailable, startCli } from '../helpers/sandbox.js';
import { requireOrSkip } from '../helpers/skip.js';
import { waitFor } from '../helpers/wait.js';

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

  // How fast is measured by the soak (test/soak/kill.test.ts prints the worst case): here, that it happens.
  it('takes its workload down; gc leaves nothing; a live sandbox survives gc', async () => {
    // The live sandbox runs until the test creates "go" in its directory (after gc), however slow the machine.
    const dir = mkdtempSync(join(tmpdir(), 'sandbox-crash-'));
    const live = startCli([
      'run',
      '--userns=host',
      '--workdir',
      dir,
      '--',
      'sh',
      '-c',
      'echo ready; while [ ! -e go ]; do sleep 0.05; done; echo survived',
    ]);
    const liveDone = finish(live);
    await new Promise<void>((resolve) =>
      live.stdout!.on('data', (d: Buffer) => d.toString().includes('ready') && resolve()),
    );
    const liveState = await onlyState();

    const victim = startCli(['run', '--', 'sh', '-c', 'echo ready; sleep 100']);
    const victimDone = finish(victim);
    await new Promise<void>((resolve) =>
      victim.stdout!.on('data', (d: Buffer) => d.toString().includes('ready') && resolve()),
    );
    const names = await readdir('/run/sandbox');
    const victimId = names.find((n) => n !== liveState.id)!;
    const state = JSON.parse(await readFile(`/run/sandbox/${victimId}/state.json`, 'utf8')) as {
      cgroupDirs: string[];
      mountpoint: string;
    };
    const memoryDir = state.cgroupDirs.find((d) => d.includes('/memory/'))!;
    expect(await procs(memoryDir)).not.toEqual([]);

    victim.kill('SIGKILL');
    expect((await victimDone).signal).toBe('SIGKILL');
    await waitFor(
      async () => (await procs(memoryDir)).length === 0,
      "the SIGKILLed supervisor's sandbox cgroup to empty",
    );

    const gc = await cli(['gc']);
    expect(gc.code).toBe(0);
    expect(gc.stdout).toBe(`removed ${victimId}\n`);
    expect(await readdir('/run/sandbox')).toEqual([liveState.id]);
    const mounts = await readFile('/proc/self/mounts', 'utf8');
    expect(mounts).not.toContain(state.mountpoint);

    writeFileSync(join(dir, 'go'), '');
    const liveResult = await liveDone;
    rmSync(dir, { recursive: true, force: true });
    expect(liveResult.code).toBe(0);
    expect(liveResult.stdout).toBe('ready\nsurvived\n');
  });

  it('--userns: the workload still goes (PID 1 sets PDEATHSIG again after its uid change clears it)', async () => {
    const victim = startCli(['run', '--userns', '--', 'sh', '-c', 'echo ready; sleep 100']);
    const victimDone = finish(victim);
    await new Promise<void>((resolve) =>
      victim.stdout!.on('data', (d: Buffer) => d.toString().includes('ready') && resolve()),
    );
    const state = await onlyState().catch((err: unknown) => {
      victim.kill('SIGKILL');
      throw err;
    });
    const memoryDir = state.cgroupDirs.find((d) => d.includes('/memory/'))!;
    const before = await procs(memoryDir);
    victim.kill('SIGKILL');
    expect(before.length).toBeGreaterThanOrEqual(2); // PID 1 and sh
    expect((await victimDone).signal).toBe('SIGKILL');
    await waitFor(
      async () => (await procs(memoryDir)).length === 0,
      "the SIGKILLed supervisor's --userns sandbox cgroup to empty",
    );
    expect((await cli(['gc'])).stdout).toBe(`removed ${state.id}\n`);
  });
});
