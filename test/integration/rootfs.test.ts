// A root filesystem of its own (--rootfs, --layer, --keep, --read-only) and the mounts added to any
// root (-v, --tmpfs), run for real: pivot_root and overlayfs inside the sandbox's private mount
// namespace, on a busybox image the test assembles from local files (no network). The host's
// procps top/free and coreutils nproc copied into the image must report the limits exactly as they
// do on the host root.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  readlinkSync,
  rmSync,
  writeFileSync,
  existsSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { buildBusyboxImage, imageUnavailable } from '../helpers/image.js';
import { CLI, cli, finish, leftovers, removeLeftoverCgroups, sandboxUnavailable } from '../helpers/sandbox.js';
import { requireOrSkip } from '../helpers/skip.js';

const skip = requireOrSkip(sandboxUnavailable() ?? imageUnavailable());
const LIMITS = ['--cpu', '100%', '--mem', '256M'];

/** A digest of a tree: every path, type, mode, size, mtime, content and link target (not atime). */
function treeHash(root: string): string {
  const h = createHash('sha256');
  const walk = (dir: string): void => {
    for (const name of readdirSync(dir).sort()) {
      const path = join(dir, name);
      const st = lstatSync(path);
      h.update(`${path.slice(root.length)}\0${st.mode}\0${st.size}\0${st.mtimeMs}\0${st.uid}:${st.gid}\0`);
      if (st.isSymbolicLink()) h.update(readlinkSync(path));
      else if (st.isFile()) h.update(readFileSync(path));
      else if (st.isDirectory()) walk(path);
    }
  };
  walk(root);
  return h.digest('hex');
}

