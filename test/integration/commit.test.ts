// `sandbox commit` for real: a running --rootfs sandbox changes files and directories, its layer is
// committed while it is frozen, and a new sandbox stacked on the committed layer sees exactly those
// changes (a deleted file absent, a replaced directory opaque, its own init files, no volume).
import { execFileSync } from 'node:child_process';
import { lstatSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildBusyboxImage, imageUnavailable } from '../helpers/image.js';
import { cgroupDir, cleanUpAfterEach, detached, initPid, scratchDir, waitInside } from '../helpers/lifecycle.js';
import { cli, finish, sandboxUnavailable, startCli } from '../helpers/sandbox.js';
import { requireOrSkip } from '../helpers/skip.js';
import { waitFor } from '../helpers/wait.js';

const skip = requireOrSkip(sandboxUnavailable() ?? imageUnavailable());

/** xattrs of a path (python3: Node has no xattr calls), as name -> value. */
function xattrs(path: string): Record<string, string> {
  const script =
    'import os,sys,json; p=sys.argv[1]; print(json.dumps({k: os.getxattr(p,k,follow_symlinks=False).decode() for k in os.listxattr(p,follow_symlinks=False)}))';
  return JSON.parse(execFileSync('python3', ['-c', script, path], { encoding: 'utf8' }));
}

