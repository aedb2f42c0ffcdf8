import { mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { UsageError } from '../../../supervisor/errors.js';
import {
  hostsFile,
  parseTmpfs,
  parseVolume,
  resolveFilesystem,
  resolvConf,
  rootfsWorkdir,
} from '../../../supervisor/rootfs.js';
import { stageArgs } from '../../../supervisor/stage.js';

const dir = mkdtempSync(join(tmpdir(), 'sandbox-rootfs-unit-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('filesystem flags', () => {
  it('parses -v SRC:DST[:ro|:rw]', () => {
    expect(parseVolume(`${dir}:/data`)).toEqual({ source: dir, target: '/data', readOnly: false });
    expect(parseVolume(`${dir}:/data:ro`)).toEqual({ source: dir, target: '/data', readOnly: true });
    expect(parseVolume(`${dir}:/data:rw`)).toEqual({ source: dir, target: '/data', readOnly: false });
    for (const bad of [dir, `${dir}:`, `:/x`, `${dir}:x`, `${dir}:/`, `${dir}://`, 'rel:/x', `${dir}/missing:/x`]) {
      expect(() => parseVolume(bad), bad).toThrow(UsageError);
    }
  });

  it('resolves a -v source once (its symlinks followed, as docker does): the stage then follows none', () => {
    const real = join(dir, 'vol-real');
    mkdirSync(real);
    symlinkSync(real, join(dir, 'vol-link'));
    expect(parseVolume(`${join(dir, 'vol-link')}:/data`).source).toBe(realpathSync(real));
  });

  it('refuses --keep DIR whose upper or work is a symlink (issue 19, finding 8), resolving DIR once', () => {
    const image = join(dir, 'keep-image');
    mkdirSync(image);
    for (const part of ['upper', 'work']) {
      const keep = join(dir, `keep-${part}`);
      mkdirSync(keep);
      symlinkSync(dir, join(keep, part));
      expect(() => resolveFilesystem({ rootfs: image, keep }), part).toThrow(/^--keep: ".*" is a symbolic link/);
    }
    const real = join(dir, 'keep-real');
    mkdirSync(real);
    symlinkSync(real, join(dir, 'keep-link'));
    expect(resolveFilesystem({ rootfs: image, keep: join(dir, 'keep-link') }).keep).toBe(realpathSync(real));
    expect(resolveFilesystem({ rootfs: image, keep: join(dir, 'keep-new') }).keep).toBe(
      join(realpathSync(dir), 'keep-new'),
    );
  });

  it('parses --tmpfs DST[:SIZE]', () => {
    expect(parseTmpfs('/run')).toEqual({ target: '/run', sizeBytes: null });
    expect(parseTmpfs('/run:64M')).toEqual({ target: '/run', sizeBytes: 64 * 1024 * 1024 });
    for (const bad of ['run', '/', '/x:', '/x:1', '/x:25%', '/x:big'])
      expect(() => parseTmpfs(bad), bad).toThrow(UsageError);
  });

  it('puts --rootfs below the layers and checks --keep', () => {
    const layer = join(dir, 'l');
    const file = join(dir, 'f');
    rmSync(layer, { recursive: true, force: true });
    writeFileSync(file, '');
    expect(() => resolveFilesystem({ layer: [layer] })).toThrow(/--layer: no such directory/);
    expect(resolveFilesystem({ rootfs: dir, layer: [tmpdir()] }).layers).toEqual([dir, tmpdir()]);
    expect(() => resolveFilesystem({ rootfs: file })).toThrow(/--rootfs: not a directory/);
    expect(() => resolveFilesystem({ rootfs: tmpdir(), keep: join(tmpdir(), 'k') })).toThrow(
      /--keep: must not be inside a layer/,
    );
    expect(() => resolveFilesystem({ rootfs: dir, keep: file })).toThrow(/--keep: not a directory/);
    expect(() => resolveFilesystem({ rootfs: dir, keep: '/k', readOnly: true })).toThrow(/--keep: has nothing to keep/);
    expect(resolveFilesystem({ rootfs: dir, keep: '/k-xyz' }).keep).toBe('/k-xyz');
    expect(resolveFilesystem({})).toEqual({ layers: [], keep: null, volumes: [], tmpfs: [], readOnly: false });
  });

  it('takes any absolute --workdir inside a root of its own, / by default', () => {
    expect(rootfsWorkdir(undefined)).toBe('/');
    expect(rootfsWorkdir('/srv/app')).toBe('/srv/app');
    expect(() => rootfsWorkdir('srv')).toThrow(/--workdir/);
  });

  it('writes /etc/hosts and resolv.conf for the network mode', () => {
    expect(hostsFile('box', 'none', '10.0.0.1 gw\n')).toBe(
      '127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n127.0.1.1\tbox\n',
    );
    expect(hostsFile('box', 'host', '10.0.0.1 gw')).toBe('10.0.0.1 gw\n127.0.1.1\tbox\n');
    expect(resolvConf('host', 'nameserver 1.1.1.1\n')).toBe('nameserver 1.1.1.1\n');
    expect(resolvConf('none', 'nameserver 1.1.1.1\n')).not.toContain('nameserver');
  });

  it('passes volumes, tmpfs mounts and the layers to the stage', () => {
    const args = stageArgs({
      supervisorPid: 1,
      procsFiles: [],
      v1Hierarchies: null,
      hostname: 'h',
      net: 'host',
      views: [],
      writableDirs: [],
      workdir: '/',
      command: ['sh'],
      env: {},
      volumes: [
        { source: '/a', target: '/b', readOnly: true },
        { source: '/c', target: '/d', readOnly: false },
      ],
      tmpfs: [
        { target: '/t', sizeBytes: 4096 },
        { target: '/u', sizeBytes: null },
      ],
      root: { layers: ['/img', '/l2'], rootAt: '/run/sandbox/x/root', upper: '/keep', readOnly: false },
    });
    expect(args.join(' ')).toContain(
      '--volume /a:/b:ro --volume /c:/d --tmpfs /t:4096 --tmpfs /u --layer /img --layer /l2 --root-at /run/sandbox/x/root --upper /keep --chdir / -- sh',
    );
  });
});
