import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CgroupFs, CgroupFsError, errnoCode } from '../../../../supervisor/cgroup/fs.js';
import { UnsupportedFlagError, withContext } from '../../../../supervisor/errors.js';

let root: string;
let fs: CgroupFs;
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'cgroupfs-'));
  fs = new CgroupFs(root);
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('CgroupFs', () => {
  it('maps host paths under its root; "/" is the live system', () => {
    expect(fs.resolve('/sys/fs/cgroup/pids/pids.max')).toBe(join(root, 'sys/fs/cgroup/pids/pids.max'));
    expect(new CgroupFs().resolve('/sys/fs/cgroup/pids/pids.max')).toBe('/sys/fs/cgroup/pids/pids.max');
  });

  it('reads, writes (truncating), lists, makes and removes dirs', async () => {
    await fs.mkdir('/cg');
    await writeFile(join(root, 'cg/pids.max'), 'max\n');
    await fs.write('/cg/pids.max', '42');
    expect(fs.read('/cg/pids.max')).toBe('42');
    expect(fs.readInt('/cg/pids.max')).toBe(42);
    expect(await fs.list('/cg')).toEqual(['pids.max']);
    expect(await fs.exists('/cg/pids.max')).toBe(true);
    expect(await fs.exists('/cg/nope')).toBe(false);
    expect(fs.readIfExists('/cg/nope')).toBeNull();
    await rm(join(root, 'cg/pids.max'));
    await fs.rmdir('/cg');
    expect(await fs.exists('/cg')).toBe(false);
  });

  it('never creates a missing control file: a write to it is ENOENT with path and value', async () => {
    const err = await fs.write('/memory.max', '268435456').then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(CgroupFsError);
    const e = err as CgroupFsError;
    expect(e.message).toBe(`write ${join(root, 'memory.max')} "268435456": ENOENT (errno 2)`);
    expect([e.syscall, e.path, e.value, e.code, e.errno]).toEqual([
      'write',
      join(root, 'memory.max'),
      '268435456',
      'ENOENT',
      2,
    ]);
    await expect(readFile(join(root, 'memory.max'))).rejects.toThrow();
  });

  it('read, mkdir, rmdir and parse errors carry the operation, path and errno', async () => {
    expect(() => fs.read('/x')).toThrow(`read ${join(root, 'x')}: ENOENT (errno 2)`);
    await fs.mkdir('/d');
    await expect(fs.mkdir('/d')).rejects.toThrow(`mkdir ${join(root, 'd')}: EEXIST (errno 17)`);
    await writeFile(join(root, 'd/f'), 'x');
    await expect(fs.rmdir('/d')).rejects.toThrow(`rmdir ${join(root, 'd')}: ENOTEMPTY (errno 39)`);
    await writeFile(join(root, 'd/f'), 'max\n');
    expect(() => fs.readInt('/d/f')).toThrow(`parse ${join(root, 'd/f')} "max": EINVAL (errno 22)`);
  });

  it('context is added as errors rise, the errno stays findable', () => {
    const base = new CgroupFsError('write', '/sys/fs/cgroup/memory/x/memory.limit_in_bytes', 'EBUSY', '268435456');
    expect(base.message).toBe('write /sys/fs/cgroup/memory/x/memory.limit_in_bytes "268435456": EBUSY (errno 16)');
    const wrapped = withContext('cgroup', withContext('cgroup v1 apply memory', base));
    expect(wrapped.message).toBe(
      'cgroup: cgroup v1 apply memory: write /sys/fs/cgroup/memory/x/memory.limit_in_bytes "268435456": EBUSY (errno 16)',
    );
    expect(errnoCode(wrapped)).toBe('EBUSY');
  });

  it('a flag the kernel lacks the feature for keeps its one line through every context', () => {
    const base = new UnsupportedFlagError(
      '--io-weight',
      '300',
      'this kernel has no proportional I/O scheduler for cgroups',
    );
    const wrapped = withContext('update abc', withContext('cgroup', withContext('cgroup v1 apply blkio', base)));
    expect(wrapped).toBe(base);
    expect(`sandbox: ${wrapped.message}`).toBe(
      'sandbox: --io-weight 300: this kernel has no proportional I/O scheduler for cgroups',
    );
    expect(wrapped.exitCode).toBe(125);
  });
});
