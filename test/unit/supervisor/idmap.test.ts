import { chownSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { diskOwner } from '../../../supervisor/idmap.js';
import { UsageError } from '../../../supervisor/errors.js';

describe('diskOwner: whose files an ID-mapped workdir holds', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sandbox-idmap-unit-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const asRoot = process.getuid?.() === 0;

  it('SUDO_UID and SUDO_GID first; SUDO_GID defaults to SUDO_UID', () => {
    expect(diskOwner({ SUDO_UID: '1000', SUDO_GID: '1001' }, dir)).toEqual({ uid: 1000, gid: 1001 });
    expect(diskOwner({ SUDO_UID: '1000' }, dir)).toEqual({ uid: 1000, gid: 1000 });
  });

  it.skipIf(!asRoot)("else the workdir's owner and group", () => {
    chownSync(dir, 4242, 4243);
    expect(diskOwner({}, dir)).toEqual({ uid: 4242, gid: 4243 });
    expect(diskOwner({ SUDO_UID: '' }, dir)).toEqual({ uid: 4242, gid: 4243 });
  });

  it('never root: uid or gid 0 means no mapping', () => {
    expect(diskOwner({ SUDO_UID: '0' }, dir)).toBeNull();
    expect(diskOwner({ SUDO_UID: '1000', SUDO_GID: '0' }, dir)).toBeNull();
  });

  it.skipIf(!asRoot)('a root-owned workdir without sudo: no mapping', () => {
    chownSync(dir, 0, 0);
    expect(diskOwner({}, dir)).toBeNull();
  });

  it('a SUDO_UID that is not an id is a usage error naming the variable', () => {
    expect(() => diskOwner({ SUDO_UID: 'alice' }, dir)).toThrow(UsageError);
    expect(() => diskOwner({ SUDO_UID: '4294967295' }, dir)).toThrow(/^SUDO_UID: expected a numeric id/);
    expect(() => diskOwner({ SUDO_UID: '1000', SUDO_GID: '-1' }, dir)).toThrow(/^SUDO_GID: /);
  });
});
