// create/apply/addPid/destroy of the v1 manager on temp COPIES of the busy-256M capture, through a
// CgroupFs that emulates cgroupfs (kernfs.ts). Expected file contents are the kernel's formats.
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { UnsupportedFlagError } from '../../../../supervisor/errors.js';
import { errnoCode } from '../../../../supervisor/cgroup/fs.js';
import { openCgroup } from '../../../../supervisor/cgroup/index.js';
import type { CgroupManager } from '../../../../supervisor/cgroup/types.js';
import { ownPath, V1_MOUNTS, v1Scenario, LIMITS_20PCT_256M } from './fixture-files.js';
import { copyFixture, KernfsFixture, removeCopy } from './kernfs.js';

const MEMORY_OWN = `/sys/fs/cgroup/memory${ownPath(v1Scenario('busy-256M'), 'memory')}`;
const OWN: Record<string, string> = {
  cpuset: '/sys/fs/cgroup/cpuset',
  cpu: '/sys/fs/cgroup/cpu',
  cpuacct: '/sys/fs/cgroup/cpuacct',
  memory: MEMORY_OWN,
  pids: '/sys/fs/cgroup/pids',
  freezer: '/sys/fs/cgroup/freezer',
  blkio: '/sys/fs/cgroup/blkio',
};
const MiB = 1024 * 1024;

const LIMITS = LIMITS_20PCT_256M;

let root: string;
let fs: KernfsFixture;
let signals: Array<[number, NodeJS.Signals]>;
/** Whether the stub kill makes the process exit (as SIGKILL does). */
let killExits: boolean;

beforeEach(async () => {
  root = await copyFixture(v1Scenario('busy-256M'));
  fs = new KernfsFixture(root, (dir) => join(dir, '..', 'sandbox-fixture'), V1_MOUNTS, false);
  signals = [];
  killExits = true;
});
/** Exits the stub kill started (each removes a pid from the copy's cgroup.procs files). */
const exits: Promise<void>[] = [];
afterEach(async () => {
  // A stub SIGKILL's exit may still be removing the pid from the copy: let it end first.
  await Promise.allSettled(exits.splice(0));
  await removeCopy(root);
});

async function open(id: string): Promise<CgroupManager> {
  return openCgroup({
    id,
    fs,
    kill: (pid, sig) => {
      signals.push([pid, sig]);
      if (killExits && sig === 'SIGKILL') exits.push(fs.exitPid(pid));
    },
  });
}

/** Content of a control file of sandbox `id` in a hierarchy. */
function file(id: string, ctrl: string, name: string): string {
  return readFileSync(join(root, OWN[ctrl]!, `sandbox-${id}`, name), 'utf8');
}

function leafExists(id: string, ctrl: string): boolean {
  return existsSync(join(root, OWN[ctrl]!, `sandbox-${id}`));
}

/** Written values, in order, for files of one name. */
function writesTo(name: string): string[] {
  return fs.log.filter((o) => o.op === 'write' && o.path.endsWith(`/${name}`)).map((o) => o.value!);
}

/** Order of the first writes to these files. */
function writeOrder(...names: string[]): string[] {
  return fs.log
    .filter((o) => o.op === 'write' && names.some((n) => o.path.endsWith(`/${n}`)))
    .map((o) => o.path.split('/').pop()!);
}

