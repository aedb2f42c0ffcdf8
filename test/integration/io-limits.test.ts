// Block I/O limits through the CLI against real sandboxes: --device-write-bps slows direct writes
// to the disk to the rate asked, the cgroup file holds the limit, and `sandbox update` changes it
// live (the next write runs at the new rate). --io-weight depends on the kernel: with a weight file
// in the sandbox's cgroup (v1 blkio.bfq.weight/blkio.weight, v2 io.bfq.weight/io.weight) the weight
// lands in each and `update` changes it; without one, `run` and `update` refuse with one line
// (docs/lifecycle.md, "I/O limits"). Which case this kernel is, a sandbox's own cgroup tells (WEIGHT_FILES).
// Time is asserted only where the kernel guarantees it: a throttle makes a write take at least
// (size - 1 s of burst) / rate; the upper bound after a raised rate is what the OLD rate could
// not do. The test timeouts are the generous deadlines for everything else.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { diskOf } from '../helpers/disk.js';
import { cgroupDir, cleanUpAfterEach, detached, scratchDir, stateOf } from '../helpers/lifecycle.js';
import { HOST_IS_V2, cli, leftovers, sandboxUnavailable } from '../helpers/sandbox.js';
import { machineLacks, requireOrSkip } from '../helpers/skip.js';

// A directory under the repository: on a real disk (the system tmp may be tmpfs elsewhere), or
// SANDBOX_TEST_DISK_DIR (the v2 guest of test/vm, whose repository is on 9p, sets its virtio disk).
const REPO = process.env.SANDBOX_TEST_DISK_DIR || fileURLToPath(new URL('../..', import.meta.url));
const disk = diskOf(REPO);
const skip = requireOrSkip(sandboxUnavailable() ?? (disk ? null : machineLacks(`${REPO} is not on a block device`)));
const DEV = disk ? `/dev/${disk.name}` : '';
const KEY = disk ? `${disk.major}:${disk.minor}` : '';

/** dd of `mib` MiB with O_DIRECT (no page cache: every byte is a bio the throttle sees). */
const dd = (mib: number): string =>
  `dd if=/dev/zero of=io-probe bs=1M count=${mib} oflag=direct 2>/dev/null && rm io-probe`;

/**
 * The same, timed inside the sandbox by date(1) (CLOCK_REALTIME, not time-namespaced): prints the
 * milliseconds the writes took, without the CLI's start and teardown that load stretches.
 */
const timedDd = (mib: number): string =>
  `s=$(date +%s%N) && ${dd(mib)} && e=$(date +%s%N) && echo $(( (e - s) / 1000000 ))`;

/** Run timedDd in a running sandbox; the milliseconds it printed. */
async function ddMs(id: string, mib: number, cwd: string): Promise<number> {
  const r = await cli(['exec', id, '--', 'sh', '-c', timedDd(mib)], { cwd });
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  expect(r.stdout).toMatch(/^\d+\n$/);
  return Number(r.stdout);
}

/**
 * The weight files a sandbox's cgroup has on this kernel, listed from inside one (its
 * /sys/fs/cgroup[/blkio] is its own cgroup): the fact run and update decide by
 * (supervisor/cgroup/v1/blkio.ts blkioWeightFiles, v2/io.ts ioWeightFiles). bfq's file exists once
 * bfq is built in or loaded, whatever the disks' schedulers; iocost's io.weight when built in.
 */
