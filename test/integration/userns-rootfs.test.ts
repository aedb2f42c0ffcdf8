// The default user namespace with a root of its own (issue 19, findings 2, 3, 4 and 7 for
// --rootfs/--layer/--keep and `sandbox commit`): root inside is the range's base outside and owns
// its user namespace; the layers are ID-mapped with the namespace's mapping, so the image's
// root-owned files are root's inside and root writes, chowns and chmods them as before; the
// writable layer holds the range's host ids (a set-user-ID file made inside is not root's on the
// host); a kept upper records its mode and refuses the other one; a committed layer stores 0-based
// ids in a 0700 directory and reads the same under either mode.
import { execFileSync } from 'node:child_process';
import { chownSync, mkdirSync, readFileSync, readdirSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { DISK_DIR } from '../helpers/disk.js';
import { buildBusyboxImage, imageUnavailable } from '../helpers/image.js';
import { cleanUpAfterEach, detached, initPid, scratchDir, waitInside } from '../helpers/lifecycle.js';
import { cli, idmapUnavailable, sandboxUnavailable } from '../helpers/sandbox.js';
import { requireOrSkip, type Missing } from '../helpers/skip.js';

const skip = requireOrSkip(sandboxUnavailable()) || requireOrSkip(imageUnavailable());
const RANGE = 100000;
/** ioctl_ns(2): NS_GET_OWNER_UID = _IO(0xb7, 0x4), the owner of a user namespace, as a uid of the caller's. */
const OWNER_OF =
  'import fcntl,os,struct,sys\nfd=os.open(sys.argv[1], os.O_RDONLY)\nprint(struct.unpack("I", fcntl.ioctl(fd, 0xb704, b"\\0"*4))[0])';
/** The test's environment without sudo's variables (the suite may run under sudo). */
const ENV = Object.fromEntries(Object.entries(process.env).filter(([k]) => k !== 'SUDO_UID' && k !== 'SUDO_GID'));

/** uid, gid and permission bits of a host path (not followed). */
function owner(path: string): { uid: number; gid: number; mode: number } {
  const st = statSync(path);
  return { uid: st.uid, gid: st.gid, mode: st.mode & 0o7777 };
}

/** What root does to its image inside, printed as owner, group and mode of what it touched. */
const ROOT_WORK = [
  'echo changed >> /etc/image-marker',
  'chown 1000:1001 /etc/image-marker',
  'mkdir /opt',
  'echo x > /opt/suid',
  'chmod 4755 /opt/suid',
  'rm /etc/group',
  'echo "app:x:1000:1001::/:/bin/sh" >> /etc/passwd',
  'stat -c "%u:%g %a %n" / /bin/busybox /etc/image-marker /opt/suid',
  'cat /etc/image-marker',
  'test -e /etc/group || echo no-group',
].join('; ');

describe.skipIf(skip)('the default user namespace with a root of its own', () => {
  cleanUpAfterEach();
  // The image on a disk (the v2 VM's ext4 test disk: its /tmp is a tmpfs that Linux 6.1 can't
  // ID-map), so the layers are mapped on that kernel too.
  const scratch = scratchDir(DISK_DIR, 'sandbox-userns-rootfs-');
  let image = '';
  let lacks: Missing | null = null;
  beforeAll(() => {
    image = join(scratch(), 'image');
    buildBusyboxImage(image);
    lacks = idmapUnavailable(image);
  });
  /** Skip (visibly) where the kernel can't ID-map the scratch file system; the one-line refusal is tested below. */
  const mappable = (): boolean => !requireOrSkip(lacks);

  it("root inside is the range's base outside and owns its user namespace; inside, the image's files are root's", async (ctx) => {
    if (!mappable()) return ctx.skip();
    const id = await detached([
      '--rootfs',
      image,
      '--',
      '/bin/sh',
      '-c',
      'cat /proc/self/uid_map > /tmp/map; ls -ln /bin/busybox /etc > /tmp/ls; touch /tmp/ready; exec sleep 100',
    ]);
    await waitInside(id, '/tmp/ready');
    const pid1 = initPid(id);
    expect(readFileSync(`/proc/${pid1}/status`, 'utf8')).toMatch(
      new RegExp(`^Uid:\\s+${RANGE}\\s+${RANGE}\\s+${RANGE}\\s+${RANGE}$`, 'm'),
    );
    expect(
      Number(
        execFileSync('python3', ['-c', OWNER_OF, `/proc/${pid1}/ns/user`])
          .toString()
          .trim(),
      ),
    ).toBe(RANGE);
    expect(readFileSync(`/proc/${pid1}/root/tmp/map`, 'utf8').trim().split(/\s+/)).toEqual([
      '0',
      String(RANGE),
      '65536',
    ]);
    const ls = readFileSync(`/proc/${pid1}/root/tmp/ls`, 'utf8');
    expect(ls).toMatch(/^-rwxr-xr-x\s+1 0\s+0\s.*\/bin\/busybox$/m);
    expect(ls).toMatch(/^-rw-r--r--\s+1 0\s+0\s.*image-marker$/m);
  });

  it('root inside writes, chowns, chmods and deletes in the image as before; the image itself is untouched', async (ctx) => {
    if (!mappable()) return ctx.skip();
    const before = readFileSync(join(image, 'etc', 'image-marker'), 'utf8');
    const r = await cli(['run', '--rootfs', image, '--', '/bin/sh', '-c', ROOT_WORK], { env: ENV });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(
      `0:0 755 /\n0:0 755 /bin/busybox\n1000:1001 644 /etc/image-marker\n0:0 4755 /opt/suid\n${before}changed\nno-group\n`,
    );
    expect(readFileSync(join(image, 'etc', 'image-marker'), 'utf8')).toBe(before);
    expect(owner(join(image, 'etc', 'image-marker'))).toEqual({ uid: 0, gid: 0, mode: 0o644 });
    expect(readdirSync(image)).not.toContain('opt');
  });

  it("--keep: the kept upper holds the range's ids (a set-user-ID file is not root's), DIR is 0700, reused it reads as before", async (ctx) => {
    if (!mappable()) return ctx.skip();
    const keep = join(scratch(), 'kept');
    const r = await cli(['run', '--rootfs', image, '--keep', keep, '--', '/bin/sh', '-c', ROOT_WORK], { env: ENV });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(owner(keep).mode).toBe(0o700);
    expect(readFileSync(join(keep, 'ids'), 'utf8')).toBe(`userns ${RANGE}:${RANGE}:65536\n`);
    // On the host: set-user-ID the range's base, never uid 0; the chowned file is the range's 1000.
    expect(owner(join(keep, 'upper', 'opt', 'suid'))).toEqual({ uid: RANGE, gid: RANGE, mode: 0o4755 });
    expect(owner(join(keep, 'upper', 'etc', 'image-marker'))).toMatchObject({ uid: RANGE + 1000, gid: RANGE + 1001 });
    expect(owner(join(keep, 'upper'))).toMatchObject({ uid: RANGE, gid: RANGE });
    const again = await cli(
      [
        'run',
        '--rootfs',
        image,
        '--keep',
        keep,
        '--',
        '/bin/sh',
        '-c',
        'stat -c "%u:%g %a %n" / /opt/suid /etc/image-marker; touch /opt/second',
      ],
      { env: ENV },
    );
    expect(again.stderr).toBe('');
    expect(again.stdout).toBe('0:0 755 /\n0:0 4755 /opt/suid\n1000:1001 644 /etc/image-marker\n');
    expect(again.code).toBe(0);
  });

  it('--keep refuses the other mode in one line: a shifted upper under --userns=host, a host-root upper under the default', async (ctx) => {
    if (!mappable()) return ctx.skip();
    const shifted = join(scratch(), 'kept-shifted');
    expect(
      (await cli(['run', '--rootfs', image, '--keep', shifted, '--', '/bin/touch', '/f'], { env: ENV })).code,
    ).toBe(0);
    const host = await cli(['run', '--userns=host', '--rootfs', image, '--keep', shifted, '--', '/bin/touch', '/g'], {
      env: ENV,
    });
    expect(host.code).toBe(125);
    expect(host.stderr).toBe(
      `sandbox: --keep: "${shifted}" holds a writable layer kept under the default user namespace (host ids ${RANGE}:${RANGE}:65536), not --userns=host (0-based ids): run without --userns=host, or choose another DIR\n`,
    );
    expect(readdirSync(join(shifted, 'upper')).sort()).toEqual(['etc', 'f']); // etc: the init files' mount points
    // A layer kept before the record existed (no DIR/ids, files in DIR/upper) was written by host root.
    const old = join(scratch(), 'kept-before');
    mkdirSync(join(old, 'upper'), { recursive: true });
    mkdirSync(join(old, 'work'));
    writeFileSync(join(old, 'upper', 'f'), 'old\n');
    const dflt = await cli(['run', '--rootfs', image, '--keep', old, '--', '/bin/touch', '/g'], { env: ENV });
    expect(dflt.code).toBe(125);
    expect(dflt.stderr).toBe(
      `sandbox: --keep: "${old}" holds a writable layer kept under --userns=host (0-based ids), not the default user namespace (host ids ${RANGE}:${RANGE}:65536): add --userns=host, or choose another DIR\n`,
    );
    const hostOk = await cli(['run', '--userns=host', '--rootfs', image, '--keep', old, '--', '/bin/cat', '/f'], {
      env: ENV,
    });
    expect(hostOk.stderr).toBe('');
    expect(hostOk.stdout).toBe('old\n');
  });

  it("a kept upper as a --layer: read as it is under the same range (root's inside, set-id still not root's on the host); refused under --userns=host", async (ctx) => {
    if (!mappable()) return ctx.skip();
    const keep = join(scratch(), 'kept-layer');
    expect(
      (await cli(['run', '--rootfs', image, '--keep', keep, '--', '/bin/sh', '-c', ROOT_WORK], { env: ENV })).code,
    ).toBe(0);
    const upper = join(keep, 'upper');
    const r = await cli(
      [
        'run',
        '--rootfs',
        image,
        '--layer',
        upper,
        '--',
        '/bin/sh',
        '-c',
        'stat -c "%u:%g %a %n" /opt/suid /etc/image-marker; echo more >> /etc/image-marker && chmod 4700 /opt/suid && echo written',
      ],
      { env: ENV },
    );
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('0:0 4755 /opt/suid\n1000:1001 644 /etc/image-marker\nwritten\n');
    expect(r.code).toBe(0);
    expect(owner(join(upper, 'opt', 'suid'))).toEqual({ uid: RANGE, gid: RANGE, mode: 0o4755 }); // the layer itself untouched
    const host = await cli(['run', '--userns=host', '--rootfs', image, '--layer', upper, '--', '/bin/true'], {
      env: ENV,
    });
    expect(host.code).toBe(125);
    expect(host.stderr).toBe(
      `sandbox: --layer: "${upper}" was kept under the default user namespace (host ids ${RANGE}:${RANGE}:65536): run without --userns=host; \`sandbox commit\` makes a 0-based layer of it\n`,
    );
  });

  it('--keep: a DIR/ids symlink (planted by an earlier sandbox in its cwd) is refused, its target neither read nor written', async () => {
    const keep = join(scratch(), 'kept-planted');
    const canary = join(scratch(), 'ids-canary');
    mkdirSync(keep);
    writeFileSync(canary, 'host ids\n');
    symlinkSync(canary, join(keep, 'ids'));
    const r = await cli(['run', '--rootfs', image, '--keep', keep, '--', '/bin/true'], { env: ENV });
    expect(r.code).toBe(125);
    expect(r.stderr).toBe(
      `sandbox: --keep: "${keep}/ids" is not a regular file: it records which ids the kept layer holds (remove it, or choose another DIR)\n`,
    );
    expect(readFileSync(canary, 'utf8')).toBe('host ids\n');
    expect(readdirSync(keep)).toEqual(['ids']);
  });

  it("commit stores 0-based ids in a 0700 DIR (a set-user-ID file root's only there); the layer reads the same under either mode", async (ctx) => {
    if (!mappable()) return ctx.skip();
    const id = await detached([
      '--rootfs',
      image,
      '--',
      '/bin/sh',
      '-c',
      `${ROOT_WORK} > /dev/null; touch /ready; exec sleep 100`,
    ]);
    await waitInside(id, '/ready');
    const out = join(scratch(), 'committed');
    const r = await cli(['commit', id, out]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(owner(out)).toEqual({ uid: 0, gid: 0, mode: 0o700 });
    expect(owner(join(out, 'opt', 'suid'))).toEqual({ uid: 0, gid: 0, mode: 0o4755 });
    expect(owner(join(out, 'etc', 'image-marker'))).toMatchObject({ uid: 1000, gid: 1001 });
    expect(owner(join(out, 'opt'))).toMatchObject({ uid: 0, gid: 0 });
    const probe = 'stat -c "%u:%g %a %n" /opt/suid /etc/image-marker; test -e /etc/group || echo no-group';
    const expected = '0:0 4755 /opt/suid\n1000:1001 644 /etc/image-marker\nno-group\n';
    for (const mode of [[], ['--userns=host']]) {
      const s = await cli(['run', ...mode, '--rootfs', image, '--layer', out, '--', '/bin/sh', '-c', probe], {
        env: ENV,
      });
      expect(s.stderr).toBe('');
      expect(s.stdout).toBe(expected);
    }
  });

  it("a writable volume of SUDO_UID is ID-mapped in a root of its own too: a set-user-ID file there is that user's", async (ctx) => {
    if (!mappable()) return ctx.skip();
    const vol = join(scratch(), 'vol-4242');
    mkdirSync(vol);
    chownSync(vol, 4242, 4243);
    const r = await cli(
      [
        'run',
        '--rootfs',
        image,
        '-v',
        `${vol}:/data`,
        '--',
        '/bin/sh',
        '-c',
        'echo x > /data/suid; chmod 4755 /data/suid; stat -c "%u:%g %a" /data /data/suid',
      ],
      { env: { ...ENV, SUDO_UID: '4242', SUDO_GID: '4243' } },
    );
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('0:0 755\n0:0 4755\n');
    expect(owner(join(vol, 'suid'))).toEqual({ uid: 4242, gid: 4243, mode: 0o4755 });
  });

  it("a layer whose file system can't be ID-mapped: one line naming it and --userns=host, exit 125, nothing left", async () => {
    // sysfs never allows ID-mapped mounts (no FS_ALLOW_IDMAP), on every kernel.
    const r = await cli(['run', '--rootfs', '/sys/kernel', '--', '/bin/true'], { env: ENV });
    expect(r.code).toBe(125);
    expect(r.stderr).toMatch(
      /^sandbox: stage: --rootfs\/--layer: mount_setattr\(\/sys\/kernel, MOUNT_ATTR_IDMAP: its file system can't be ID-mapped; --userns=host runs without\): .* \(errno \d+\)\n$/,
    );
  });
});