describe('v1 create', () => {
  it('makes sandbox-<id> under the own cgroup of every hierarchy and seeds cpuset from the parent', async () => {
    const cg = await open('t1');
    await cg.create();
    for (const ctrl of Object.keys(OWN)) expect(leafExists('t1', ctrl), ctrl).toBe(true);
    // The parent is the cpuset root: cpus "0-1", mems "0" on this 2-CPU machine.
    expect(file('t1', 'cpuset', 'cpuset.cpus')).toBe(
      readFileSync(join(root, '/sys/fs/cgroup/cpuset/cpuset.cpus'), 'utf8').trim(),
    );
    expect(file('t1', 'cpuset', 'cpuset.cpus')).toBe('0-1');
    expect(file('t1', 'cpuset', 'cpuset.mems')).toBe('0');
    expect(cg.dirs).toContain(join(root, MEMORY_OWN, 'sandbox-t1'));
  });

  it('turns on blk-throttle accounting for every whole disk in /sys/block: "MAJ:MIN 0" (no limit) into the blkio leaf', async () => {
    // This machine's disks (ls /sys/block; cat /sys/block/*/dev), added to the copy.
    for (const [name, dev] of [
      ['vda', '254:0'],
      ['zram0', '253:0'],
      ['loop0', '7:0'],
    ] as const) {
      mkdirSync(join(root, 'sys/block', name), { recursive: true });
      writeFileSync(join(root, 'sys/block', name, 'dev'), `${dev}\n`);
    }
    const cg = await open('io1');
    await cg.create();
    const writes = fs.log.filter((o) => o.op === 'write' && o.path.endsWith('/blkio.throttle.read_bps_device'));
    expect(writes.map((o) => o.path)).toEqual(
      Array(3).fill('/sys/fs/cgroup/blkio/sandbox-io1/blkio.throttle.read_bps_device'),
    );
    expect(writes.map((o) => o.value).sort()).toEqual(['253:0 0', '254:0 0', '7:0 0']);
  });

  it('a disk that vanished (ENODEV) is skipped; another refusal fails create and undoes it', async () => {
    mkdirSync(join(root, 'sys/block/vda'), { recursive: true });
    writeFileSync(join(root, 'sys/block/vda/dev'), '254:0\n');
    fs.failOn('write', 'blkio.throttle.read_bps_device', 'ENODEV');
    await (await open('io2')).create();
    expect(leafExists('io2', 'blkio')).toBe(true);
    fs.failOn('write', 'blkio.throttle.read_bps_device', 'EPERM');
    const err = await (await open('io3')).create().then(
      () => null,
      (e: unknown) => e as Error,
    );
    expect(err?.message).toBe(
      `cgroup v1 create: write ${join(root, '/sys/fs/cgroup/blkio/sandbox-io3/blkio.throttle.read_bps_device')} "254:0 0": EPERM (errno 1)`,
    );
    for (const ctrl of Object.keys(OWN)) expect(leafExists('io3', ctrl), ctrl).toBe(false);
  });

  it('leaves nothing behind when a step fails, and the error names file, value and errno', async () => {
    fs.failOn('write', 'cpuset.mems', 'EACCES');
    const cg = await open('t2');
    const err = await cg.create().then(
      () => null,
      (e: unknown) => e as Error,
    );
    expect(err?.message).toBe(
      `cgroup v1 create: write ${join(root, '/sys/fs/cgroup/cpuset/sandbox-t2/cpuset.mems')} "0": EACCES (errno 13)`,
    );
    expect(errnoCode(err)).toBe('EACCES');
    for (const ctrl of Object.keys(OWN)) expect(leafExists('t2', ctrl), ctrl).toBe(false);
    expect(fs.log.filter((o) => o.op === 'rmdir')).toHaveLength(7);
  });

  it('refuses an existing leaf (EEXIST) without removing it', async () => {
    const cg = await open('fixture');
    await expect(cg.create()).rejects.toThrow(/mkdir .*sandbox-fixture: EEXIST \(errno 17\)/);
    for (const ctrl of Object.keys(OWN)) expect(leafExists('fixture', ctrl), ctrl).toBe(true);
  });
});