async function weightFilesOfASandbox(): Promise<string[]> {
  const r = await cli(['run', '--', 'sh', '-c', 'ls /sys/fs/cgroup/blkio 2>/dev/null || ls /sys/fs/cgroup']);
  if (r.code !== 0) throw new Error(`probe sandbox failed (exit ${r.code}): ${r.stderr}`);
  return r.stdout.split('\n').filter((f) => /^(blkio\.(bfq\.)?weight|io\.(bfq\.)?weight)$/.test(f));
}
const WEIGHT_FILES = skip ? [] : await weightFilesOfASandbox();
const HAS_WEIGHT = WEIGHT_FILES.length > 0;
const FILES = HOST_IS_V2 ? 'io.bfq.weight nor io.weight' : 'blkio.bfq.weight nor blkio.weight';
/** This kernel's case of --io-weight decides which of the two blocks below runs; the other skips, saying where it is covered. */
const weightCase = {
  applied: HAS_WEIGHT
    ? null
    : machineLacks(
        `a sandbox's cgroup has neither ${FILES} (no bfq loaded): --io-weight applied is covered on the fake cgroupfs (test/unit/supervisor/cgroup/v*-lifecycle.test.ts) and for real in test/vm's guest`,
      ),
  refused: HAS_WEIGHT
    ? machineLacks(
        `a sandbox's cgroup has ${WEIGHT_FILES.join(', ')}: the refusal without a weight file is covered on the fake cgroupfs (test/unit/supervisor/cgroup/v*-lifecycle.test.ts)`,
      )
    : null,
};

/** Kernel files holding the throttles of a running sandbox: v1 blkio.throttle.*, v2 io.max. */
function throttlesOf(id: string): { write: string; readIops: string } {
  const dirs = stateOf(id).cgroupDirs;
  if (dirs.length === 1) {
    const max = readFileSync(`${dirs[0]!}/io.max`, 'utf8');
    return { write: max, readIops: max };
  }
  const d = cgroupDir(id, 'blkio');
  return {
    write: readFileSync(`${d}/blkio.throttle.write_bps_device`, 'utf8'),
    readIops: readFileSync(`${d}/blkio.throttle.read_iops_device`, 'utf8'),
  };
}

/** Each weight file of a running sandbox with its content (v1 "N", v2 "default N"). */
function weightsOf(id: string): Record<string, string> {
  const dirs = stateOf(id).cgroupDirs;
  const d = dirs.length === 1 ? dirs[0]! : cgroupDir(id, 'blkio');
  return Object.fromEntries(WEIGHT_FILES.map((f) => [f, readFileSync(`${d}/${f}`, 'utf8')]));
}

/** The limits state.json records for a sandbox. */
const recordedLimits = (id: string): { io?: { weight: number | null; devices: Record<string, unknown>[] } } =>
  JSON.parse(readFileSync(`/run/sandbox/${id}/state.json`, 'utf8')).limits;

