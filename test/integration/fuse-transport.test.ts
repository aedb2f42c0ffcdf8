// The FUSE transport itself (procfs/fuse) against the real kernel: each opcode it implements, INIT
// negotiation, an unknown opcode (ENOSYS), an interrupted read (EINTR), a reader killed mid-read, 64
// concurrent readers with per-open state shared between workers, a handler that throws (EIO, the
// server goes on), and stopping while a read is blocked, while another mount namespace holds a copy
// of the mount, and after the mount was detached. The filesystem is test/helpers/fuse-test-handler.mjs,
// run from dist/ by the workers. Every read comes from a child process or async fs: this process's
// main thread does not serve the mount, but its tests never block on it either.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FuseServer } from '../../procfs/fuse/server.js';
import { createOpenTable } from '../../procfs/fuse/open-table.js';
import { FUSE_KERNEL_MINOR, Op } from '../../procfs/fuse/protocol.js';
import { fuseUnavailable, needsSetupIfMissing } from '../helpers/fuse-transport.js';
import { requireOrSkip } from '../helpers/skip.js';
import { waitFor, within } from '../helpers/wait.js';

const WORKER = new URL('../../dist/procfs/fuse/worker.js', import.meta.url);
const HANDLER = new URL('../helpers/fuse-test-handler.mjs', import.meta.url).href;
const skip = requireOrSkip(fuseUnavailable() ?? needsSetupIfMissing(fileURLToPath(WORKER)));
const run = promisify(execFile);
/** Counter slots of the test handler (test/helpers/fuse-test-handler.mjs C). */
const C = {
  opens: 0,
  slowWaiting: 1,
  slowRelease: 2,
  flushes: 3,
  forgotten: 4,
  releases: 5,
  interruptedReads: 6,
  freshLookups: 7,
};
const HELLO = 'hello world\n';

/** A mounted test filesystem with its counters. */
interface Mounted {
  server: FuseServer;
  mnt: string;
  counters: Int32Array;
}

async function mountTestFs(dir: string, name: string, workers = 2): Promise<Mounted> {
  const mnt = join(dir, name);
  await mkdir(mnt);
  const counters = new Int32Array(new SharedArrayBuffer(16 * 4));
  const server = await FuseServer.start({
    mountpoint: mnt,
    fsname: 'sandbox-test',
    subtype: 'sandboxtest',
    workers,
    workerFile: WORKER,
    handlerModule: HANDLER,
    handlerData: { counters: counters.buffer, opens: createOpenTable(256, 1, 1024) },
    log: () => undefined,
  });
  return { server, mnt, counters };
}

/** A perl reader of `path` with a SIGUSR1 handler installed without SA_RESTART: prints "read N" or "error ERRNO". */
function slowReader(path: string): { child: ChildProcess; output: Promise<string> } {
  const script =
    'use POSIX; sigaction(SIGUSR1, POSIX::SigAction->new(sub {}, POSIX::SigSet->new, 0)); open(F, "<", $ARGV[0]) or die "open: $!"; my $n = sysread(F, my $buf, 4096); print defined $n ? "read $n\\n" : "error " . ($! + 0) . "\\n";';
  const child = spawn('perl', ['-e', script, path], { stdio: ['ignore', 'pipe', 'inherit'] });
  const output = new Promise<string>((resolve) => {
    let out = '';
    child.stdout!.setEncoding('utf8').on('data', (s: string) => (out += s));
    child.on('close', () => resolve(out.trim()));
  });
  return { child, output };
}

async function mountsUnder(dir: string): Promise<string[]> {
  return (await readFile('/proc/self/mountinfo', 'utf8')).split('\n').filter((l) => l.split(' ')[4]?.startsWith(dir));
}

