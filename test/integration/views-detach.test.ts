// The views mount is undone without an unmount command: `sandbox run`'s stage detaches it once PID 1
// has exited (native/stage/stage.c detach_views), and the server's stop (procfs/fuse/server.ts)
// then skips its `umount -l` exec; a mount still there is unmounted with it as before.
// Both end with nothing mounted. Reads here are asynchronous: this process serves the mount.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ViewServer } from '../../procfs/fs.js';
import { mountCommands } from '../../procfs/fuse/mount.js';
import { REMOVING_PREFIX, RUN_DIR, removeState } from '../../supervisor/state.js';
import { STAGE, fuseUnavailable, stageUnavailable } from '../helpers/sandbox.js';
import { requireOrSkip } from '../helpers/skip.js';

const skip = requireOrSkip(fuseUnavailable() ?? stageUnavailable());
const id = `test-detach-${process.pid}`;
const dir = `/run/sandbox/${id}`;
const mountpoint = `${dir}/views`;

/** Whether the mountpoint is a mount in this (the host's) mount namespace (proc(5) mountinfo field 5). */
async function isMounted(): Promise<boolean> {
  return (await readFile('/proc/self/mountinfo', 'utf8')).split('\n').some((line) => line.split(' ')[4] === mountpoint);
}

/**
 * Run the stage with `args` before "--" and `true` as its command, in / (the stage's default is
 * its own cwd, which a clone under /tmp would not find inside: /tmp is a new tmpfs there); resolve
 * with its exit code.
 */
function stage(args: string[]): Promise<number | null> {
  const child = spawn(STAGE, ['--supervisor-pid', String(process.pid), '--chdir', '/', ...args, '--', 'true'], {
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  return new Promise((resolve) => child.on('exit', resolve));
}

describe.skipIf(skip)('detaching the views mount', () => {
  let server: ViewServer;

  beforeEach(async () => {
    await mkdir(mountpoint, { recursive: true });
    server = new ViewServer(mountpoint);
    await server.mount();
  });

  afterEach(async () => {
    vi.restoreAllMocks();
    await server.unmount().catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
    expect(await isMounted()).toBe(false);
  });

  it('the stage detaches the views once its command has exited, and the unmount then runs no umount', async () => {
    expect(await isMounted()).toBe(true);
    expect(await stage(['--detach-views', mountpoint])).toBe(0);
    expect(await isMounted()).toBe(false);
    const execUnmount = vi.spyOn(mountCommands, 'unmount');
    await server.unmount();
    expect(execUnmount).not.toHaveBeenCalled();
  });

  it('without --detach-views the mount stays until the server unmounts it with umount', async () => {
    expect(await stage([])).toBe(0);
    expect(await isMounted()).toBe(true);
    const execUnmount = vi.spyOn(mountCommands, 'unmount');
    await server.unmount();
    expect(execUnmount).toHaveBeenCalledTimes(1);
    expect(await isMounted()).toBe(false);
  });

  it('removing the state dir of a sandbox whose views are still mounted fails with EBUSY, without reading the mount', async () => {
    // removeState is synchronous: had it listed the views (our own mount), this process, which
    // serves them, would have blocked for good.
    await writeFile(`${dir}/state.json`, '{}\n');
    const removing = `${RUN_DIR}/${REMOVING_PREFIX}${id}`;
    await expect(removeState(id)).rejects.toMatchObject({ code: 'EBUSY' });
    await rename(removing, dir); // back where the server and afterEach expect it
    expect(await isMounted()).toBe(true);
    expect(existsSync(`${dir}/state.json`)).toBe(false); // what could go, went
  });

  it('rejects a relative --detach-views with one line and exit 125', async () => {
    const child = spawn(STAGE, ['--supervisor-pid', String(process.pid), '--detach-views', 'views', '--', 'true'], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    expect(await new Promise((resolve) => child.on('exit', resolve))).toBe(125);
    expect(err.trim().split('\n')).toEqual([expect.stringContaining('invalid value for --detach-views: "views"')]);
    expect(await isMounted()).toBe(true);
  });
});