describe.skipIf(skip)('sandbox run --rootfs / --layer / -v / --tmpfs', () => {
  let dir: string;
  let image: string;
  let layer: string;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'sandbox-rootfs-'));
    image = join(dir, 'image');
    buildBusyboxImage(image);
    layer = join(dir, 'layer');
    mkdirSync(join(layer, 'etc'), { recursive: true });
    mkdirSync(join(layer, 'opt'), { recursive: true });
    writeFileSync(join(layer, 'etc', 'image-marker'), 'from the layer\n');
    writeFileSync(join(layer, 'opt', 'only-in-layer'), 'layer file\n');
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  afterEach(() => {
    const left = leftovers();
    removeLeftoverCgroups();
    expect(left).toEqual([]);
  });

  /** Run a busybox shell snippet in the image. */
  const sh = (script: string, flags: string[] = []) =>
    cli(['run', ...LIMITS, '--rootfs', image, ...flags, '--', '/bin/sh', '-c', script]);

  it('-t in an image: the workload gets a pty of the sandbox devpts', async () => {
    const child = spawn(process.execPath, [
      CLI,
      'run',
      ...LIMITS,
      '--rootfs',
      image,
      '-t',
      '--',
      '/bin/sh',
      '-c',
      'cat; tty',
    ]);
    child.stdin!.end('typed\n');
    const r = await finish(child);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('typed');
    expect(r.stdout).toMatch(/^\/dev\/pts\/\d+\r?$/m);
  });

  it('pivots into the image: the host tree is gone, / is its own parent, only the sandbox mounts are left', async () => {
    const r = await sh(
      'cat /etc/image-marker; test -e /etc/os-release && echo HOST; ls -di / /.. | while read i p; do echo $i; done | uniq | wc -l; pwd; cut -d" " -f5 /proc/self/mountinfo',
    );
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const [marker, inodes, pwd, ...points] = r.stdout.trim().split('\n');
    expect(marker).toBe('busybox test image');
    expect(r.stdout).not.toContain('HOST');
    expect(inodes).toBe('1');
    expect(pwd).toBe('/');
    const allowed = /^(\/|\/proc(\/.*)?|\/sys(\/.*)?|\/dev(\/.*)?|\/tmp|\/etc\/(hostname|hosts|resolv\.conf))$/;
    expect(points.filter((p) => !allowed.test(p))).toEqual([]);
    expect(points).toContain('/tmp');
    expect(points.filter((p) => p === '/')).toHaveLength(1); // the old root is detached, not stacked
  });

  it('provides /proc, a minimal /dev, /sys read-only, a tmpfs /tmp and /etc/hostname, hosts, resolv.conf', async () => {
    const r = await sh(
      'ls /dev | tr "\\n" " "; echo; test -d /proc/self && echo proc; grep " /tmp " /proc/mounts | cut -d" " -f3; ' +
        'grep " /sys " /proc/mounts | tail -1 | cut -d" " -f4 | cut -d, -f1; touch /sys/x 2>/dev/null || echo sys-ro; ' +
        'cat /etc/hostname; grep -c box-7 /etc/hosts; cat /etc/resolv.conf; (echo x > /etc/hosts) 2>/dev/null || echo hosts-ro',
      ['--hostname', 'box-7', '--net', 'none'],
    );
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines[0]!.trim().split(' ').sort()).toEqual([
      'fd',
      'full',
      'null',
      'ptmx',
      'pts',
      'random',
      'shm',
      'stderr',
      'stdin',
      'stdout',
      'tty',
      'urandom',
      'zero',
    ]);
    expect(lines.slice(1)).toEqual([
      'proc',
      'tmpfs',
      'ro',
      'sys-ro',
      'box-7',
      '1',
      '# sandbox --net none: no network, no name servers',
      'hosts-ro',
    ]);
  });

  it('shows the limits in /proc/meminfo, nproc, procps free and top exactly as on the host root', async () => {
    const probe = [
      'grep -E "^(MemTotal|SwapTotal):" /proc/meminfo',
      '/usr/bin/nproc',
      "/usr/bin/free -b | awk 'NR>1 {print $1, $2}'",
      '/usr/bin/top -b -n 1 | grep -E "^(MiB Mem|MiB Swap)" | cut -d, -f1',
    ].join('; ');
    const inImage = await cli(['run', ...LIMITS, '--rootfs', image, '--', '/bin/sh', '-c', probe]);
    const onHost = await cli(['run', ...LIMITS, '--', 'sh', '-c', probe]);
    expect(inImage.stderr).toBe('');
    expect(onHost.stderr).toBe('');
    expect(inImage.code).toBe(0);
    expect(inImage.stdout).toBe(onHost.stdout);
    expect(inImage.stdout).toContain('MemTotal:         262144 kB');
    expect(inImage.stdout).toContain('\n1\n');
    expect(inImage.stdout).toContain('Mem: 268435456');
    expect(inImage.stdout).toContain('MiB Mem :    256.0 total');
  });

  it('writes go to a throwaway layer: the image and the layers are never modified', async () => {
    const before = [treeHash(image), treeHash(layer)];
    const r = await cli([
      'run',
      ...LIMITS,
      '--rootfs',
      image,
      '--layer',
      layer,
      '--',
      '/bin/sh',
      '-c',
      'cat /etc/image-marker /opt/only-in-layer; echo changed > /etc/image-marker; rm /opt/only-in-layer /bin/ls; ' +
        'mkdir -p /new/dir && echo n > /new/dir/f; echo a >> /etc/passwd; chmod 700 /etc; cat /etc/image-marker',
    ]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('from the layer\nlayer file\nchanged\n');
    expect([treeHash(image), treeHash(layer)]).toEqual(before);
    const again = await cli([
      'run',
      ...LIMITS,
      '--rootfs',
      image,
      '--layer',
      layer,
      '--',
      '/bin/sh',
      '-c',
      'cat /etc/image-marker; test -e /new && echo leaked; test -e /bin/ls && echo ls',
    ]);
    expect(again.stdout).toBe('from the layer\nls\n');
  });

  it('--layer alone is a root: layers stack lowest first', async () => {
    const r = await cli([
      'run',
      ...LIMITS,
      '--layer',
      image,
      '--layer',
      layer,
      '--',
      '/bin/cat',
      '/etc/image-marker',
      '/etc/passwd',
    ]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout.split('\n')[0]).toBe('from the layer');
    const swapped = await cli([
      'run',
      ...LIMITS,
      '--layer',
      layer,
      '--layer',
      image,
      '--',
      '/bin/cat',
      '/etc/image-marker',
    ]);
    expect(swapped.stdout).toBe('busybox test image\n');
  });

  it('--keep DIR keeps the writable layer, usable as a layer of the next run', async () => {
    const keep = join(dir, 'kept');
    const before = treeHash(image);
    const r = await sh('echo kept > /root/file; rm /etc/image-marker', ['--keep', keep]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(readFileSync(join(keep, 'upper', 'root', 'file'), 'utf8')).toBe('kept\n');
    expect(lstatSync(join(keep, 'upper', 'etc', 'image-marker')).isCharacterDevice()).toBe(true); // an overlay whiteout
    expect(treeHash(image)).toBe(before);
    const next = await sh('cat /root/file; test -e /etc/image-marker || echo gone', ['--layer', join(keep, 'upper')]);
    expect(next.stdout).toBe('kept\ngone\n');
  });

  it('--read-only: no writable layer, but /tmp, volumes and --tmpfs stay writable', async () => {
    const vol = join(dir, 'vol-ro-root');
    mkdirSync(vol, { recursive: true });
    const r = await sh(
      'touch /x 2>/dev/null || echo root-ro; touch /tmp/x && echo tmp-rw; echo v > /data/f && echo vol-rw; touch /scratch/x && echo tmpfs-rw; cat /etc/hostname',
      [
        '--userns=host',
        '--read-only',
        '-v',
        `${vol}:/data`,
        '--tmpfs',
        '/scratch',
        '--hostname',
        'ro-box', // host root writes the root-owned volume
      ],
    );
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('root-ro\ntmp-rw\nvol-rw\ntmpfs-rw\nro-box\n');
    expect(readFileSync(join(vol, 'f'), 'utf8')).toBe('v\n');
  });

  it('-v binds host paths writable or :ro, creating missing targets in the image', async () => {
    const rw = join(dir, 'vol-rw');
    const ro = join(dir, 'vol-ro');
    mkdirSync(rw, { recursive: true });
    mkdirSync(ro, { recursive: true });
    writeFileSync(join(ro, 'in'), 'host file\n');
    const r = await sh('echo out > /mnt/rw/out; cat /deep/ro/in; (echo x > /deep/ro/in) 2>/dev/null || echo ro', [
      '--userns=host',
      '-v',
      `${rw}:/mnt/rw`,
      '--volume',
      `${ro}:/deep/ro:ro`,
    ]); // host root writes the root-owned volume
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('host file\nro\n');
    expect(readFileSync(join(rw, 'out'), 'utf8')).toBe('out\n');
    expect(existsSync(join(image, 'mnt'))).toBe(false);
  });

  it('-v and --read-only on the host root: volumes work, the workdir is not bound writable', async () => {
    const vol = join(dir, 'vol-host');
    mkdirSync(vol, { recursive: true });
    const r = await cli(
      [
        'run',
        '--userns=host',
        ...LIMITS,
        '--read-only',
        '-v',
        `${vol}:/tmp/vol`,
        '--',
        'sh',
        '-c',
        'echo h > /tmp/vol/f; touch ./x 2>/dev/null || echo cwd-ro; pwd',
      ],
      { cwd: dir },
    );
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(`cwd-ro\n${dir}\n`);
    expect(readFileSync(join(vol, 'f'), 'utf8')).toBe('h\n');
  });

  it('--tmpfs DST:SIZE mounts a private tmpfs of that size, nested mounts parents first', async () => {
    const vol = join(dir, 'vol-nest');
    mkdirSync(vol, { recursive: true });
    const r = await sh(
      'df -k /scratch | tail -1 | awk "{print \\$2}"; dd if=/dev/zero of=/scratch/f bs=1024 count=2048 2>/dev/null || echo full; grep " /data/cache " /proc/mounts | cut -d" " -f3',
      ['--tmpfs', '/data/cache:64K', '--tmpfs', '/scratch:1M', '-v', `${vol}:/data`],
    );
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('1024\nfull\ntmpfs\n');
    expect(readdirSync(vol)).toEqual(['cache']); // the tmpfs's mount point, made inside the volume
  });

  it('sandbox exec enters the image of a detached sandbox (setns lands on the new root)', async () => {
    const name = `rootfs-exec-${process.pid}`;
    const started = await cli(['run', '-d', '--name', name, ...LIMITS, '--rootfs', image, '--', '/bin/sleep', '30']);
    expect(started.stderr).toBe('');
    expect(started.code).toBe(0);
    try {
      const r = await cli([
        'exec',
        name,
        '--',
        '/bin/sh',
        '-c',
        'cat /etc/image-marker; pwd; test -e /etc/os-release || echo no-host',
      ]);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      expect(r.stdout).toBe('busybox test image\n/\nno-host\n');
    } finally {
      const stopped = await cli(['stop', '--time', '1', name]);
      expect(stopped.code).toBe(0);
    }
  });

  const oneLineError = (r: { code: number | null; stderr: string; stdout: string }, pattern: RegExp) => {
    expect(r.code).toBe(125);
    expect(r.stdout).toBe('');
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(pattern);
  };

  it('rejects a missing or non-directory rootfs, a missing layer and bad --keep, -v, --tmpfs values (125, one line)', async () => {
    const file = join(dir, 'a-file');
    writeFileSync(file, 'x');
    oneLineError(
      await cli(['run', '--rootfs', join(dir, 'nope'), '--', 'true']),
      /^sandbox: --rootfs: no such directory ".*nope"$/m,
    );
    oneLineError(
      await cli(['run', '--rootfs', file, '--', 'true']),
      /^sandbox: --rootfs: not a directory: ".*a-file"$/m,
    );
    oneLineError(
      await cli(['run', '--rootfs', image, '--layer', join(dir, 'missing-layer'), '--', 'true']),
      /^sandbox: --layer: no such directory ".*missing-layer"$/m,
    );
    oneLineError(await cli(['run', '--keep', join(dir, 'k'), '--', 'true']), /^sandbox: --keep: .*neither is given/m);
    oneLineError(
      await cli(['run', '--rootfs', image, '--read-only', '--keep', join(dir, 'k'), '--', 'true']),
      /^sandbox: --keep: has nothing to keep with --read-only/m,
    );
    oneLineError(
      await cli(['run', '-v', `${join(dir, 'no-src')}:/x`, '--', 'true']),
      /^sandbox: --volume: no such file or directory/m,
    );
    oneLineError(
      await cli(['run', '-v', `${dir}:relative`, '--', 'true']),
      /^sandbox: --volume: the target must be an absolute path/m,
    );
    oneLineError(await cli(['run', '--tmpfs', '/x:lots', '--', 'true']), /^sandbox: --tmpfs: expected a size/m);
    expect(existsSync(join(dir, 'k'))).toBe(false);
  });

  it('a volume target that cannot be created fails with 125, one line, nothing mounted left behind', async () => {
    // On the read-only host root a missing target can't be made (EROFS)...
    const onHost = await cli(['run', ...LIMITS, '-v', `${dir}:/nonexistent-sandbox-target/x`, '--', 'true']);
    oneLineError(
      onHost,
      /^sandbox: stage: --volume: mkdir\(\/nonexistent-sandbox-target\): Read-only file system \(errno 30\)$/m,
    );
    // ...nor under a file of the image (ENOTDIR).
    const inImage = await sh('true', ['-v', `${dir}:/etc/image-marker/x`]);
    oneLineError(inImage, /^sandbox: stage: --volume: .*\/etc\/image-marker.*Not a directory \(errno 20\)$/m);
  });
});
