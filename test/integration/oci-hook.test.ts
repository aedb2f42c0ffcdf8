// The views daemon and the OCI hook with a real runtime: runc runs a busybox bundle whose
// createContainer hook is `sandbox oci-hook`; inside, procps free/top, coreutils nproc and the
// /proc and /sys files must show the bundle's limits. Then the daemon is SIGKILLed under a running
// container and started again: reads in the container must work again, and the error window a
// reader sees is measured. Nothing may be left: no mount under /run/sandbox-procfs, no cgroup, no
// daemon, no runc state.
import { execFile, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { buildBusyboxImage, imageUnavailable } from '../helpers/image.js';
import {
  BUNDLE_MEM,
  TEST_BASE,
  daemonMounts,
  daemonStillRunning,
  hybridCgroups,
  runcUnavailable,
  startDaemon,
  stopDaemon,
  writeBundle,
  type Daemon,
} from '../helpers/oci.js';
import { leftovers, removeLeftoverCgroups, sandboxUnavailable } from '../helpers/sandbox.js';
import { machineLacks, requireOrSkip } from '../helpers/skip.js';
import { waitFor } from '../helpers/wait.js';

const run = promisify(execFile);
const skip = requireOrSkip(sandboxUnavailable() ?? runcUnavailable() ?? imageUnavailable());
const SOCKET = `${TEST_BASE}/api.sock`;
const RUNC_ROOT = `${TEST_BASE}/runc`;

/** The checks run inside each container, one output line each. */
const PROBE = [
  '/usr/bin/free -b | awk \'$1=="Mem:" {print "free", $2}\'',
  'echo nproc $(/usr/bin/nproc)',
  'head -1 /proc/meminfo',
  'echo online $(head -1 /sys/devices/system/cpu/online)',
  'echo cpuinfo $(grep -c ^processor /proc/cpuinfo)',
  '/usr/bin/top -b -n 1 | grep "^MiB Mem"',
].join('; ');

describe.skipIf(skip)('sandbox oci-hook with runc', () => {
  let daemon: Daemon | null = null;
  let image = '';
  const containers: string[] = [];

  beforeAll(() => {
    image = mkdtempSync('/tmp/sandbox-oci-image-');
    buildBusyboxImage(`${image}/rootfs`);
  });
  afterAll(() => rmSync(image, { recursive: true, force: true }));

  afterEach(async () => {
    for (const id of containers.splice(0))
      await run('runc', ['--root', RUNC_ROOT, 'delete', '--force', id]).catch(() => undefined);
    const pid = daemon?.child.pid;
    await stopDaemon(daemon);
    daemon = null;
    rmSync(TEST_BASE, { recursive: true, force: true });
    const left = [...leftovers(), ...daemonMounts(), ...daemonStillRunning(pid)];
    removeLeftoverCgroups();
    expect(left).toEqual([]);
  });

  it("free, nproc, top, /proc/meminfo, cpuinfo and cpu/online show the bundle's limits; poststop unregisters", async () => {
    daemon = await startDaemon(TEST_BASE);
    const id = `t1-${process.pid}`;
    writeBundle(`${image}/b1`, `${image}/rootfs`, `sandbox-oci-${id}`, ['sh', '-c', PROBE], SOCKET);
    containers.push(id);
    const { stdout } = await run('runc', ['--root', RUNC_ROOT, 'run', '--bundle', `${image}/b1`, id]);
    const lines = stdout.trim().split('\n');
    expect(lines).toContain(`free ${BUNDLE_MEM}`);
    expect(lines).toContain('nproc 1');
    expect(lines).toContain('MemTotal:         262144 kB');
    expect(lines).toContain('online 0');
    expect(lines).toContain('cpuinfo 1');
    expect(lines.find((l) => l.startsWith('MiB Mem'))).toMatch(/^MiB Mem :\s+256\.0 total/);
    expect(daemon.log()).toContain(`register ${id} pid `);
    const d = daemon;
    await waitFor(() => d.log().includes(`unregister ${id}`), 'the log line of the poststop hook');
    // runc runs createContainer hooks in the container's pid namespace: the daemon's peer check
    // (serve.ts Caller) accepted it as the container's own hook, not as the host.
    expect(daemon.log()).toMatch(
      new RegExp(`register ${id} pid \\d+ \\(.*; asked by a hook in the container's pid namespace\\)`),
    );
  });

  it('a SIGKILLed daemon, started again, re-binds fresh views into a running container (the error window is measured)', async () => {
    daemon = await startDaemon(TEST_BASE);
    const id = `t2-${process.pid}`;
    writeBundle(`${image}/b2`, `${image}/rootfs`, `sandbox-oci-${id}`, ['sleep', '120'], SOCKET);
    containers.push(id);
    // The detached container keeps its stdio: give it none, or runc's pipes stay open for its whole life.
    const started = spawn('runc', ['--root', RUNC_ROOT, 'run', '--detach', '--bundle', `${image}/b2`, id], {
      stdio: 'ignore',
    });
    expect(await new Promise((r) => started.once('exit', r))).toBe(0);
    const exec = (cmd: string) => run('runc', ['--root', RUNC_ROOT, 'exec', id, 'sh', '-c', cmd]);
    expect((await exec('head -1 /proc/meminfo')).stdout).toBe('MemTotal:         262144 kB\n');
    const pid = Number(JSON.parse(execFileSync('runc', ['--root', RUNC_ROOT, 'state', id], { encoding: 'utf8' })).pid);

    // A reader on the host reads through the container's mounts (/proc/PID/root/...) every ms and
    // records when its reads fail and when they work again. It says "reading" after its first good
    // read, and stops once the test creates the stop file and it has read well again after errors.
    const viewPath = `/proc/${pid}/root/proc/meminfo`;
    const stopFile = `${image}/reader-stop`;
    rmSync(stopFile, { force: true });
    const reader = spawn('python3', ['-c', READER, viewPath, stopFile], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    reader.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const readerDone = new Promise((r) => reader.once('exit', r));
    await waitFor(() => out.startsWith('reading\n'), 'the reader to read the view once');

    const killedAt = Date.now();
    await stopDaemon(daemon, 'SIGKILL');
    // The connection is aborted once the daemon is gone: wait until a read from the host says so.
    await waitFor(() => {
      try {
        readFileSync(viewPath);
        return false;
      } catch (err) {
        return (err as NodeJS.ErrnoException).code === 'ENOTCONN';
      }
    }, 'reads of the view to fail with ENOTCONN');
    await expect(exec('head -1 /proc/meminfo')).rejects.toThrow(/Transport endpoint is not connected|not connected/);
    const restartAt = Date.now();
    daemon = await startDaemon(TEST_BASE);
    const servingAt = Date.now();
    expect(daemon.log()).toContain(`restored ${id} pid ${pid}`);
    expect((await exec('head -1 /proc/meminfo; echo online $(head -1 /sys/devices/system/cpu/online)')).stdout).toBe(
      'MemTotal:         262144 kB\nonline 0\n',
    );

    writeFileSync(stopFile, '');
    await readerDone;
    const r = JSON.parse(out.trim().split('\n').at(-1)!) as {
      firstErr: number;
      lastErr: number;
      firstOkAfter: number;
      errs: number;
      oks: number;
      errnos: string[];
    };
    expect(r.errs).toBeGreaterThan(0);
    expect(r.firstOkAfter).toBeGreaterThan(r.lastErr);
    // ENOTCONN for requests after the abort; ECONNABORTED for one in flight when it happened (fs/fuse/dev.c fuse_abort_conn).
    expect(r.errnos.filter((e) => e !== 'ENOTCONN' && e !== 'ECONNABORTED')).toEqual([]);
    // The figures for deploy/README.md ("Restarts"): how long readers failed, and how much of it the restart took.
    console.log(
      `restart cost: reads failed for ${(r.firstOkAfter - r.firstErr).toFixed(0)} ms (kill at +${(r.firstErr - killedAt).toFixed(0)} ms, ` +
        `test paused ${restartAt - killedAt} ms before restarting); restart command -> serving ${servingAt - restartAt} ms, ` +
        `restart command -> first good read ${(r.firstOkAfter - restartAt).toFixed(0)} ms`,
    );

    // After the restart the poststop hook still unregisters, and runc delete removes the cgroups.
    await run('runc', ['--root', RUNC_ROOT, 'kill', id, 'KILL']);
    await waitFor(
      () => /"status": "stopped"/.test(execFileSync('runc', ['--root', RUNC_ROOT, 'state', id], { encoding: 'utf8' })),
      'runc to report the container stopped',
      undefined,
      50,
    );
    await run('runc', ['--root', RUNC_ROOT, 'delete', id]);
    containers.splice(containers.indexOf(id), 1);
    const d = daemon;
    await waitFor(() => d.log().includes(`unregister ${id}`), 'the log line of the poststop hook');
  });

  it('without a daemon the hook warns and the container starts (fail open); bad hook input is one line and 125', async () => {
    const id = `t3-${process.pid}`;
    writeBundle(`${image}/b3`, `${image}/rootfs`, `sandbox-oci-${id}`, ['head', '-1', '/proc/meminfo'], SOCKET);
    containers.push(id);
    // runc shows a hook's stderr only when it fails: here the container runs and reads the host's file.
    const { stdout } = await run('runc', ['--root', RUNC_ROOT, 'run', '--bundle', `${image}/b3`, id]);
    expect(stdout).toMatch(/^MemTotal:\s+\d+ kB\n$/);
    expect(stdout).not.toBe('MemTotal:         262144 kB\n');

    const bad = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
      const child = spawn(process.execPath, [CLI_PATH, 'oci-hook', '--socket', SOCKET], {
        stdio: ['pipe', 'ignore', 'pipe'],
      });
      let err = '';
      child.stderr.on('data', (d: Buffer) => (err += d.toString()));
      child.on('exit', (code) => resolve({ code, stderr: err }));
      child.stdin.end('{"id":"../x","status":"creating","pid":1,"bundle":"/b"}');
    });
    expect(bad.code).toBe(125);
    expect(bad.stderr.trim().split('\n')).toHaveLength(1);
    expect(bad.stderr).toContain('state id "../x"');
  });

  // crun 1.8 (Debian 12) refuses cgroup v1 hybrid hosts outright, even with --cgroup-manager=disabled.
  it.skipIf(
    requireOrSkip(
      hybridCgroups() ? null : machineLacks('not a cgroup v1 hybrid host: the crun 1.8 refusal is a hybrid-host fact'),
    ),
  )('crun refuses this hybrid cgroup host, so the hook is tested with runc here', async () => {
    const id = `t4-${process.pid}`;
    writeBundle(`${image}/b4`, `${image}/rootfs`, `sandbox-oci-${id}`, ['true'], SOCKET);
    const err = await run('crun', ['--root', `${TEST_BASE}/crun`, 'run', '--bundle', `${image}/b4`, id]).then(
      () => '',
      (e: { stderr: string }) => e.stderr,
    );
    expect(err).toContain('cgroups in hybrid mode not supported');
  });
});

