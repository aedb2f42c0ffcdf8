// create/apply/addPid/destroy of the v2 manager on temp COPIES of the busy-256M v2 capture,
// through a CgroupFs that emulates cgroupfs, including the "no internal processes" rule.
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { UnsupportedFlagError } from '../../../../supervisor/errors.js';
import { errnoCode } from '../../../../supervisor/cgroup/fs.js';
import { openCgroup } from '../../../../supervisor/cgroup/index.js';
import type { CgroupManager } from '../../../../supervisor/cgroup/types.js';
import { V2_MOUNTINFO, V2_OWN_CGROUP, v2Scenario, LIMITS_20PCT_256M } from './fixture-files.js';
import { copyFixture, KernfsFixture, removeCopy } from './kernfs.js';

const PARENT = '/sys/fs/cgroup/parent';
const MiB = 1024 * 1024;
const LIMITS = LIMITS_20PCT_256M;

let root: string;
let fs: KernfsFixture;
let signals: Array<[number, NodeJS.Signals]>;

beforeEach(async () => {
  root = await copyFixture(v2Scenario('busy-256M'));
  fs = new KernfsFixture(root, () => `${PARENT}/sandbox-test`, ['/sys/fs/cgroup'], true);
  signals = [];
});
/** Exits the stub kill started (each removes a pid from the copy's cgroup.procs files). */
const exits: Promise<void>[] = [];
afterEach(async () => {
  // A stub SIGKILL's exit may still be removing the pid from the copy: let it end first.
  await Promise.allSettled(exits.splice(0));
  await removeCopy(root);
});

function open(id: string, procSelfCgroup = V2_OWN_CGROUP): Promise<CgroupManager> {
  return openCgroup({
    id,
    fs,
    procSelfCgroup,
    mountinfo: V2_MOUNTINFO,
    kill: (pid, sig) => {
      signals.push([pid, sig]);
      if (sig === 'SIGKILL') exits.push(fs.exitPid(pid));
    },
  });
}
const read = (path: string): string => readFileSync(join(root, path), 'utf8');
const put = (path: string, value: string): void => writeFileSync(join(root, path), value);
const writesTo = (name: string): string[] =>
  fs.log.filter((o) => o.op === 'write' && o.path.endsWith(`/${name}`)).map((o) => o.value!);

