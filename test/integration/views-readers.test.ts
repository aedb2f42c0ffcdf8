// `sandbox procfs serve`'s reader-routed layout (lxcfs's: <mount>/proc/meminfo …), on real FUSE
// and real cgroups: each read is answered for the cgroup of the process that reads. Cgroups are
// made under this process's own (sandbox-rdr<pid><x>) with the project's cgroup manager; readers
// are shells that wait on stdin until the test has moved them into a cgroup, then exec the reading
// tool. The daemon runs at a directory of this test's own; the /var/lib/lxcfs cases run inside a
// private mount namespace whose tmpfs hides whatever the host has there. Everything made is removed.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { cpus } from 'node:os';
import { existsSync, mkdirSync, openSync, readFileSync, readdirSync, readlinkSync, rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openCgroup } from '../../supervisor/cgroup/index.js';
import { detectLayout } from '../../supervisor/cgroup/detect.js';
import type { CgroupLimits, CgroupManager } from '../../supervisor/cgroup/types.js';
import { ask } from '../../procfs/daemon/client.js';
import { ReaderLoads } from '../../procfs/reader-loads.js';
import { readerCgroupKey } from '../../procfs/reader-cgroup.js';
import { ReaderTable, createReaderTable } from '../../procfs/reader-table.js';
import { SharedViews, createSharedViewData } from '../../procfs/view-shared.js';
import { startDaemon, stopDaemon, type Daemon } from '../helpers/oci.js';
import { CLI, leftovers, removeLeftoverCgroups, sandboxUnavailable } from '../helpers/sandbox.js';
import { requireOrSkip } from '../helpers/skip.js';
import { waitFor } from '../helpers/wait.js';

const skip = requireOrSkip(sandboxUnavailable());
const BASE = `/run/sandbox-procfs/test-readers-${process.pid}`;
const MNT = `${BASE}/mnt`;
const SOCKET = `${BASE}/api.sock`;
const MiB = 1024 * 1024;
const TWO_CPUS = cpus().length >= 2;

/** Limits of a test cgroup: `mem` bytes, `quota` µs per 100 ms, CPUs `cpuset`. */
function limits(mem: number, quota: number, cpuset: number[]): CgroupLimits {
  return {
    cpuQuotaUs: quota,
    cpuPeriodUs: 100_000,
    cpuBurstUs: null,
    cpuWeight: null,
    cpusetCpus: cpuset,
    memoryBytes: mem,
    swapBytes: 0,
    pidsMax: null,
  };
}

/** Processes this file started (killed by pid at the end if still alive). */
const started: ChildProcess[] = [];

