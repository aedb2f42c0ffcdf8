// The cgroup manager on the REAL hierarchy of this machine, as root: create, apply, addPid of a
// spawned child, stats, killAll, destroy. Skips visibly without root or a writable cgroupfs, and
// fails instead when SANDBOX_TEST_MUST_RUN=1 (test/helpers/skip.ts). Every cgroup is made under
// this process's own cgroup and removed; only processes spawned here are signalled.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import {
  accessSync,
  constants,
  existsSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmdirSync,
  rmSync,
  statSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseCpuList } from '../../supervisor/cgroup/cpulist.js';
import { detectLayout } from '../../supervisor/cgroup/detect.js';
import { openCgroup } from '../../supervisor/cgroup/index.js';
import type { CgroupLimits, CgroupManager } from '../../supervisor/cgroup/types.js';
import { SUPERVISOR_LEAF, sandboxParent } from '../../supervisor/cgroup/v2/delegate.js';
import { parseDiskstats } from '../../procfs/parse/diskstats.js';
import { renderDiskstats } from '../../procfs/views/diskstats.js';
import { DISK_DIR, diskOf } from '../helpers/disk.js';
import { machineLacks, needsSetup, requireOrSkip, type Missing } from '../helpers/skip.js';
import { waitFor } from '../helpers/wait.js';

const MiB = 1024 * 1024;
/** Leaves made by this file are "sandbox-itest-<pid>-<n>": only those are ever cleaned up here. */
const PREFIX = `itest-${process.pid}-`;
let counter = 0;

/** The directories sandbox leaves go under: the own cgroup of every hierarchy (v1) or the v2 parent. */
function ownDirs(): string[] {
  const layout = detectLayout(readFileSync('/proc/self/cgroup', 'utf8'), readFileSync('/proc/self/mountinfo', 'utf8'));
  if (layout.mode === 'v1') return layout.hierarchies.map((h) => h.ownDir);
  return [sandboxParent(layout.ownDir, layout.mountpoint)];
}

/** What creating real cgroups needs that is missing here (root, a writable cgroupfs), or null. */
function unavailable(): Missing | null {
  if (process.getuid?.() !== 0) return needsSetup('needs root (creates real cgroups)');
  let dirs: string[];
  try {
    dirs = ownDirs();
  } catch (err) {
    return needsSetup(`no usable cgroup hierarchy (${(err as Error).message})`);
  }
  for (const dir of dirs) {
    try {
      accessSync(dir, constants.W_OK);
    } catch {
      return needsSetup(`${dir} is not writable (read-only cgroupfs?)`);
    }
  }
  return null;
}

const skip = requireOrSkip(unavailable());

/** sandbox-* entries under the own cgroups. */
function sandboxDirs(): string[] {
  // The v2 delegation leaf (where the runner's processes move so controllers can be enabled) stays by design.
  return ownDirs().flatMap((d) =>
    readdirSync(d)
      .filter((n) => n.startsWith('sandbox-') && n !== SUPERVISOR_LEAF)
      .map((n) => join(d, n)),
  );
}

