// Block I/O limits through the CLI against real sandboxes: --device-write-bps slows direct writes
// to the disk to the rate asked, the cgroup file holds the limit, and `sandbox update` changes it
// live (the next write runs at the new rate); --io-weight lands in the weight file.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { diskOf } from '../helpers/disk.js';
import { cgroupDir, cleanUpAfterEach, detached, scratchDir, stateOf } from '../helpers/lifecycle.js';
import { cli, sandboxUnavailable } from '../helpers/sandbox.js';
import { machineLacks, requireOrSkip } from '../helpers/skip.js';

// A directory under the repository: on a real disk (the system tmp may be tmpfs elsewhere), or
// SANDBOX_TEST_DISK_DIR (the v2 guest of test/vm, whose repository is on 9p, sets its virtio disk).
const REPO = process.env.SANDBOX_TEST_DISK_DIR || fileURLToPath(new URL('../..', import.meta.url));
const disk = diskOf(REPO);
const skip = requireOrSkip(sandboxUnavailable() ?? (disk ? null : machineLacks(`${REPO} is not on a block device`)));
const DEV = disk ? `/dev/${disk.name}` : '';
const KEY = disk ? `${disk.major}:${disk.minor}` : '';

/** dd of `mib` MiB with O_DIRECT (no page cache: every byte is a bio the throttle sees). */
const dd = (mib: number): string => `dd if=/dev/zero of=io-probe bs=1M count=${mib} oflag=direct 2>/dev/null && rm io-probe`;

/** Kernel files holding the limits of a running sandbox: v1 blkio.throttle.*, v2 io.max. */
function limitsOf(id: string): { write: string; readIops: string; weight: string } {
  const dirs = stateOf(id).cgroupDirs;
  if (dirs.length === 1) {
    const d = dirs[0]!;
    const max = readFileSync(`${d}/io.max`, 'utf8');
    return { write: max, readIops: max, weight: readFileSync(`${d}/io.weight`, 'utf8') };
  }
  const d = cgroupDir(id, 'blkio');
  return {
    write: readFileSync(`${d}/blkio.throttle.write_bps_device`, 'utf8'),
    readIops: readFileSync(`${d}/blkio.throttle.read_iops_device`, 'utf8'),
    weight: readFileSync(`${d}/blkio.bfq.weight`, 'utf8'),
  };
}

describe.skipIf(skip)('block I/O limits', () => {
  const workDir = scratchDir(REPO, '.io-limits-');
  cleanUpAfterEach();

  it('--device-write-bps DEV:2M: 8 MiB of direct writes take about 4 s', async () => {
    const t0 = Date.now();
    const r = await cli(['run', '--device-write-bps', `${DEV}:2M`, '--', 'sh', '-c', dd(8)], { cwd: workDir() });
    const seconds = (Date.now() - t0) / 1000;
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    // 8 MiB at 2 MiB/s is 4 s; blk-throttle may let the first slice through early, so >= 3 s.
    expect(seconds).toBeGreaterThanOrEqual(3);
    expect(seconds).toBeLessThan(15);
  }, 30_000);

  it('the cgroup holds the limits, and update changes them live', async () => {
    const id = await detached(['--device-write-bps', `${DEV}:1M`, '--io-weight', '300', '--', 'sleep', '60'], { cwd: workDir() });
    let files = limitsOf(id);
    expect(files.write).toMatch(new RegExp(`^${KEY} (1048576|.*wbps=1048576)`, 'm'));
    expect(files.weight).toMatch(/(^|default )300$/m);

    // At 1 MiB/s, 2 MiB take about 2 s.
    let t0 = Date.now();
    let r = await cli(['exec', id, '--', 'sh', '-c', dd(2)], { cwd: workDir() });
    expect(r.code).toBe(0);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(1500);

    r = await cli(['update', id, '--device-write-bps', `${DEV}:64M`, '--device-read-iops', `${DEV}:500`, '--io-weight', '50']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    files = limitsOf(id);
    expect(files.write).toMatch(new RegExp(`^${KEY} (67108864|.*wbps=67108864)`, 'm'));
    expect(files.readIops).toMatch(new RegExp(`^${KEY} (500|.*riops=500)`, 'm'));
    expect(files.weight).toMatch(/(^|default )50$/m);

    // The same process tree now writes 8 MiB in well under the 8 s the old rate would take.
    t0 = Date.now();
    r = await cli(['exec', id, '--', 'sh', '-c', dd(8)], { cwd: workDir() });
    expect(r.code).toBe(0);
    expect(Date.now() - t0).toBeLessThan(4000);

    // "max" removes a limit (v1: the row goes, 0 = none; v2: wbps=max).
    r = await cli(['update', id, '--device-write-bps', `${DEV}:max`]);
    expect(r.code).toBe(0);
    expect(limitsOf(id).write).not.toMatch(new RegExp(`^${KEY} (67108864|.*wbps=\\d)`, 'm'));
    expect(JSON.parse(readFileSync(`/run/sandbox/${id}/state.json`, 'utf8')).limits.io.devices[0]).toMatchObject({ writeBps: null, readIops: 500 });
  }, 60_000);

  it('update rejects a bad I/O value with one line naming the flag, exit 125, limits unchanged', async () => {
    const id = await detached(['--device-write-bps', `${DEV}:1M`, '--', 'sleep', '60'], { cwd: workDir() });
    const r = await cli(['update', id, '--device-write-bps', `${DEV}:0`]);
    expect(r.code).toBe(125);
    expect(r.stderr).toMatch(new RegExp(`^sandbox: --device-write-bps: .*"0"\\n$`));
    expect(limitsOf(id).write).toMatch(new RegExp(`^${KEY} (1048576|.*wbps=1048576)`, 'm'));
  }, 30_000);
});