describe.skipIf(skip)('sandbox commit', () => {
  const dir = scratchDir(tmpdir(), 'sandbox-commit-');
  let image: string;
  beforeAll(() => {
    image = join(dir(), 'image');
    buildBusyboxImage(image);
    mkdirSync(join(image, 'opt', 'old'), { recursive: true });
    writeFileSync(join(image, 'opt', 'old', 'a'), 'lower a\n');
    writeFileSync(join(image, 'etc', 'gone'), 'delete me\n');
    writeFileSync(join(image, 'etc', 'keep'), 'original\n');
  });
  cleanUpAfterEach();

  it('commits new, changed and deleted files, a replaced dir, links, owners and holes; not the init files or volumes', async () => {
    const volume = join(dir(), 'volume');
    mkdirSync(volume);
    const script = [
      'echo new > /new-file',
      'chown 123:456 /new-file',
      'chmod 0640 /new-file',
      'touch -d "2001-02-03 04:05:06" /new-file',
      'ln /new-file /hard',
      'ln -s new-file /sym',
      'echo changed > /etc/keep',
      'rm /etc/gone',
      'rm -rf /opt/old',
      'mkdir /opt/old',
      'echo fresh > /opt/old/c',
      'dd if=/dev/zero of=/sparse bs=1 count=1 seek=10485759 2>/dev/null',
      'echo v > /data/in-volume',
      'echo t > /scratch/in-tmpfs',
      'touch /ready',
      'exec sleep 1000',
    ].join('; ');
    const id = await detached([
      '--rootfs',
      image,
      '--hostname',
      'first-box',
      '-v',
      `${volume}:/mnt/vol/data`,
      '--tmpfs',
      '/scratch',
      '--',
      '/bin/sh',
      '-c',
      script.replace('/data/', '/mnt/vol/data/'),
    ]);
    await waitInside(id, '/ready');
    const out = join(dir(), 'committed');
    const r = await cli(['commit', id, out]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(`${out}\n`);

    // On the host: what overlayfs needs to read it as a layer.
    const gone = lstatSync(join(out, 'etc', 'gone'));
    expect(gone.isCharacterDevice() && gone.rdev === 0).toBe(true); // a whiteout
    expect(xattrs(join(out, 'opt', 'old'))).toEqual({ 'trusted.overlay.opaque': 'y' });
    const file = lstatSync(join(out, 'new-file'));
    expect([file.uid, file.gid, file.mode & 0o7777, file.nlink]).toEqual([123, 456, 0o640, 2]);
    expect(file.mtime.getFullYear()).toBe(2001);
    expect(lstatSync(join(out, 'hard')).ino).toBe(file.ino);
    const sparse = lstatSync(join(out, 'sparse'));
    expect(sparse.size).toBe(10485760);
    expect(sparse.blocks * 512).toBeLessThan(1 << 20);
    const top = readdirSync(out).sort();
    expect(top).toEqual(['etc', 'hard', 'new-file', 'opt', 'ready', 'sparse', 'sym']); // no mnt, scratch, proc, tmp …
    expect(readdirSync(join(out, 'etc')).sort()).toEqual(['gone', 'keep']); // no hostname, hosts, resolv.conf

    // A new sandbox on the committed layer sees exactly those changes.
    const probe =
      'cat /new-file /etc/keep /etc/hostname; test -e /etc/gone || echo gone; ls /opt/old; readlink /sym; ls /mnt 2>&1; stat -c "%u:%g %a" /new-file';
    const second = await cli([
      'run',
      '--rootfs',
      image,
      '--layer',
      out,
      '--hostname',
      'second-box',
      '--',
      '/bin/sh',
      '-c',
      probe,
    ]);
    expect(second.stderr).toBe('');
    expect(second.code).toBe(0);
    expect(second.stdout).toBe(
      'new\nchanged\nsecond-box\ngone\nc\nnew-file\nls: /mnt: No such file or directory\n123:456 640\n',
    );
  });

  it('freezes the sandbox while it copies: a writer inside stops, the copy holds the value it stopped at', async () => {
    // rename(2) replaces /counter whole: a reader never sees it truncated and empty.
    const writer =
      'head -c 200000000 /dev/zero > /big; i=0; while true; do i=$((i+1)); echo $i > /c.new; mv /c.new /counter; done';
    const id = await detached(['--rootfs', image, '--', '/bin/sh', '-c', writer]);
    await waitInside(id, '/counter');
    const freezerState = `${cgroupDir(id, 'freezer')}/freezer.state`;
    const counter = `/proc/${initPid(id)}/root/counter`;
    const out = join(dir(), 'frozen');
    const commit = finish(startCli(['commit', id, out]));
    let frozenAt: string | null = null;
    let done = false;
    void commit.then(() => (done = true));
    while (!done && frozenAt === null) {
      if (readFileSync(freezerState, 'utf8').trim() !== 'FROZEN') {
        await new Promise((r) => setTimeout(r, 1));
        continue;
      }
      const first = readFileSync(counter, 'utf8');
      await new Promise((r) => setTimeout(r, 50));
      const second = readFileSync(counter, 'utf8');
      if (readFileSync(freezerState, 'utf8').trim() === 'FROZEN') {
        expect(second).toBe(first); // 50 ms frozen: the loop did not advance
        frozenAt = first;
      }
    }
    const r = await commit;
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(frozenAt).not.toBeNull(); // the copy of 200 MB took long enough to be seen frozen
    expect(readFileSync(join(out, 'counter'), 'utf8')).toBe(frozenAt);
    expect(readFileSync(freezerState, 'utf8').trim()).toBe('THAWED');
    const before = readFileSync(counter, 'utf8');
    await waitFor(() => readFileSync(counter, 'utf8') !== before, 'the loop to run again after the thaw'); // running again
  });

  it('commits the kept layer of a --keep sandbox (the upper under DIR/upper)', async () => {
    const keep = join(dir(), 'keep');
    const id = await detached([
      '--rootfs',
      image,
      '--keep',
      keep,
      '--',
      '/bin/sh',
      '-c',
      'echo kept > /k; rm /etc/keep; touch /ready; exec sleep 1000',
    ]);
    await waitInside(id, '/ready');
    const out = join(dir(), 'from-keep');
    const r = await cli(['commit', id, out]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const second = await cli([
      'run',
      '--rootfs',
      image,
      '--layer',
      out,
      '--',
      '/bin/sh',
      '-c',
      'cat /k; test -e /etc/keep || echo no-keep',
    ]);
    expect(second.stdout).toBe('kept\nno-keep\n');
  });
});