/** Start `args` in cgroup `cg` (null: ours): a shell joins first (it waits on stdin), then execs them. */
async function startIn(cg: CgroupManager | null, args: string[]): Promise<ChildProcess> {
  const child = spawn('sh', ['-c', 'read _ && exec "$@"', 'sh', ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
  started.push(child);
  if (cg) await cg.addPid(child.pid!);
  child.stdin!.end('go\n');
  return child;
}

/** Run `args` in cgroup `cg` and return its stdout; fails on a non-zero exit. */
async function runIn(cg: CgroupManager | null, args: string[]): Promise<string> {
  const child = await startIn(cg, args);
  let out = '';
  let err = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const [code] = (await once(child, 'exit')) as [number | null];
  if (code !== 0) throw new Error(`${args.join(' ')} exited ${code}: ${err}`);
  return out;
}

const sh = (script: string): string[] => ['sh', '-c', script];
const memTotal = (meminfo: string): string => meminfo.split('\n').find((l) => l.startsWith('MemTotal:')) ?? '(none)';
const hostUptime = (): number => Number(readFileSync('/proc/uptime', 'utf8').split(' ')[0]);

/** Children of `pid` (from /proc/<child>/stat's ppid). */
function childrenOf(pid: number): number[] {
  return readdirSync('/proc')
    .filter((n) => /^\d+$/.test(n))
    .filter((n) => {
      try {
        const stat = readFileSync(`/proc/${n}/stat`, 'utf8');
        return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === pid;
      } catch {
        return false;
      }
    })
    .map(Number);
}

/**
 * The descriptors of the daemon `pid` and its children (the server under its keeper) whose targets
 * lie under one of `dirs` (a removed file's end in " (deleted)").
 */
function descriptorsUnder(pid: number, dirs: readonly string[]): string[] {
  const targets: string[] = [];
  for (const p of [pid, ...childrenOf(pid)]) {
    let fds: string[] = [];
    try {
      fds = readdirSync(`/proc/${p}/fd`);
    } catch {
      continue; // exited meanwhile
    }
    for (const fd of fds) {
      let target = '';
      try {
        target = readlinkSync(`/proc/${p}/fd/${fd}`);
      } catch {
        continue; // closed meanwhile
      }
      if (dirs.some((d) => target.startsWith(`${d}/`))) targets.push(target);
    }
  }
  return targets;
}

describe.skipIf(skip)('procfs serve: the reader-routed (lxcfs) layout', () => {
  // (test/helpers/oci.ts starts and stops the daemon as a child process: this process never serves the mount it reads.)
  let daemon: Daemon | null = null;
  let a: CgroupManager;
  let b: CgroupManager;
  const made: CgroupManager[] = [];

  beforeAll(async () => {
    // Cgroups first: on v2 making them may move this process to a leaf, and the daemon (whose own
    // cgroup counts as the host's) must start where the host readers of this file run.
    a = await openCgroup({ id: `rdr${process.pid}a` });
    made.push(a);
    await a.create();
    await a.apply(limits(256 * MiB, 50_000, [0]));
    b = await openCgroup({ id: `rdr${process.pid}b` });
    made.push(b);
    await b.create();
    await b.apply(limits(384 * MiB, 150_000, TWO_CPUS ? [0, 1] : [0]));
    mkdirSync(BASE, { recursive: true });
    daemon = await startDaemon(BASE);
  });

  afterAll(async () => {
    for (const c of started) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    const pid = daemon?.child.pid;
    await stopDaemon(daemon);
    for (const cg of made) await cg.destroy();
    rmSync(BASE, { recursive: true, force: true });
    const left = leftovers();
    for (const line of readFileSync('/proc/self/mounts', 'utf8').split('\n'))
      if (line.split(' ')[1]?.startsWith(BASE)) left.push(`mount ${line.split(' ')[1]}`);
    if (pid !== undefined && existsSync(`/proc/${pid}`)) left.push(`process ${pid} (the daemon)`);
    removeLeftoverCgroups();
    expect(left).toEqual([]);
  });

  it("lists lxcfs's files at the top of the mount, read-only", () => {
    expect(readdirSync(MNT)).toEqual(expect.arrayContaining(['proc', 'sys']));
    expect(readdirSync(`${MNT}/proc`)).toEqual(
      expect.arrayContaining(['cpuinfo', 'diskstats', 'loadavg', 'meminfo', 'stat', 'swaps', 'uptime']),
    );
    expect(readdirSync(`${MNT}/sys/devices/system/cpu`)).toEqual(['online']);
    expect(() => openSync(`${MNT}/proc/meminfo`, 'r+')).toThrow(expect.objectContaining({ code: 'EACCES' }));
    expect(existsSync(`${MNT}/proc/pressure`)).toBe(
      detectLayout(readFileSync('/proc/self/cgroup', 'utf8'), readFileSync('/proc/self/mountinfo', 'utf8')).mode ===
        'v2' && existsSync('/proc/pressure/cpu'),
    );
  });

  it("shows a reader its own cgroup's limits: free, nproc-style online, cpuinfo, meminfo", async () => {
    const out = await runIn(
      a,
      sh(
        `head -1 ${MNT}/proc/meminfo; cat ${MNT}/sys/devices/system/cpu/online; grep -c ^processor ${MNT}/proc/cpuinfo; grep -c '^cpu[0-9]' ${MNT}/proc/stat`,
      ),
    );
    expect(out.split('\n')).toEqual(['MemTotal:         262144 kB', '0', '1', '1', '']);
  });

  it("shows a reader in our own (host) cgroup the host's files", async () => {
    const out = await runIn(
      null,
      sh(
        `head -1 ${MNT}/proc/meminfo; cat ${MNT}/sys/devices/system/cpu/online; grep -c ^processor ${MNT}/proc/cpuinfo`,
      ),
    );
    const host = [
      memTotal(readFileSync('/proc/meminfo', 'utf8')),
      readFileSync('/sys/devices/system/cpu/online', 'utf8').trim(),
      String(
        readFileSync('/proc/cpuinfo', 'utf8')
          .split('\n')
          .filter((l) => l.startsWith('processor')).length,
      ),
    ];
    expect(out.trim().split('\n')).toEqual(host);
  });

  it("answers two readers in two cgroups at once, each with its own figures, never the other one's cached text", async () => {
    // 150 reads of each file, interleaved. The render cache (10 ms) is per cgroup: a text rendered
    // for one never reaches the other. meminfo and online differ in limits (part of a cache key);
    // loadavg's task total does not: 20 sleepers make A's at least 21, B's stays a few. (A process
    // per read: minutes under the v2 tier's software emulation, hence the deadline.)
    const sleepers = await startIn(a, sh('for i in $(seq 20); do sleep 60 & done; wait'));
    await waitFor(
      () => readFileSync(`${a.dirs[0]}/cgroup.procs`, 'utf8').trim().split('\n').length >= 21,
      'the 20 sleepers in A',
    );
    const loop = `for i in $(seq 150); do head -1 ${MNT}/proc/meminfo; cat ${MNT}/sys/devices/system/cpu/online; cut -d' ' -f4 ${MNT}/proc/loadavg; done`;
    const [outA, outB] = await Promise.all([runIn(a, sh(loop)), runIn(b, sh(loop))]);
    sleepers.kill('SIGKILL');
    await a.killAll('SIGKILL');
    const lines = (out: string) => out.trim().split('\n');
    const tasks = (out: string) =>
      lines(out)
        .filter((l) => l.includes('/'))
        .map((l) => Number(l.split('/')[1]));
    const others = (out: string) => lines(out).filter((l) => !l.includes('/'));
    const counts = (list: string[]) =>
      list.reduce<Record<string, number>>((c, l) => {
        c[l] = (c[l] ?? 0) + 1;
        return c;
      }, {});
    expect(counts(others(outA))).toEqual({ 'MemTotal:         262144 kB': 150, '0': 150 });
    expect(counts(others(outB))).toEqual({ 'MemTotal:         393216 kB': 150, [TWO_CPUS ? '0-1' : '0']: 150 });
    expect(tasks(outA)).toHaveLength(150);
    expect(tasks(outA).filter((n) => n < 21)).toEqual([]);
    expect(tasks(outB).filter((n) => n >= 21)).toEqual([]);
  }, 300_000);

  it("counts uptime and btime from the init of the reader's pid namespace", async () => {
    const t0 = Date.now();
    const out = await runIn(a, [
      'unshare',
      '-p',
      '-f',
      '--mount-proc',
      'sh',
      '-c',
      `sleep 2; cat ${MNT}/proc/uptime; grep ^btime ${MNT}/proc/stat`,
    ]);
    const elapsedSec = (Date.now() - t0) / 1000;
    const [uptimeLine = '', btimeLine = ''] = out.trim().split('\n');
    const uptime = Number(uptimeLine.split(' ')[0]);
    expect(uptime).toBeGreaterThanOrEqual(2);
    expect(uptime).toBeLessThanOrEqual(elapsedSec + 0.05);
    expect(uptime).toBeLessThan(hostUptime());
    const btime = Number(btimeLine.split(' ')[1]);
    expect(Math.abs(btime - (Date.now() / 1000 - uptime))).toBeLessThan(elapsedSec + 2);
  });

  it('finds the init of a namespace a reader joined with setns (nsenter): its parent is outside', async () => {
    const t0 = Date.now();
    const holder = await startIn(a, ['unshare', '-p', '-f', 'sleep', '60']);
    let init = 0;
    await waitFor(() => (init = childrenOf(holder.pid!)[0] ?? 0) > 0, 'the namespace init under unshare');
    await waitFor(() => Date.now() - t0 > 1500, 'a second and a half of the namespace');
    const out = await runIn(a, ['nsenter', '-t', String(init), '-p', '--', 'cat', `${MNT}/proc/uptime`]);
    const uptime = Number(out.split(' ')[0]);
    expect(uptime).toBeGreaterThanOrEqual(1.4);
    expect(uptime).toBeLessThanOrEqual((Date.now() - t0) / 1000 + 0.05);
    holder.kill('SIGKILL');
    process.kill(init, 'SIGKILL');
    await once(holder, 'exit');
  });

  it('keeps load history per cgroup: a busy cgroup gains load, one read for the first time starts at 0.00', async () => {
    const c = await openCgroup({ id: `rdr${process.pid}d` });
    made.push(c);
    await c.create();
    await c.apply(limits(128 * MiB, 20_000, [0]));
    const busy = await startIn(a, sh('while :; do :; done'));
    let load = '';
    await waitFor(
      async () => (load = await runIn(a, ['cat', `${MNT}/proc/loadavg`])).split(' ')[0] !== '0.00',
      'a load fold of the busy cgroup',
      60_000,
      500,
    );
    // A cgroup first read now gets averages of its own (none folded yet), not the busy one's or a host-wide figure.
    const fresh = await runIn(c, ['cat', `${MNT}/proc/loadavg`]);
    busy.kill('SIGKILL');
    await once(busy, 'exit');
    expect(Number(load.split(' ')[0])).toBeGreaterThan(0);
    expect(fresh.split(' ').slice(0, 3)).toEqual(['0.00', '0.00', '0.00']);
  }, 120_000);

  it('serves registered containers under their id beside it, and refuses the ids of the top layout', async () => {
    const holder = await startIn(b, ['sleep', '60']);
    await waitFor(
      () => readFileSync(`/proc/${holder.pid}/cmdline`, 'utf8').startsWith('sleep'),
      'the holder to exec sleep',
    );
    const id = `side-${process.pid}`;
    expect(await ask(SOCKET, { op: 'register', id, pid: holder.pid!, root: '', bind: false })).toMatchObject({
      ok: true,
    });
    // Path-routed: the registered container's figures whoever reads, here a host reader.
    expect(memTotal(await runIn(null, ['cat', `${MNT}/${id}/proc/meminfo`]))).toBe('MemTotal:         393216 kB');
    expect(memTotal(await runIn(null, ['cat', `${MNT}/proc/meminfo`]))).toBe(
      memTotal(readFileSync('/proc/meminfo', 'utf8')),
    );
    const refused = await ask(SOCKET, { op: 'register', id: 'proc', pid: holder.pid!, root: '', bind: false });
    expect(refused).toEqual({ ok: false, error: expect.stringContaining('register proc: the id is reserved') });
    expect(await ask(SOCKET, { op: 'unregister', id })).toEqual({ ok: true, known: true });
    holder.kill('SIGKILL');
    await once(holder, 'exit');
  });

  it("closes the daemon's descriptors of a reader cgroup once the cgroup is gone; another cgroup keeps its own", async () => {
    const d = await openCgroup({ id: `rdr${process.pid}fd` });
    made.push(d);
    await d.create();
    await d.apply(limits(128 * MiB, 20_000, [0]));
    const daemonPid = daemon!.child.pid!;
    const files = ['meminfo', 'stat', 'cpuinfo', 'uptime', 'loadavg'].map((v) => `${MNT}/proc/${v}`);
    // Reads from both cgroups until some worker keeps descriptors of each one's cgroup files.
    await waitFor(async () => {
      await runIn(d, ['cat', ...files]);
      await runIn(a, ['cat', ...files]);
      return descriptorsUnder(daemonPid, d.dirs).length > 0 && descriptorsUnder(daemonPid, a.dirs).length > 0;
    }, 'descriptors kept for both reader cgroups');
    await d.destroy();
    // The daemon frees the gone cgroup's table entry at its next load tick (every 5 s); each worker
    // closes its descriptors at its next request: keep reading from the other cgroup.
    await waitFor(
      async () => {
        await runIn(a, ['cat', ...files]);
        return descriptorsUnder(daemonPid, d.dirs).length === 0;
      },
      'every descriptor of the removed cgroup closed',
      20_000,
    ).catch((err: Error) => {
      throw new Error(`${err.message}: still open: ${descriptorsUnder(daemonPid, d.dirs).join(' ')}`);
    });
    expect(descriptorsUnder(daemonPid, a.dirs).length).toBeGreaterThan(0);
  });

  it('drops a reader cgroup from the shared table once the cgroup is gone (and not before)', async () => {
    const c = await openCgroup({ id: `rdr${process.pid}c` });
    made.push(c);
    await c.create();
    await c.apply(limits(128 * MiB, 20_000, [0]));
    const member = await startIn(c, ['sleep', '60']);
    await waitFor(
      () => readFileSync(`/proc/${member.pid}/cmdline`, 'utf8').startsWith('sleep'),
      'the member to exec sleep',
    );
    const mode = detectLayout(
      readFileSync('/proc/self/cgroup', 'utf8'),
      readFileSync('/proc/self/mountinfo', 'utf8'),
    ).mode;
    const key = readerCgroupKey(readFileSync(`/proc/${member.pid}/cgroup`, 'utf8'), mode)!;
    const data = createReaderTable(4);
    const table = new ReaderTable(data);
    const shared = new SharedViews(createSharedViewData(4));
    const loads = new ReaderLoads(data, shared, 0);
    expect(table.findOrClaim(key, (i) => shared.resetSlot(i))).not.toBeNull();
    loads.tick();
    expect(table.live().map((e) => e.key)).toEqual([key]);
    member.kill('SIGKILL');
    await once(member, 'exit');
    await c.destroy();
    loads.tick();
    expect(table.live()).toEqual([]);
  });
});

describe.skipIf(skip)('procfs serve --mount where something is mounted', () => {
  const dir = `/run/sandbox-procfs/test-occupied-${process.pid}`;

  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  /** Run `script` in a private mount namespace of its own (nothing it mounts reaches the host). */
  const privately = (script: string) =>
    spawnSync('unshare', ['-m', '--propagation', 'private', 'sh', '-c', script], { encoding: 'utf8', timeout: 60_000 });

  it('refuses a directory with a mount on it: one line, exit 125, nothing created', () => {
    mkdirSync(`${dir}/mnt`, { recursive: true });
    const r = privately(
      `mount -t tmpfs sandbox-test ${dir}/mnt && exec "${process.execPath}" "${CLI}" procfs serve --mount ${dir}/mnt --socket ${dir}/sock/api.sock`,
    );
    expect(r.status).toBe(125);
    expect(r.stderr.trim().split('\n')).toEqual([
      `sandbox: procfs serve: --mount ${dir}/mnt: tmpfs is already mounted there; stop what serves it or choose another --mount`,
    ]);
    expect(existsSync(`${dir}/sock`)).toBe(false);
  });

  it.skipIf(!existsSync('/var/lib/lxcfs'))(
    'refuses /var/lib/lxcfs when something is mounted there (here a tmpfs of its own namespace)',
    () => {
      const r = privately(
        `mount -t tmpfs sandbox-test /var/lib/lxcfs && exec "${process.execPath}" "${CLI}" procfs serve --mount /var/lib/lxcfs --socket ${dir}/sock/api.sock`,
      );
      expect(r.status).toBe(125);
      expect(r.stderr.trim().split('\n')).toEqual([
        'sandbox: procfs serve: --mount /var/lib/lxcfs: tmpfs is already mounted there (lxcfs?); stop what serves it or choose another --mount',
      ]);
    },
  );

  it('serves at /var/lib/lxcfs itself, so a recipe that hard-codes it works (in a namespace where /var/lib is a fresh tmpfs)', () => {
    mkdirSync(dir, { recursive: true });
    const script = [
      'set -e',
      'mount -t tmpfs sandbox-test /var/lib',
      'mkdir /var/lib/lxcfs',
      `"${process.execPath}" "${CLI}" procfs serve --mount /var/lib/lxcfs --socket ${dir}/sock/api.sock 2>${dir}/log &`,
      'daemon=$!',
      'i=0; while [ ! -e /var/lib/lxcfs/proc/meminfo ]; do sleep 0.05; i=$((i+1)); [ $i -lt 600 ]; done',
      'head -1 /var/lib/lxcfs/proc/meminfo',
      'ls /var/lib/lxcfs',
      'kill $daemon; wait $daemon',
    ].join('\n');
    const r = privately(script);
    expect(r.status, r.stderr + (existsSync(`${dir}/log`) ? readFileSync(`${dir}/log`, 'utf8') : '')).toBe(0);
    expect(r.stdout.trim().split('\n')).toEqual([memTotal(readFileSync('/proc/meminfo', 'utf8')), 'proc', 'sys']);
    expect(readFileSync(`${dir}/log`, 'utf8')).toContain('stopped');
  });
});