describe('v1 apply io', () => {
  it('--io-weight -> blkio.bfq.weight; each disk gets all four throttle files, 0 = none', async () => {
    const cg = await open('io1');
    await cg.create();
    const io = {
      weight: 300,
      devices: [{ major: 254, minor: 0, readBps: null, writeBps: 2 * MiB, readIops: 500, writeIops: null }],
    };
    await cg.apply({ ...LIMITS, io });
    expect(writesTo('blkio.bfq.weight')).toEqual(['300']);
    expect(writesTo('blkio.throttle.write_bps_device')).toEqual(['254:0 2097152']);
    expect(writesTo('blkio.throttle.read_iops_device')).toEqual(['254:0 500']);
    expect(writesTo('blkio.throttle.write_iops_device')).toEqual(['254:0 0']);
    // read_bps_device: create()'s accounting writes ("MAJ:MIN 0" per disk), then the limit's 0.
    expect(writesTo('blkio.throttle.read_bps_device').at(-1)).toBe('254:0 0');
    expect(file('io1', 'blkio', 'blkio.bfq.weight')).toBe('300');
    expect(writesTo('blkio.weight')).toEqual([]);
  });

  /** Make the captured blkio leaf (the template of new leaves) hold exactly these weight files. */
  function weightFiles(...names: string[]): void {
    const template = join(root, OWN.blkio!, 'sandbox-fixture');
    for (const name of ['blkio.bfq.weight', 'blkio.weight']) rmSync(join(template, name), { force: true });
    for (const name of names) writeFileSync(join(template, name), name === 'blkio.weight' ? '500\n' : '100\n');
  }

  it("only CFQ's legacy blkio.weight (kernels before 5.0 without bfq): the weight lands there", async () => {
    weightFiles('blkio.weight');
    const cg = await open('io2');
    await cg.create();
    await cg.apply({ ...LIMITS, io: { weight: 300, devices: [] } });
    expect(writesTo('blkio.weight')).toEqual(['300']);
    expect(file('io2', 'blkio', 'blkio.weight')).toBe('300');
    expect(existsSync(join(root, OWN.blkio!, 'sandbox-io2', 'blkio.bfq.weight'))).toBe(false);
  });

  it('both files (bfq and CFQ on one kernel): the weight lands in both', async () => {
    weightFiles('blkio.bfq.weight', 'blkio.weight');
    const cg = await open('io3');
    await cg.create();
    await cg.apply({ ...LIMITS, io: { weight: 300, devices: [] } });
    expect(writesTo('blkio.bfq.weight')).toEqual(['300']);
    expect(writesTo('blkio.weight')).toEqual(['300']);
  });

  it('no weight file (no bfq): one line naming --io-weight and the value, and nothing is written', async () => {
    weightFiles();
    const cg = await open('io4');
    await cg.create();
    const before = fs.log.length;
    const io = {
      weight: 300,
      devices: [{ major: 254, minor: 0, readBps: null, writeBps: 2 * MiB, readIops: null, writeIops: null }],
    };
    const err = await cg.apply({ ...LIMITS, io }).catch((e: unknown) => e as Error);
    expect(err).toBeInstanceOf(UnsupportedFlagError);
    expect((err as UnsupportedFlagError).exitCode).toBe(125);
    expect((err as Error).message).toBe(
      `--io-weight 300: this kernel has no proportional I/O scheduler for cgroups: no blkio.bfq.weight or blkio.weight in ${join(root, OWN.blkio!, 'sandbox-io4')} (bfq is neither built in nor loaded: modprobe bfq, or run without --io-weight)`,
    );
    // Checked before any write: an `update` refused for its weight changes no other limit either.
    expect(fs.log.slice(before)).toEqual([]);
    // Without a weight the same leaf takes the throttles.
    await cg.apply({ ...LIMITS, io: { ...io, weight: null } });
    expect(writesTo('blkio.throttle.write_bps_device')).toEqual(['254:0 2097152']);
  });
});

