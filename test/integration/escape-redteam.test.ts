// Issue 19's red-team findings 1, 3 and 4, tried for real from inside sandboxes: each attack aims
// only at canaries this file creates (a canary file and directory, 1:3 device nodes, copies of the
// probe) in its own temp dir, or in its own dir under /var/tmp where the sandbox's /tmp would hide
// it; never at the host's own files. The attacks are test/integration/redteam-probe.c, built static
// and copied into a busybox image. Finding 2: escape-sockets.test.ts; finding 8 (but the view
// server's memory cap, issue 20): escape-small.test.ts.
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildBusyboxImage, imageUnavailable } from '../helpers/image.js';
import { cleanUpAfterEach, detached } from '../helpers/lifecycle.js';
import { cli, sandboxUnavailable } from '../helpers/sandbox.js';
import { requireOrSkip } from '../helpers/skip.js';

const skip = requireOrSkip(sandboxUnavailable() ?? imageUnavailable());
const PROBE_SOURCE = new URL('./redteam-probe.c', import.meta.url).pathname;
const PROBE = '/bin/redteam-probe';

/** "NAME RESULT" lines as [name, result] pairs. */
const results = (stdout: string): [string, string][] =>
  stdout
    .trim()
    .split('\n')
    .filter((l) => / /.test(l))
    .map((l) => [l.slice(0, l.lastIndexOf(' ')), l.slice(l.lastIndexOf(' ') + 1)]);