describe.skipIf(skip)('the FUSE transport on the real kernel', () => {
  let dir: string;
  let fs: Mounted;
  const extra: Mounted[] = [];

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'fuse-transport-'));
    fs = await mountTestFs(dir, 'mnt');
  });

  afterAll(async () => {
    await fs?.server.stop();
    for (const m of extra) await m.server.stop();
    const left = await mountsUnder(dir);
    await rm(dir, { recursive: true, force: true });
    expect(left).toEqual([]);
  });

  it('negotiates INIT: our minor at most, and the mount is read-only fuse.<subtype>', async () => {
    expect(fs.server.control.minor()).toBeGreaterThan(0);
    expect(fs.server.control.minor()).toBeLessThanOrEqual(FUSE_KERNEL_MINOR);
    const line = (await mountsUnder(fs.mnt))[0]!;
    expect(line).toMatch(/ fuse\.sandboxtest sandbox-test ro,/);
    expect(fs.server.counters().opcodes[Op.INIT]).toBe(1);
  });

  it('answers OPENDIR, READDIR and RELEASEDIR with . and .. and the entries', async () => {
    expect((await readdir(fs.mnt)).sort()).toEqual(['big', 'counter', 'flushy', 'hello', 'slow', 'throws']);
    const { stdout } = await run('ls', ['-a', fs.mnt]);
    expect(stdout.split('\n').slice(0, 2)).toEqual(['.', '..']);
    const ops = fs.server.counters().opcodes;
    expect(ops[Op.OPENDIR]).toBeGreaterThanOrEqual(2);
    expect(ops[Op.READDIR]).toBeGreaterThanOrEqual(2);
    await waitFor(() => fs.server.counters().opcodes[Op.RELEASEDIR] === ops[Op.OPENDIR], 'every OPENDIR released');
  });

  it('answers LOOKUP and GETATTR, and ENOENT for an unknown name', async () => {
    const st = await stat(join(fs.mnt, 'hello'));
    expect(st.isFile()).toBe(true);
    expect(st.mode & 0o777).toBe(0o444);
    expect(st.size).toBe(4096);
    expect(st.mtimeMs).toBe(Date.UTC(2026, 0, 1));
    await expect(stat(join(fs.mnt, 'nothing'))).rejects.toMatchObject({ code: 'ENOENT' });
    expect(fs.server.counters().opcodes[Op.LOOKUP]).toBeGreaterThanOrEqual(2);
  });

  it('answers OPEN, READ and RELEASE; no FLUSH when the open says FOPEN_NOFLUSH, one when it does not', async () => {
    const before = fs.server.counters().opcodes;
    const flushes = Atomics.load(fs.counters, C.flushes);
    expect((await run('cat', [join(fs.mnt, 'hello')])).stdout).toBe(HELLO);
    const after = fs.server.counters().opcodes;
    expect((after[Op.OPEN] ?? 0) - (before[Op.OPEN] ?? 0)).toBe(1);
    expect((after[Op.READ] ?? 0) - (before[Op.READ] ?? 0)).toBeGreaterThanOrEqual(1);
    await waitFor(
      () => (fs.server.counters().opcodes[Op.RELEASE] ?? 0) > (before[Op.RELEASE] ?? 0),
      'RELEASE after cat',
    );
    expect(Atomics.load(fs.counters, C.flushes)).toBe(flushes);
    expect((await run('cat', [join(fs.mnt, 'flushy')])).stdout).toBe(HELLO);
    expect(Atomics.load(fs.counters, C.flushes)).toBe(flushes + 1);
    expect(fs.server.counters().opcodes[Op.FLUSH]).toBe(1);
  });

  it('serves a file larger than one READ through several READs at their offsets', async () => {
    const { stdout } = await run('cat', [join(fs.mnt, 'big')], { maxBuffer: 1 << 22 });
    const lines = stdout.split('\n');
    expect(lines).toHaveLength(12001);
    expect(lines[11999]).toBe('line 011999 of the big file');
    const { stdout: tail } = await run('dd', [
      `if=${join(fs.mnt, 'big')}`,
      'bs=28',
      'skip=5000',
      'count=1',
      'status=none',
    ]);
    expect(tail).toBe('line 005000 of the big file\n');
  });

  it('answers STATFS', async () => {
    const { stdout } = await run('stat', ['-f', '-c', '%b %c %S', fs.mnt]);
    expect(stdout.trim()).toBe('42 7 4096');
    expect(fs.server.counters().opcodes[Op.STATFS]).toBeGreaterThanOrEqual(1);
  });

  it('answers an opcode it does not implement with ENOSYS, and goes on serving', async () => {
    const { stdout } = await run('python3', [
      '-c',
      `import os, sys\ntry:\n  os.getxattr(sys.argv[1], 'user.x')\nexcept OSError as e:\n  print(e.errno)`,
      join(fs.mnt, 'hello'),
    ]);
    expect(Number(stdout.trim())).toBe(95); // EOPNOTSUPP: the kernel's word for a filesystem's ENOSYS to GETXATTR
    expect(fs.server.counters().enosys).toBeGreaterThanOrEqual(1);
    expect((await run('cat', [join(fs.mnt, 'hello')])).stdout).toBe(HELLO);
  });

  it('refuses writing (read-only mount) before any request reaches us', async () => {
    await expect(run('sh', ['-c', `echo x > ${join(fs.mnt, 'hello')}`])).rejects.toThrow(/Read-only file system/);
  });

  it('gets FORGET (or BATCH_FORGET) for nodes the kernel dropped', async () => {
    for (let i = 0; i < 20; i++) await stat(join(fs.mnt, 'fresh'));
    await waitFor(() => Atomics.load(fs.counters, C.forgotten) > 0, 'a forgotten node');
    const ops = fs.server.counters().opcodes;
    expect((ops[Op.FORGET] ?? 0) + (ops[Op.BATCH_FORGET] ?? 0)).toBeGreaterThan(0);
  });

  it('serves 64 concurrent readers, each open its own text whichever worker reads it', async () => {
    const out = join(dir, 'out');
    await mkdir(out);
    const script = `for i in $(seq 32); do cat "$1/hello" > "$2/hello.$i" & dd if="$1/counter" of="$2/counter.$i" bs=7 status=none & done; wait`;
    await run('sh', ['-c', script, 'sh', fs.mnt, out]);
    const names = await readdir(out);
    expect(names).toHaveLength(64);
    const seen = new Set<string>();
    for (const name of names) {
      const text = await readFile(join(out, name), 'utf8');
      if (name.startsWith('hello')) expect(text).toBe(HELLO);
      else {
        const first = text.slice(0, 11);
        expect(first).toMatch(/^open \d{5} $/);
        expect(text).toBe(`${first.repeat(40)}\n`);
        seen.add(first);
      }
    }
    expect(seen.size).toBe(32);
    await waitFor(
      () => Atomics.load(fs.counters, C.releases) >= Atomics.load(fs.counters, C.opens),
      'every open released',
    );
  });

  it('answers EIO when a handler throws, and the server goes on', async () => {
    const errors = fs.server.counters().handlerErrors;
    await expect(run('cat', [join(fs.mnt, 'throws')])).rejects.toThrow(/Input\/output error/);
    expect(fs.server.counters().handlerErrors).toBe(errors + 1);
    expect((await run('cat', [join(fs.mnt, 'hello')])).stdout).toBe(HELLO);
  });

  it('passes on an interrupt: a read blocked in the handler ends with EINTR when its reader gets a signal', async () => {
    const reader = slowReader(join(fs.mnt, 'slow'));
    await waitFor(() => Atomics.load(fs.counters, C.slowWaiting) === 1, 'the slow read in the handler');
    reader.child.kill('SIGUSR1');
    expect(await within(reader.output, 'the reader')).toBe('error 4');
    expect(fs.server.counters().interrupts).toBeGreaterThanOrEqual(1);
    expect(Atomics.load(fs.counters, C.interruptedReads)).toBeGreaterThanOrEqual(1);
  });

  it('survives a reader killed mid-read', async () => {
    const reader = slowReader(join(fs.mnt, 'slow'));
    await waitFor(() => Atomics.load(fs.counters, C.slowWaiting) === 1, 'the slow read in the handler');
    reader.child.kill('SIGKILL');
    await within(reader.output, 'the killed reader');
    await waitFor(() => Atomics.load(fs.counters, C.slowWaiting) === 0, 'the handler done with the slow read');
    expect((await run('cat', [join(fs.mnt, 'hello')])).stdout).toBe(HELLO);
    expect((await run('cat', [join(fs.mnt, 'hello')])).stdout).toBe(HELLO);
  });

  it('stops while a read is blocked: the reader gets an error, the mount and the workers are gone', async () => {
    const m = await mountTestFs(dir, 'blocked');
    extra.push(m);
    const reader = slowReader(join(m.mnt, 'slow'));
    await waitFor(() => Atomics.load(m.counters, C.slowWaiting) === 1, 'the slow read in the handler');
    await within(m.server.stop(), 'stop with a read blocked');
    expect(await within(reader.output, 'the reader')).toMatch(/^error \d+$/);
    expect(await mountsUnder(m.mnt)).toEqual([]);
  });

  it('stops while another mount namespace holds a copy of the mount, also after ours was detached', async () => {
    for (const detachFirst of [false, true]) {
      const m = await mountTestFs(dir, `copied-${detachFirst}`);
      extra.push(m);
      const holder = spawn('unshare', ['-m', '--propagation', 'private', 'sleep', '600'], { stdio: 'ignore' });
      try {
        const ns = `/proc/${holder.pid}/ns/mnt`;
        await waitFor(
          async () =>
            (await readFile(`/proc/${holder.pid}/mountinfo`, 'utf8').catch(() => '')) !==
              (await readFile('/proc/self/mountinfo', 'utf8')) || !existsSync(ns),
          'the copy',
        );
        await waitFor(
          async () => (await readlinkSafe(ns)) !== (await readlinkSafe('/proc/self/ns/mnt')),
          'a namespace of its own',
        );
        expect((await run('nsenter', ['-t', String(holder.pid), '-m', 'cat', join(m.mnt, 'hello')])).stdout).toBe(
          HELLO,
        );
        if (detachFirst) await run('umount', ['-l', m.mnt]);
        await within(m.server.stop(), 'stop with a copy elsewhere');
        const inCopy = await run('nsenter', ['-t', String(holder.pid), '-m', 'cat', join(m.mnt, 'hello')]).then(
          () => 'read',
          (err: { stderr: string }) => err.stderr,
        );
        expect(inCopy).toMatch(/Transport endpoint is not connected|Software caused connection abort/);
        expect(await mountsUnder(m.mnt)).toEqual([]);
      } finally {
        holder.kill('SIGKILL');
      }
    }
  });
});

async function readlinkSafe(path: string): Promise<string> {
  const { readlink } = await import('node:fs/promises');
  return readlink(path).catch(() => '');
}