describe('v1 apply', () => {
  it('20% / 256M / 4096 / CPU 1 writes exactly the kernel values', async () => {
    const cg = await open('a1');
    await cg.create();
    await cg.apply(LIMITS);
    expect(file('a1', 'cpu', 'cpu.cfs_quota_us')).toBe('20000');
    expect(file('a1', 'cpu', 'cpu.cfs_period_us')).toBe('100000');
    expect(file('a1', 'cpu', 'cpu.shares')).toBe('1024\n'); // untouched: weight null
    expect(file('a1', 'cpu', 'cpu.cfs_burst_us')).toBe('0\n'); // untouched: burst null
    expect(file('a1', 'cpuset', 'cpuset.cpus')).toBe('1');
    expect(file('a1', 'memory', 'memory.limit_in_bytes')).toBe('268435456');
    expect(file('a1', 'memory', 'memory.memsw.limit_in_bytes')).toBe('268435456'); // memory + 0 swap
    expect(file('a1', 'pids', 'pids.max')).toBe('4096');
    // Period before quota (period not lowered); memory before memsw (lowering from unlimited).
    expect(writeOrder('cpu.cfs_period_us', 'cpu.cfs_quota_us')).toEqual(['cpu.cfs_period_us', 'cpu.cfs_quota_us']);
    expect(writeOrder('memory.limit_in_bytes', 'memory.memsw.limit_in_bytes')).toEqual([
      'memory.limit_in_bytes',
      'memory.memsw.limit_in_bytes',
    ]);
    // And stats() reads back what was written.
    const stats = cg.stats();
    expect(stats.memory.limitBytes).toBe(256 * MiB);
    expect(stats.memory.swapLimitBytes).toBe(0);
    expect(stats.cpu.quotaUs).toBe(20000);
    expect(stats.cpu.periodUs).toBe(100000);
    expect(stats.pids.max).toBe(4096);
  });

  it('weight -> cpu.shares (systemd mapping), burst after a raised quota, swap in memsw', async () => {
    const cg = await open('a2');
    await cg.create();
    await cg.apply({
      ...LIMITS,
      cpuQuotaUs: 150000,
      cpuBurstUs: 50000,
      cpuWeight: 50,
      cpusetCpus: [0, 1],
      swapBytes: 64 * MiB,
    });
    expect(file('a2', 'cpu', 'cpu.shares')).toBe('512');
    expect(file('a2', 'cpu', 'cpu.cfs_quota_us')).toBe('150000');
    expect(file('a2', 'cpu', 'cpu.cfs_burst_us')).toBe('50000');
    expect(writeOrder('cpu.cfs_quota_us', 'cpu.cfs_burst_us')).toEqual(['cpu.cfs_quota_us', 'cpu.cfs_burst_us']);
    expect(file('a2', 'cpuset', 'cpuset.cpus')).toBe('0-1');
    expect(file('a2', 'memory', 'memory.memsw.limit_in_bytes')).toBe(String(320 * MiB));
    expect(cg.stats().memory.swapLimitBytes).toBe(64 * MiB);
  });

  it('orders writes so each intermediate state is valid when re-applying', async () => {
    const cg = await open('a3');
    await cg.create();
    await cg.apply(LIMITS);
    fs.log.length = 0;
    // Raising memory: memsw first (memsw >= memory at every step).
    await cg.apply({ ...LIMITS, memoryBytes: 512 * MiB });
    expect(writeOrder('memory.limit_in_bytes', 'memory.memsw.limit_in_bytes')).toEqual([
      'memory.memsw.limit_in_bytes',
      'memory.limit_in_bytes',
    ]);
    fs.log.length = 0;
    // Shorter period: quota first (the ratio never exceeds old or new).
    await cg.apply({ ...LIMITS, cpuQuotaUs: 10000, cpuPeriodUs: 50000 });
    expect(writeOrder('cpu.cfs_period_us', 'cpu.cfs_quota_us')).toEqual(['cpu.cfs_quota_us', 'cpu.cfs_period_us']);
    expect(file('a3', 'cpu', 'cpu.cfs_period_us')).toBe('50000');
    fs.log.length = 0;
    // No limits: -1 / -1 (memsw first) / max.
    await cg.apply({ ...LIMITS, cpuQuotaUs: null, memoryBytes: null, pidsMax: null });
    expect(file('a3', 'cpu', 'cpu.cfs_quota_us')).toBe('-1');
    expect(writesTo('memory.memsw.limit_in_bytes')).toEqual(['-1']);
    expect(writeOrder('memory.limit_in_bytes', 'memory.memsw.limit_in_bytes')).toEqual([
      'memory.memsw.limit_in_bytes',
      'memory.limit_in_bytes',
    ]);
    expect(file('a3', 'pids', 'pids.max')).toBe('max');
    const stats = cg.stats();
    expect(stats.memory.limitBytes).toBeNull();
    expect(stats.memory.swapLimitBytes).toBeNull();
    expect(stats.cpu.quotaUs).toBeNull();
    expect(stats.pids.max).toBeNull();
  });

  it('a kernel refusal names the step, the full path, the value and the errno', async () => {
    const cg = await open('a4');
    await cg.create();
    fs.failOn('write', 'memory.limit_in_bytes', 'EBUSY');
    const err = await cg.apply(LIMITS).then(
      () => null,
      (e: unknown) => e as Error,
    );
    expect(err?.message).toBe(
      `cgroup v1 apply memory: write ${join(root, MEMORY_OWN, 'sandbox-a4/memory.limit_in_bytes')} "268435456": EBUSY (errno 16)`,
    );
    expect(errnoCode(err)).toBe('EBUSY');
  });

  it('swap without memsw files (no swap accounting) is refused naming --swap, before any write; no swap then writes only memory', async () => {
    const cg = await open('a5');
    await cg.create();
    await rm(join(root, MEMORY_OWN, 'sandbox-a5', 'memory.memsw.limit_in_bytes'));
    const before = fs.log.length;
    const err = await cg.apply({ ...LIMITS, swapBytes: MiB }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UnsupportedFlagError);
    expect((err as UnsupportedFlagError).exitCode).toBe(125);
    expect((err as Error).message).toBe(
      `--swap 1 MiB: this kernel does not account swap for cgroups: no memory.memsw.limit_in_bytes in ${join(root, MEMORY_OWN, 'sandbox-a5')} (boot with swapaccount=1, or run without --swap)`,
    );
    expect(fs.log.slice(before).filter((o) => o.op === 'write')).toEqual([]);
    await cg.apply(LIMITS);
    expect(file('a5', 'memory', 'memory.limit_in_bytes')).toBe('268435456');
  });

  it('cpu burst on a kernel without cfs_burst_us is an error', async () => {
    const cg = await open('a6');
    await cg.create();
    await rm(join(root, OWN.cpu!, 'sandbox-a6', 'cpu.cfs_burst_us'));
    await expect(cg.apply({ ...LIMITS, cpuBurstUs: 1000 })).rejects.toThrow(
      /cgroup v1 apply cpu: .*cpu\.cfs_burst_us does not exist/,
    );
  });
});