const CLI_PATH = new URL('../../dist/supervisor/main.cjs', import.meta.url).pathname;

/**
 * Reads a file every ms, printing "reading" after its first good read, until the stop file exists
 * and it has read well again after errors (or for 60 s at most); then prints when reads failed and
 * when they worked again (epoch ms).
 */
const READER = `
import errno, json, os, sys, time
path, stop = sys.argv[1], sys.argv[2]
end = time.time() + 60
first_err = last_err = first_ok_after = None
errs = oks = 0
errnos = set()
while time.time() < end and not (first_ok_after is not None and os.path.exists(stop)):
    t = time.time() * 1000
    try:
        with open(path) as f:
            ok = f.read().startswith('MemTotal:')
    except OSError as e:
        ok = False
        errnos.add(errno.errorcode.get(e.errno, str(e.errno)))
    if ok:
        oks += 1
        if oks == 1:
            print("reading", flush=True)
        if last_err is not None and first_ok_after is None:
            first_ok_after = t
    else:
        errs += 1
        if first_err is None:
            first_err = t
        last_err = t
    time.sleep(0.001)
print(json.dumps({"firstErr": first_err, "lastErr": last_err, "firstOkAfter": first_ok_after, "errs": errs, "oks": oks, "errnos": sorted(errnos)}))
`;