describe.skipIf(skip)('block I/O limits', () => {
  const workDir = scratchDir(REPO, '.io-limits-');
  cleanUpAfterEach();

  it('--device-write-bps DEV:2M: 8 MiB of direct writes take at least 3 s', async () => {
    const r = await cli(['run', '--userns=host', '--device-write-bps', `${DEV}:2M`, '--', 'sh', '-c', timedDd(8)], {
      cwd: workDir(),
    });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    // 8 MiB at 2 MiB/s is 4 s; blk-throttle may let the first slice through early, so >= 3 s.
    // No upper bound: the test's timeout is the deadline (a rate misread as far lower would hit it).
    expect(Number(r.stdout)).toBeGreaterThanOrEqual(3000);
  }, 120_000);

  it('the cgroup holds the throttles, and update changes them live', async () => {
    const id = await detached(['--userns=host', '--device-write-bps', `${DEV}:1M`, '--', 'sleep', '600'], {
      cwd: workDir(),
    });
    expect(throttlesOf(id).write).toMatch(new RegExp(`^${KEY} (1048576|.*wbps=1048576)`, 'm'));

    // 2 MiB at 1 MiB/s take 2 s; less 1 s for the early first slice, >= 1 s.
    expect(await ddMs(id, 2, workDir())).toBeGreaterThanOrEqual(1000);

    let r = await cli(['update', id, '--device-write-bps', `${DEV}:64M`, '--device-read-iops', `${DEV}:500`]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const files = throttlesOf(id);
    expect(files.write).toMatch(new RegExp(`^${KEY} (67108864|.*wbps=67108864)`, 'm'));
    expect(files.readIops).toMatch(new RegExp(`^${KEY} (500|.*riops=500)`, 'm'));

    // The same process tree now writes 16 MiB faster than the old 1 MiB/s allows at all (16 s,
    // >= 15 s with the early slice): the new rate is in force. At 64 MiB/s it is ~0.25 s.
    expect(await ddMs(id, 16, workDir())).toBeLessThan(15_000);

    // "max" removes a limit (v1: the row goes, 0 = none; v2: wbps=max).
    r = await cli(['update', id, '--device-write-bps', `${DEV}:max`]);
    expect(r.code).toBe(0);
    expect(throttlesOf(id).write).not.toMatch(new RegExp(`^${KEY} (67108864|.*wbps=\\d)`, 'm'));
    expect(recordedLimits(id).io?.devices[0]).toMatchObject({ writeBps: null, readIops: 500 });
  }, 120_000);

  it('update rejects a bad I/O value with one line naming the flag, exit 125, limits unchanged', async () => {
    const id = await detached(['--device-write-bps', `${DEV}:1M`, '--', 'sleep', '600'], { cwd: workDir() });
    const r = await cli(['update', id, '--device-write-bps', `${DEV}:0`]);
    expect(r.code).toBe(125);
    expect(r.stderr).toMatch(/^sandbox: --device-write-bps: .*"0"\n$/);
    expect(throttlesOf(id).write).toMatch(new RegExp(`^${KEY} (1048576|.*wbps=1048576)`, 'm'));
  }, 60_000);

  describe.skipIf(skip || requireOrSkip(weightCase.applied))(
    "with a weight file in the sandbox's cgroup (bfq or iocost)",
    () => {
      it('--io-weight lands in every weight file, and update changes it live', async () => {
        const id = await detached(['--io-weight', '300', '--device-write-bps', `${DEV}:1M`, '--', 'sleep', '600'], {
          cwd: workDir(),
        });
        for (const [f, text] of Object.entries(weightsOf(id))) expect(text, f).toMatch(/^(default )?300\n$/);
        expect(recordedLimits(id).io?.weight).toBe(300);

        const r = await cli(['update', id, '--io-weight', '50']);
        expect(r.stderr).toBe('');
        expect(r.code).toBe(0);
        for (const [f, text] of Object.entries(weightsOf(id))) expect(text, f).toMatch(/^(default )?50\n$/);
        expect(recordedLimits(id).io?.weight).toBe(50);
        expect(throttlesOf(id).write).toMatch(new RegExp(`^${KEY} (1048576|.*wbps=1048576)`, 'm'));
      }, 60_000);
    },
  );

  describe.skipIf(skip || requireOrSkip(weightCase.refused))(
    "without a weight file in the sandbox's cgroup (no bfq, no iocost)",
    () => {
      it('run --io-weight 300: one line naming the flag and the value, exit 125, nothing left behind', async () => {
        const r = await cli(['run', '--io-weight', '300', '--', 'true'], { cwd: workDir() });
        expect(r.stdout).toBe('');
        expect(r.stderr).toMatch(/^sandbox: --io-weight 300: [^\n]+\n$/);
        expect(r.code).toBe(125);
        expect(leftovers()).toEqual([]);
      }, 60_000);

      it('update --io-weight 50: one line, exit 125, every limit (and state.json) as it was', async () => {
        const id = await detached(['--device-write-bps', `${DEV}:1M`, '--', 'sleep', '600'], { cwd: workDir() });
        const before = recordedLimits(id);
        const r = await cli(['update', id, '--device-write-bps', `${DEV}:4M`, '--io-weight', '50']);
        expect(r.stdout).toBe('');
        expect(r.stderr).toMatch(/^sandbox: --io-weight 50: [^\n]+\n$/);
        expect(r.code).toBe(125);
        expect(throttlesOf(id).write).toMatch(new RegExp(`^${KEY} (1048576|.*wbps=1048576)`, 'm'));
        expect(recordedLimits(id)).toEqual(before);
      }, 60_000);
    },
  );
});