describe('v1 addPid, killAll, destroy', () => {
  it('addPid joins cpuset first, then every other hierarchy', async () => {
    const cg = await open('d1');
    await cg.create();
    await cg.addPid(4242);
    const joins = fs.log.filter((o) => o.op === 'write' && o.path.endsWith('/cgroup.procs'));
    expect(joins.map((o) => o.path.split('/')[4])).toEqual([
      'cpuset',
      'cpu',
      'cpuacct',
      'memory',
      'pids',
      'freezer',
      'blkio',
    ]);
    expect(joins.every((o) => o.value === '4242')).toBe(true);
    expect(cg.pids()).toEqual([4242]);
  });

  it('destroy freezes, SIGKILLs every pid, thaws, waits until empty and removes every leaf; twice is fine', async () => {
    const cg = await open('d2');
    await cg.create();
    await cg.addPid(4242);
    await cg.addPid(4343);
    await cg.destroy();
    // Each poll re-kills whatever is still listed, so a pid may be signalled more than once.
    expect([...new Set(signals.map(([pid, sig]) => `${pid} ${sig}`))]).toEqual(['4242 SIGKILL', '4343 SIGKILL']);
    expect(writesTo('freezer.state').slice(0, 2)).toEqual(['FROZEN', 'THAWED']);
    for (const ctrl of Object.keys(OWN)) expect(leafExists('d2', ctrl), ctrl).toBe(false);
    fs.log.length = 0;
    await cg.destroy();
    expect(fs.log).toEqual([]);
  });

  it('destroy retries rmdir on EBUSY', async () => {
    const cg = await open('d3');
    await cg.create();
    fs.failOn('rmdir', `${MEMORY_OWN}/sandbox-d3`, 'EBUSY', 2);
    await cg.destroy();
    expect(fs.log.filter((o) => o.op === 'rmdir' && o.path.endsWith(`${MEMORY_OWN}/sandbox-d3`))).toHaveLength(3);
    expect(leafExists('d3', 'memory')).toBe(false);
  });

  it('destroy removes every other leaf when one cannot be removed, and names the one that stayed', async () => {
    const cg = await open('d5');
    await cg.create();
    fs.failOn('rmdir', `${MEMORY_OWN}/sandbox-d5`, 'EACCES', 100);
    await expect(cg.destroy()).rejects.toThrow(
      new RegExp(`cgroup v1 destroy sandbox-d5: rmdir \\S*${MEMORY_OWN}/sandbox-d5: EACCES`),
    );
    for (const ctrl of Object.keys(OWN)) expect(leafExists('d5', ctrl), ctrl).toBe(ctrl === 'memory');
  });

  it('destroy of the captured leaf kills the captured holder pid (through the stub)', async () => {
    const cg = await open('fixture');
    const holder = Number(readFileSync(join(root, MEMORY_OWN, 'sandbox-fixture/cgroup.procs'), 'utf8'));
    await cg.destroy();
    expect(new Set(signals.map(([pid, sig]) => `${pid} ${sig}`))).toEqual(new Set([`${holder} SIGKILL`]));
    for (const ctrl of Object.keys(OWN)) expect(leafExists('fixture', ctrl), ctrl).toBe(false);
  });

  it('gives up with a clear error when a pid never leaves', async () => {
    killExits = false;
    const cg = await open('d4');
    await cg.create();
    await cg.addPid(4242);
    await expect(cg.destroy()).rejects.toThrow(
      /cgroup v1 destroy sandbox-d4: still holds pid\(s\) 4242 2000 ms after SIGKILL/,
    );
    expect(leafExists('d4', 'memory')).toBe(true);
  });

  it('killAll(SIGTERM) signals each pid without the freezer', async () => {
    const cg = await open('d5');
    await cg.create();
    await cg.addPid(7);
    await cg.killAll('SIGTERM');
    expect(signals).toEqual([[7, 'SIGTERM']]);
    expect(writesTo('freezer.state')).toEqual([]);
  });

  it('refuses to signal real pids when the root is a fixture and no kill function is given', async () => {
    const cg = await openCgroup({ id: 'fixture', fs });
    await expect(cg.destroy()).rejects.toThrow(/refusing to signal pid \d+/);
  });
});