describe.skipIf(skip)('issue 19: the red-team findings stay closed', () => {
  let dir: string;
  let image: string;
  let canary: string;
  let n = 0;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'sandbox-redteam-'));
    image = join(dir, 'image');
    buildBusyboxImage(image);
    execFileSync('cc', ['-static', '-O0', '-Wall', '-o', join(image, PROBE), PROBE_SOURCE]);
    canary = join(dir, 'canary');
    mkdirSync(canary);
    writeFileSync(join(canary, 'canary'), 'host canary\n');
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  cleanUpAfterEach();

  /** A fresh --keep DIR beside the canary directory: from DIR/upper, "../../canary" is the canary. */
  const keepDir = (): string => join(dir, `keep${++n}`);

  /** Every attack line failed (none says OK), and the canary directory holds only the canary. */
  function expectRefused(stdout: string, keep?: string): void {
    const lines = results(stdout);
    expect(lines.length).toBeGreaterThan(0);
    expect(lines.filter(([, r]) => r === 'OK')).toEqual([]);
    expect(readdirSync(canary)).toEqual(['canary']);
    if (keep) expect(readdirSync(join(keep, 'upper')).filter((f) => f.startsWith('planted'))).toEqual([]);
  }

  describe("finding 1: PID 1's descriptor of the writable upper leads nowhere", () => {
    it('--rootfs IMG --keep K: /proc/1/fd/99/.. and pidfd_getfd neither read nor create beside K', async () => {
      const keep = keepDir();
      const r = await cli(['run', '--rootfs', image, '--keep', keep, '--', PROBE, 'upper', '../../canary']);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      expect(results(r.stdout).map(([name]) => name)).toEqual([
        'proc-read',
        'proc-create',
        'proc-upper-write',
        'getfd',
      ]);
      expectRefused(r.stdout, keep);
    });

    it('--layer A --layer B --keep K: the same', async () => {
      const layer = join(dir, 'layer-b');
      mkdirSync(join(layer, 'opt'), { recursive: true });
      writeFileSync(join(layer, 'opt', 'b'), 'b\n');
      const keep = keepDir();
      const r = await cli([
        'run',
        '--layer',
        image,
        '--layer',
        layer,
        '--keep',
        keep,
        '--',
        PROBE,
        'upper',
        '../../canary',
      ]);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      expectRefused(r.stdout, keep);
    });

    it('a process started by sandbox exec: the same', async () => {
      const keep = keepDir();
      const id = await detached(['--rootfs', image, '--keep', keep, '--', 'sleep', '100']);
      const r = await cli(['exec', id, '--', PROBE, 'upper', '../../canary']);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      expectRefused(r.stdout, keep);
    });

    it('--rootfs IMG --read-only: nothing written into the upper through the descriptor shows up in /', async () => {
      const r = await cli([
        'run',
        '--rootfs',
        image,
        '--read-only',
        '--',
        '/bin/sh',
        '-c',
        `${PROBE} upper -; ls / | grep planted; true`,
      ]);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      expect(r.stdout).not.toMatch(/^planted/m);
      expectRefused(r.stdout);
    });
  });

  describe('finding 3: a device node outside the private /dev does not open', () => {
    /** A 1:3 node (/dev/null's numbers: harmless if it did open) made by the test, on the host. */
    const nullNode = (path: string): void => {
      mkdirSync(join(path, '..'), { recursive: true });
      execFileSync('mknod', ['-m', '666', path, 'c', '1', '3']);
    };

    it('on the host root: a node in a host directory outside the cwd and volumes', async () => {
      // Not under /tmp: the sandbox's own /tmp covers the host's.
      const host = mkdtempSync('/var/tmp/sandbox-redteam-');
      try {
        const node = join(host, 'devs', 'null13');
        nullNode(node);
        copyFileSync(join(image, PROBE), join(host, 'probe'));
        execFileSync('chmod', ['755', join(host, 'probe')]);
        const work = join(host, 'work');
        mkdirSync(work);
        const r = await cli(['run', '--userns=host', '--', join(host, 'probe'), 'dev', node], { cwd: work });
        expect(r.stderr).toBe('');
        expect(r.code).toBe(0);
        expect(r.stdout).toBe('dev-open EACCES\n');
      } finally {
        rmSync(host, { recursive: true, force: true });
      }
    });

    it('in an image, a --layer and a kept upper', async () => {
      const img = join(dir, 'image-dev');
      mkdirSync(join(img, 'bin'), { recursive: true });
      copyFileSync(join(image, PROBE), join(img, PROBE));
      execFileSync('chmod', ['755', join(img, PROBE)]);
      nullNode(join(img, 'opt', 'image-null'));
      const layer = join(dir, 'layer-dev');
      nullNode(join(layer, 'opt', 'layer-null'));
      const keep = keepDir();
      // A layer kept by an earlier sandbox (which records its user namespace mode), a node planted in it since.
      expect(
        (await cli(['run', '--rootfs', img, '--layer', layer, '--keep', keep, '--', PROBE, 'dev', '/opt/image-null']))
          .code,
      ).toBe(0);
      nullNode(join(keep, 'upper', 'opt', 'kept-null'));
      const out: string[] = [];
      for (const node of ['/opt/image-null', '/opt/layer-null', '/opt/kept-null']) {
        const r = await cli(['run', '--rootfs', img, '--layer', layer, '--keep', keep, '--', PROBE, 'dev', node]);
        expect(r.stderr).toBe('');
        expect(r.code).toBe(0);
        out.push(`${node} ${r.stdout}`);
      }
      expect(out).toEqual([
        '/opt/image-null dev-open EACCES\n',
        '/opt/layer-null dev-open EACCES\n',
        '/opt/kept-null dev-open EACCES\n',
      ]);
    });
  });

  describe('finding 4: set-id and file-capability binaries', () => {
    /** Mounts of a mountinfo text that lack nosuid or nodev, as "MOUNTPOINT OPTIONS", but the private
     * /dev, its devpts, and the binds of its /dev/null over masked /proc files (they must open). */
    const withoutNosuidNodev = (mountinfo: string): string[] =>
      mountinfo
        .trim()
        .split('\n')
        .map((line) => {
          const [fields, after] = line.split(' - ');
          const f = fields!.split(' ');
          return { root: f[3]!, point: f[4]!, opts: f[5]!.split(','), fstype: after!.split(' ')[0]! };
        })
        .filter((m) => !(m.point === '/dev' || m.point === '/dev/pts' || (m.root === '/null' && m.fstype === 'tmpfs')))
        .filter((m) => !m.opts.includes('nosuid') || !m.opts.includes('nodev'))
        .map((m) => `${m.point} ${m.opts.join(',')}`);

    it('every mount from the host or an image is nosuid and nodev: host root, cwd, -v, overlay, --keep', async () => {
      const vol = join(dir, 'vol4');
      mkdirSync(vol);
      const work = join(dir, 'work4');
      mkdirSync(work);
      const host = await cli(['run', '-v', `${vol}:/tmp/vol4`, '--', 'cat', '/proc/self/mountinfo'], { cwd: work });
      expect(host.stderr).toBe('');
      expect(host.code).toBe(0);
      expect(host.stdout).toContain(' /tmp/vol4 ');
      expect(host.stdout).toContain(` ${work} `);
      expect(withoutNosuidNodev(host.stdout)).toEqual([]);
      const own = await cli([
        'run',
        '--rootfs',
        image,
        '--keep',
        keepDir(),
        '-v',
        `${vol}:/mnt/vol4`,
        '--',
        'cat',
        '/proc/self/mountinfo',
      ]);
      expect(own.stderr).toBe('');
      expect(own.code).toBe(0);
      expect(own.stdout).toMatch(/ \/ \S+ - overlay /);
      expect(withoutNosuidNodev(own.stdout)).toEqual([]);
    });

    /** The xattr names of a host file (python3: Node has no xattr calls). */
    const xattrNames = (path: string): string[] =>
      JSON.parse(
        execFileSync('python3', ['-c', 'import os,sys,json; print(json.dumps(os.listxattr(sys.argv[1])))', path], {
          encoding: 'utf8',
        }),
      );

    it('the workload can not give a file in the cwd or a kept upper a file capability (CAP_SETFCAP dropped)', async () => {
      const work = join(dir, 'work-fcap');
      mkdirSync(work);
      // In the cwd (the host's /tmp is covered by the sandbox's own).
      copyFileSync(join(image, PROBE), join(work, 'probe'));
      execFileSync('chmod', ['755', join(work, 'probe')]);
      copyFileSync(join(image, PROBE), join(work, 'victim'));
      const r = await cli(['run', '--', './probe', 'fcap', './victim'], { cwd: work });
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      expect(r.stdout).toBe('fcap EPERM\n');
      expect(xattrNames(join(work, 'victim'))).not.toContain('security.capability');

      const keep = keepDir();
      const own = await cli(['run', '--rootfs', image, '--keep', keep, '--', PROBE, 'fcap', '/bin/busybox']);
      expect(own.stderr).toBe('');
      expect(own.code).toBe(0);
      expect(own.stdout).toBe('fcap EPERM\n');
      const upper = join(keep, 'upper', 'bin', 'busybox');
      expect(existsSync(upper) ? xattrNames(upper) : []).not.toContain('security.capability');
    });
  });
});