describe.skipIf(skip)('cgroup manager on the real hierarchy', () => {
  let before: Set<string>;
  const children: ChildProcess[] = [];
  const files: string[] = [];

  beforeEach(() => {
    before = new Set(sandboxDirs());
  });

  afterEach(async () => {
    for (const child of children.splice(0)) {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGKILL');
        await once(child, 'exit');
      }
    }
    for (const f of files.splice(0)) rmSync(f, { force: true });
    // Cgroups other sandboxes on this machine may be creating concurrently aren't ours to judge or remove.
    const left = sandboxDirs().filter((d) => !before.has(d));
    for (const d of left.filter((x) => x.includes(`/sandbox-${PREFIX}`))) {
      try {
        rmdirSync(d);
      } catch {
        // still busy: the assertion below reports it
      }
    }
    expect(left).toEqual([]);
  });

  /** A child that joins the cgroup, then on "go" writes 4 MiB of page cache (charged to the cgroup) and sleeps 30 s (same pid). */
  function spawnWorkload(): { child: ChildProcess; file: string } {
    const file = join(tmpdir(), `cgroup-itest-${process.pid}-${counter}.bin`);
    files.push(file);
    const child = spawn('sh', ['-c', `read go; head -c ${4 * MiB} /dev/zero > ${file}; exec sleep 30`], {
      stdio: ['pipe', 'ignore', 'inherit'],
    });
    children.push(child);
    return { child, file };
  }

  const limits = (cpus: number[]): CgroupLimits => ({
    cpuQuotaUs: 20000,
    cpuPeriodUs: 100000,
    cpuBurstUs: null,
    cpuWeight: null,
    cpusetCpus: cpus,
    memoryBytes: 256 * MiB,
    swapBytes: 0,
    pidsMax: 4096,
  });
  const onlineCpus = (): number[] => parseCpuList(readFileSync('/sys/devices/system/cpu/online', 'utf8'));

  it('primeAttach moves nothing (this process stays where it is) and ends once a pid has joined the leaf', async () => {
    const id = `${PREFIX}${++counter}`;
    const cg = await openCgroup({ id });
    await cg.create();
    try {
      await cg.apply(limits([onlineCpus()[0]!]));
      const own = readFileSync('/proc/self/cgroup', 'utf8');
      const primed = cg.primeAttach();
      const { child } = spawnWorkload();
      await cg.addPid(child.pid!);
      await primed; // returns once the leaf is populated (or after its bound), never rejects
      expect(readFileSync('/proc/self/cgroup', 'utf8')).toBe(own);
      expect(cg.pids()).toEqual([child.pid]);
    } finally {
      await cg.destroy();
    }
  });

  it('create, apply, addPid, stats, destroy: the child is killed and every dir removed', async () => {
    const id = `${PREFIX}${++counter}`;
    const cg: CgroupManager = await openCgroup({ id });
    await cg.create();
    try {
      expect(cg.dirs.length).toBeGreaterThan(0);
      for (const d of cg.dirs) {
        expect(d.endsWith(`/sandbox-${id}`)).toBe(true);
        expect(ownDirs()).toContain(join(d, '..'));
        expect(statSync(d).isDirectory()).toBe(true);
      }
      const cpu = onlineCpus().at(-1)!; // not always CPU 0
      await cg.apply(limits([cpu]));

      const { child, file } = spawnWorkload();
      await cg.addPid(child.pid!);
      expect(cg.pids()).toEqual([child.pid]);
      expect(readFileSync(`/proc/${child.pid}/cgroup`, 'utf8')).toContain(`/sandbox-${id}\n`);
      child.stdin!.end('go\n');
      await waitFor(
        () => existsSync(file) && statSync(file).size === 4 * MiB,
        'the workload to write its 4 MiB',
        undefined,
        10,
      );

      const s = cg.stats();
      expect(s.pids.current).toBeGreaterThanOrEqual(1);
      expect(s.pids.max).toBe(4096);
      expect(s.memory.limitBytes).toBe(256 * MiB);
      expect(s.memory.usageBytes).toBeGreaterThanOrEqual(4 * MiB); // the page cache written after joining
      expect(s.memory.stat.file).toBeGreaterThanOrEqual(4 * MiB);
      expect(s.memory.oomKills).toBe(0);
      expect(s.cpu.quotaUs).toBe(20000);
      expect(s.cpu.periodUs).toBe(100000);
      expect(s.cpu.cpus).toEqual([cpu]);
      expect(cg.threads()).toContain(child.pid);

      const exited = once(child, 'exit');
      await cg.destroy();
      const [code, signal] = (await exited) as [number | null, NodeJS.Signals | null];
      expect({ code, signal }).toEqual({ code: null, signal: 'SIGKILL' });
      for (const d of cg.dirs) expect(existsSync(d), d).toBe(false);
      await cg.destroy(); // idempotent
    } finally {
      await cg.destroy().catch(() => undefined);
    }
  });

  it('killAll(SIGTERM) reaches the child; a refused limit names path, value and errno', async () => {
    const id = `${PREFIX}${++counter}`;
    const cg = await openCgroup({ id });
    await cg.create();
    try {
      const err = await cg.apply(limits([9999])).then(
        () => null,
        (e: unknown) => e as Error,
      );
      expect(err?.message).toMatch(
        new RegExp(
          `^cgroup v[12] apply cpuset: write /sys/fs/cgroup/.*sandbox-${id}/cpuset\\.cpus "9999": E[A-Z]+ \\(errno \\d+\\)$`,
        ),
      );
      await cg.apply(limits([onlineCpus()[0]!]));
      const { child } = spawnWorkload();
      await cg.addPid(child.pid!);
      const exited = once(child, 'exit');
      await cg.killAll('SIGTERM');
      expect((await exited)[1]).toBe('SIGTERM');
      await cg.destroy();
      for (const d of cg.dirs) expect(existsSync(d), d).toBe(false);
    } finally {
      await cg.destroy().catch(() => undefined);
    }
  });
  const noDisk =
    diskOf(DISK_DIR) === null ? machineLacks(`${DISK_DIR} is on no block device: no disk I/O to count`) : null;
  it.skipIf(requireOrSkip(noDisk))(
    'ioStats(): an 8 MiB O_DIRECT write inside shows on its disk, and /proc/diskstats renders it',
    async () => {
      const dir = mkdtempSync(`${DISK_DIR}/cgroup-itest-io-`);
      const disk = diskOf(dir);
      if (disk === null) throw new Error(`${dir} is on no block device, though ${DISK_DIR} is`);
      const cg = await openCgroup({ id: `${PREFIX}${counter++}` });
      await cg.create();
      try {
        await cg.apply(limits([0]));
        const child = spawn(
          'sh',
          ['-c', `read go; exec dd if=/dev/zero of=${dir}/f bs=1M count=8 oflag=direct status=none`],
          { stdio: ['pipe', 'ignore', 'inherit'] },
        );
        children.push(child);
        await cg.addPid(child.pid!);
        expect(cg.ioStats().devices.find((d) => d.major === disk.major && d.minor === disk.minor)?.wbytes ?? 0).toBe(0);
        child.stdin?.end('go\n');
        const [code] = (await once(child, 'exit')) as [number | null];
        expect(code).toBe(0);
        const io = cg.ioStats();
        const d = io.devices.find((x) => x.major === disk.major && x.minor === disk.minor);
        // The data itself: 8 MiB in at least 8 requests (bios of up to max_sectors_kb); ext4 may add a little metadata.
        expect(d?.wbytes).toBeGreaterThanOrEqual(8 * MiB);
        expect(d?.wbytes).toBeLessThan(9 * MiB);
        expect(d?.wios).toBeGreaterThanOrEqual(8);
        expect(io.devices.every((x) => x.rbytes + x.wbytes + x.dbytes + x.rios + x.wios + x.dios > 0)).toBe(true);
        const out = renderDiskstats(readFileSync('/proc/diskstats', 'utf8'), io);
        const line = parseDiskstats(out).find((l) => l.name === disk.name);
        expect(line?.fields[6]).toBe(Math.floor((d?.wbytes ?? 0) / 512)); // sectors written
        expect(line?.fields[4]).toBe(d?.wios);
        if (cg.mode === 'v1') expect(() => cg.pressureStats('io')).toThrow(/cgroup v2 only/);
        else expect(cg.pressureStats('io').some.totalUs).toBeGreaterThanOrEqual(0);
      } finally {
        await cg.destroy();
        rmSync(dir, { recursive: true, force: true });
      }
    },
  );
});
