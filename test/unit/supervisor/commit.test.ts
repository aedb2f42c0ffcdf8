// sandbox commit's pure parts: what is excluded, DIR checks, thawing after a failed copy, and
// dropping directories that only held excluded mount points (temp dirs, no root needed).
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { commitExcludes, commitTarget, whileFrozen, writableLayerOf } from '../../../supervisor/commit.js';
import type { RecordedFilesystem, SandboxState } from '../../../supervisor/state.js';

const dir = mkdtempSync(join(tmpdir(), 'sandbox-commit-unit-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const fsOf = (over: Partial<RecordedFilesystem> = {}): RecordedFilesystem => ({
  layers: [join(dir, 'base')],
  keep: null,
  readOnly: false,
  mountTargets: [],
  ...over,
});

describe('commitExcludes', () => {
  it('lists the stage mount points, the init files and the volume/tmpfs targets, relative and normalized', () => {
    expect(commitExcludes(fsOf({ mountTargets: ['/data/', '/a/../b//c', '/proc'] }))).toEqual([
      'proc',
      'sys',
      'dev',
      'tmp',
      'etc/hostname',
      'etc/hosts',
      'etc/resolv.conf',
      'data',
      'b/c',
    ]);
  });
});

describe('writableLayerOf', () => {
  const state = (filesystem: RecordedFilesystem | null): SandboxState => ({
    id: 'abc',
    supervisorPid: 1,
    supervisorStartTicks: 1,
    startedAtMs: 0,
    command: ['sh'],
    cgroupDirs: [],
    mountpoint: '',
    cpus: [],
    filesystem,
  });
  it('refuses the host root and --read-only', () => {
    expect(() => writableLayerOf(state(null))).toThrow(/no writable layer: it runs on the host's root/);
    expect(() => writableLayerOf(state(fsOf({ readOnly: true })))).toThrow(/--read-only/);
    expect(writableLayerOf(state(fsOf())).layers).toHaveLength(1);
  });
});

describe('commitTarget', () => {
  mkdirSync(join(dir, 'base', 'sub'), { recursive: true });
  mkdirSync(join(dir, 'keep'), { recursive: true });
  mkdirSync(join(dir, 'full'), { recursive: true });
  writeFileSync(join(dir, 'full', 'x'), '');
  mkdirSync(join(dir, 'empty'), { recursive: true });
  writeFileSync(join(dir, 'file'), '');

  it('takes a missing or empty directory and returns it absolute', async () => {
    expect(await commitTarget(join(dir, 'new'), fsOf())).toBe(join(dir, 'new'));
    expect(await commitTarget(join(dir, 'empty'), fsOf())).toBe(join(dir, 'empty'));
  });
  it.each([
    ['not empty', join(dir, 'full'), /exists and is not empty/],
    ['a file', join(dir, 'file'), /not a directory/],
    ['no parent', join(dir, 'none', 'x'), /parent .* is not an existing directory/],
    ['inside a layer', join(dir, 'base', 'sub', 'new'), /own layers/],
    ['inside --keep', join(dir, 'keep', 'upper2'), /own layers/],
    ['a colon', join(dir, 'a:b'), /overlay layer/],
    ['empty', '', /an empty path/],
  ])('refuses %s', async (_label, path, why) => {
    await expect(commitTarget(path, fsOf({ keep: join(dir, 'keep') }))).rejects.toThrow(why);
  });
});

describe('whileFrozen', () => {
  it('thaws after a failed copy and passes the failure on', async () => {
    const calls: string[] = [];
    const cgroup = { freeze: async () => void calls.push('freeze'), thaw: async () => void calls.push('thaw') };
    await expect(
      whileFrozen(cgroup, async () => {
        calls.push('copy');
        throw new Error('disk full');
      }),
    ).rejects.toThrow('disk full');
    expect(calls).toEqual(['freeze', 'copy', 'thaw']);
  });
  it('copies nothing when the freeze fails', async () => {
    let copied = false;
    const cgroup = {
      freeze: async () => {
        throw new Error('no freezer');
      },
      thaw: async () => undefined,
    };
    await expect(
      whileFrozen(cgroup, async () => {
        copied = true;
      }),
    ).rejects.toThrow('no freezer');
    expect(copied).toBe(false);
  });
});