describe('v2 apply io', () => {
  /** Make the captured leaf (the template of new leaves) hold exactly these io files of the list. */
  function ioFiles(...names: string[]): void {
    const template = join(root, PARENT, 'sandbox-test');
    for (const name of ['io.bfq.weight', 'io.weight', 'io.max', 'io.stat', 'io.pressure'])
      rmSync(join(template, name), { force: true });
    for (const name of names) writeFileSync(join(template, name), name.endsWith('weight') ? 'default 100\n' : '');
  }
  const io = {
    weight: 300,
    devices: [{ major: 254, minor: 0, readBps: null, writeBps: 2 * MiB, readIops: 500, writeIops: null }],
  };

  it('iocost only (the captured 6.1 guest, bfq not loaded): io.weight "default N" and one io.max line per disk ("max" = none)', async () => {
    const cg = await open('io1');
    await cg.create();
    await cg.apply({ ...LIMITS, io });
    expect(writesTo('io.weight')).toEqual(['default 300']);
    expect(writesTo('io.bfq.weight')).toEqual([]);
    expect(writesTo('io.max')).toEqual(['254:0 rbps=max wbps=2097152 riops=500 wiops=max']);
  });

  it('bfq loaded and iocost built in: the weight lands in io.bfq.weight and io.weight', async () => {
    ioFiles('io.bfq.weight', 'io.weight', 'io.max', 'io.stat');
    const cg = await open('io3');
    await cg.create();
    await cg.apply({ ...LIMITS, io });
    expect(writesTo('io.bfq.weight')).toEqual(['default 300']);
    expect(writesTo('io.weight')).toEqual(['default 300']);
    expect(read(`${PARENT}/sandbox-io3/io.bfq.weight`)).toBe('default 300');
  });

  it('bfq only (no iocost): the weight lands in io.bfq.weight', async () => {
    ioFiles('io.bfq.weight', 'io.max', 'io.stat');
    const cg = await open('io4');
    await cg.create();
    await cg.apply({ ...LIMITS, io });
    expect(writesTo('io.bfq.weight')).toEqual(['default 300']);
    expect(existsSync(join(root, PARENT, 'sandbox-io4', 'io.weight'))).toBe(false);
  });

  it('neither weight file: one line naming --io-weight and the value, and nothing is written', async () => {
    ioFiles('io.max', 'io.stat');
    const cg = await open('io5');
    await cg.create();
    const before = fs.log.length;
    const err = await cg.apply({ ...LIMITS, io }).catch((e: unknown) => e as Error);
    expect(err).toBeInstanceOf(UnsupportedFlagError);
    expect((err as UnsupportedFlagError).exitCode).toBe(125);
    expect((err as Error).message).toBe(
      `--io-weight 300: this kernel has no proportional I/O scheduler for cgroups: no io.bfq.weight or io.weight in ${join(root, PARENT, 'sandbox-io5')} (bfq is neither built in nor loaded, iocost is not built in: modprobe bfq, or run without --io-weight)`,
    );
    // Checked before any write: an `update` refused for its weight changes no other limit either.
    expect(fs.log.slice(before)).toEqual([]);
    await cg.apply({ ...LIMITS, io: { ...io, weight: null } });
    expect(writesTo('io.max')).toEqual(['254:0 rbps=max wbps=2097152 riops=500 wiops=max']);
  });

  it('no io controller in the leaf: the weight error says so', async () => {
    ioFiles();
    const cg = await open('io6');
    await cg.create();
    await expect(cg.apply({ ...LIMITS, io })).rejects.toThrow(
      /^--io-weight 300: the io controller is not enabled for .*\/parent\/sandbox-io6 \(its parent's cgroup\.subtree_control lacks "io"\)$/,
    );
  });

  it('without io limits nothing is written to io files', async () => {
    const cg = await open('io2');
    await cg.create();
    await cg.apply(LIMITS);
    expect(writesTo('io.max')).toEqual([]);
    expect(writesTo('io.weight')).toEqual([]);
  });
});

describe('v2 create + apply', () => {
  it('20% / 256M / 4096 / CPU 1 -> cpu.max "20000 100000", memory.swap.max "0"…', async () => {
    const cg = await open('a1');
    await cg.create();
    expect(cg.dirs).toEqual([join(root, PARENT, 'sandbox-a1')]);
    expect(read(`${PARENT}/sandbox-a1/cpuset.cpus`)).toBe(''); // v2: empty = inherit, nothing to seed
    await cg.apply(LIMITS);
    expect(read(`${PARENT}/sandbox-a1/cpu.max`)).toBe('20000 100000');
    expect(read(`${PARENT}/sandbox-a1/memory.max`)).toBe('268435456');
    expect(read(`${PARENT}/sandbox-a1/memory.swap.max`)).toBe('0');
    expect(read(`${PARENT}/sandbox-a1/pids.max`)).toBe('4096');
    expect(read(`${PARENT}/sandbox-a1/cpuset.cpus`)).toBe('1');
    expect(read(`${PARENT}/sandbox-a1/cpu.weight`)).toBe('100\n'); // untouched
    expect(writesTo('cgroup.subtree_control')).toEqual([]); // the parent already delegates everything
  });

  it('no limits -> "max"; weight and burst (after a larger cpu.max) and swap', async () => {
    const cg = await open('a2');
    await cg.create();
    await cg.apply({ ...LIMITS, cpuQuotaUs: null, memoryBytes: null, pidsMax: null });
    expect(read(`${PARENT}/sandbox-a2/cpu.max`)).toBe('max 100000');
    expect(read(`${PARENT}/sandbox-a2/memory.max`)).toBe('max');
    expect(read(`${PARENT}/sandbox-a2/pids.max`)).toBe('max');
    fs.log.length = 0;
    await cg.apply({ ...LIMITS, cpuQuotaUs: 150000, cpuBurstUs: 50000, cpuWeight: 250, swapBytes: 64 * MiB });
    expect(read(`${PARENT}/sandbox-a2/cpu.weight`)).toBe('250');
    expect(read(`${PARENT}/sandbox-a2/cpu.max.burst`)).toBe('50000');
    expect(read(`${PARENT}/sandbox-a2/memory.swap.max`)).toBe(String(64 * MiB));
    const order = fs.log
      .filter((o) => o.op === 'write' && /\/cpu\.max(\.burst)?$/.test(o.path))
      .map((o) => o.path.split('/').pop());
    expect(order).toEqual(['cpu.max', 'cpu.max.burst']);
    const s = cg.stats();
    expect(s.cpu).toMatchObject({ quotaUs: 150000, periodUs: 100000 });
    expect(s.memory.swapLimitBytes).toBe(64 * MiB);
  });

  it('swap without memory.swap.max (no swap accounting) is refused naming --swap, before any write; no swap then works', async () => {
    const cg = await open('a9');
    await cg.create();
    rmSync(join(root, PARENT, 'sandbox-a9', 'memory.swap.max'));
    fs.log.length = 0;
    const err = await cg.apply({ ...LIMITS, swapBytes: 64 * MiB }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UnsupportedFlagError);
    expect((err as UnsupportedFlagError).exitCode).toBe(125);
    expect((err as Error).message).toBe(
      `--swap 64 MiB: this kernel does not account swap for cgroups: no memory.swap.max in ${join(root, PARENT, 'sandbox-a9')} (CONFIG_SWAP off or swapaccount=0; run without --swap)`,
    );
    expect(fs.log.filter((o) => o.op === 'write')).toEqual([]);
    await cg.apply(LIMITS);
    expect(read(`${PARENT}/sandbox-a9/memory.max`)).toBe(String(256 * MiB));
    expect(existsSync(join(root, PARENT, 'sandbox-a9', 'memory.swap.max'))).toBe(false);
  });

  it('a kernel refusal names the step, the full path, the value and the errno', async () => {
    const cg = await open('a3');
    await cg.create();
    fs.failOn('write', 'sandbox-a3/cpuset.cpus', 'EINVAL');
    const err = await cg.apply({ ...LIMITS, cpusetCpus: [0, 1, 2, 3] }).then(
      () => null,
      (e: unknown) => e as Error,
    );
    expect(err?.message).toBe(
      `cgroup v2 apply cpuset: write ${join(root, PARENT, 'sandbox-a3/cpuset.cpus')} "0-3": EINVAL (errno 22)`,
    );
    expect(errnoCode(err)).toBe('EINVAL');
  });
});

describe("v2 no-internal-processes: moving the own cgroup's processes into sandbox-supervisor", () => {
  beforeEach(() => {
    // The state before the guest's shell moved itself: no controllers enabled in /parent, and
    // the two processes of /parent/self still in /parent.
    put(`${PARENT}/cgroup.subtree_control`, '');
    put(`${PARENT}/cgroup.procs`, read(`${PARENT}/self/cgroup.procs`));
    put(`${PARENT}/self/cgroup.procs`, '');
  });

  it('EBUSY -> move every process into <own>/sandbox-supervisor, enable, create the leaf beside it', async () => {
    const cg = await open('m1');
    await cg.create();
    expect(read(`${PARENT}/cgroup.procs`)).toBe('');
    expect(read(`${PARENT}/sandbox-supervisor/cgroup.procs`)).toBe('1\n336\n');
    expect(read(`${PARENT}/cgroup.subtree_control`).trim().split(' ').sort()).toEqual([
      'cpu',
      'cpuset',
      'io',
      'memory',
      'pids',
    ]); // io too: the parent delegates it
    expect(writesTo('cgroup.subtree_control')).toEqual([
      '+cpu +cpuset +memory +pids +io',
      '+cpu +cpuset +memory +pids +io',
    ]);
    expect(existsSync(join(root, PARENT, 'sandbox-m1'))).toBe(true);
    await cg.destroy();
    expect(existsSync(join(root, PARENT, 'sandbox-m1'))).toBe(false);
    expect(existsSync(join(root, PARENT, 'sandbox-supervisor'))).toBe(true); // the supervisor lives there
  });

  it('a later supervisor started from sandbox-supervisor puts its leaves beside it, not inside', async () => {
    const first = await open('m2');
    await first.create();
    const second = await open('m3', '0::/parent/sandbox-supervisor\n');
    await second.create();
    expect(second.dirs).toEqual([join(root, PARENT, 'sandbox-m3')]);
    await second.destroy();
    await first.destroy();
  });

  it('still EBUSY after the move: processes go back, the leaf is removed, the error says why', async () => {
    fs.failOn('write', `${PARENT}/cgroup.subtree_control`, 'EBUSY', 2);
    const cg = await open('m4');
    const err = await cg.create().then(
      () => null,
      (e: unknown) => e as Error,
    );
    expect(err?.message).toMatch(
      /^cgroup v2 create: can't enable controllers in .*\/parent even after moving its processes into .*\/parent\/sandbox-supervisor \(no internal processes rule, cgroup-v2\.rst\): write .*cgroup\.subtree_control "\+cpu \+cpuset \+memory \+pids \+io": EBUSY \(errno 16\)$/,
    );
    expect(read(`${PARENT}/cgroup.procs`)).toBe('1\n336\n');
    expect(existsSync(join(root, PARENT, 'sandbox-supervisor'))).toBe(false);
    expect(existsSync(join(root, PARENT, 'sandbox-m4'))).toBe(false);
  });

  it('a controller the parent does not delegate is an error naming it; nothing is moved', async () => {
    put(`${PARENT}/cgroup.controllers`, 'cpu io memory pids\n');
    const cg = await open('m5');
    await expect(cg.create()).rejects.toThrow(
      /controller\(s\) cpuset not available in .*\/parent\/cgroup\.controllers \("cpu io memory pids"\)/,
    );
    expect(read(`${PARENT}/cgroup.procs`)).toBe('1\n336\n');
    expect(existsSync(join(root, PARENT, 'sandbox-supervisor'))).toBe(false);
  });

  it('the root cgroup may hold processes and enable controllers: no move', async () => {
    put('/sys/fs/cgroup/cgroup.subtree_control', '');
    const cg = await open('m6', '0::/\n');
    await cg.create();
    expect(existsSync(join(root, '/sys/fs/cgroup/sandbox-supervisor'))).toBe(false);
    expect(existsSync(join(root, '/sys/fs/cgroup/sandbox-m6'))).toBe(true);
    await cg.destroy();
  });
});

describe('v2 kill and destroy', () => {
  it('without cgroup.kill (the capture could not read it): SIGKILL pid by pid, then rmdir', async () => {
    const cg = await open('test');
    const pid = Number(read(`${PARENT}/sandbox-test/cgroup.procs`));
    await cg.destroy();
    expect(new Set(signals.map(([p, s]) => `${p} ${s}`))).toEqual(new Set([`${pid} SIGKILL`]));
    expect(existsSync(join(root, PARENT, 'sandbox-test'))).toBe(false);
    await cg.destroy(); // idempotent
  });

  it('with cgroup.kill (Linux >= 5.14, write-only): one write of "1", no per-pid signals', async () => {
    put(`${PARENT}/sandbox-test/cgroup.kill`, ''); // present in every non-root cgroup; unreadable, so not captured
    const cg = await open('test');
    await cg.destroy();
    expect(writesTo('cgroup.kill')).toEqual(['1']);
    expect(signals).toEqual([]);
    expect(existsSync(join(root, PARENT, 'sandbox-test'))).toBe(false);
  });

  it('killAll(SIGTERM) signals each pid; addPid writes cgroup.procs', async () => {
    const cg = await open('k1');
    await cg.create();
    await cg.addPid(4242);
    expect(cg.pids()).toEqual([4242]);
    await cg.killAll('SIGTERM');
    expect(signals).toEqual([[4242, 'SIGTERM']]);
    await cg.destroy();
  });

  it('create() fails cleanly when the leaf already exists', async () => {
    const cg = await open('test');
    await expect(cg.create()).rejects.toThrow(/cgroup v2 create: mkdir .*sandbox-test: EEXIST \(errno 17\)/);
    expect(existsSync(join(root, PARENT, 'sandbox-test'))).toBe(true);
  });
});
