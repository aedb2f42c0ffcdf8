// Runtimes that find their container through /proc/self/mountinfo agree with the limits (issue 22):
// the mount table inside lists each mount point once (no shadowed host copies of /proc, /dev, /sys
// or the cgroup mounts) and every cgroup mount is rooted at "/", as under runc; and a real JVM
// (Debian's openjdk-17-jre-headless, installed by native/setup.sh) sizes its CPUs and heap from
// --cpu and --mem.
import { execFileSync } from 'node:child_process';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildBusyboxImage, imageUnavailable } from '../helpers/image.js';
import { cleanUpAfterEach, scratchDir } from '../helpers/lifecycle.js';
import { HOST_IS_V2, cli, sandboxUnavailable } from '../helpers/sandbox.js';
import { machineLacks, needsSetup, requireOrSkip, type Missing } from '../helpers/skip.js';

/** One line of /proc/PID/mountinfo (proc(5)): the fields a runtime matches on. */
interface MountLine { root: string; mountPoint: string; fsType: string }

/** Parse mountinfo text: root is field 4, the mount point field 5, the type follows the " - ". */
function parseMountinfo(text: string): MountLine[] {
  return text.trim().split('\n').map((line) => {
    const [left, right] = line.split(' - ');
    const fields = left!.split(' ');
    return { root: fields[3]!, mountPoint: fields[4]!, fsType: right!.split(' ')[0]! };
  });
}

/** Where `java` is, or what is missing (the set-up installs openjdk-17-jre-headless). */
function javaUnavailable(): Missing | null {
  try {
    execFileSync('java', ['-version'], { stdio: 'ignore' });
    return null;
  } catch {
    return needsSetup('needs java (Debian openjdk-17-jre-headless; native/setup.sh installs it)');
  }
}

/** The value of one -XX flag in `java -XX:+PrintFlagsFinal` output. */
function flagValue(out: string, name: string): number {
  const m = new RegExp(`\\s${name}\\s+=\\s+(\\d+)`).exec(out);
  if (!m) throw new Error(`no ${name} in:\n${out}`);
  return Number(m[1]);
}

const skip = requireOrSkip(sandboxUnavailable());
const JVM_ARGS = ['java', '-XshowSettings:system', '-Xlog:os+container=trace', '-XX:+PrintFlagsFinal', '-version'];
/** A JVM starts in seconds natively, in tens of seconds under the v2 tier's software emulation. */
const JVM_DEADLINE_MS = 240_000;

describe.skipIf(skip)('mountinfo inside looks like a container\'s', () => {
  cleanUpAfterEach();
  const scratch = scratchDir(tmpdir(), 'sandbox-runtimes-');

  /** Check one sandbox's table: each mount point once, cgroup mounts only ours, rooted at "/". */
  const expectContainerTable = (text: string): void => {
    const lines = parseMountinfo(text);
    const points = lines.map((l) => l.mountPoint);
    expect(points.filter((p, i) => points.indexOf(p) !== i)).toEqual([]);
    const cgroups = lines.filter((l) => l.fsType === 'cgroup' || l.fsType === 'cgroup2');
    expect(cgroups.length).toBeGreaterThan(0);
    for (const l of cgroups) {
      expect(l.root).toBe('/');
      expect(l.mountPoint.startsWith('/sys/fs/cgroup')).toBe(true);
    }
    if (!HOST_IS_V2) expect(cgroups.some((l) => l.mountPoint === '/sys/fs/cgroup/memory')).toBe(true);
  };

  for (const net of ['none', 'host']) {
    it(`on the host root with --net ${net}`, async () => {
      const r = await cli(['run', '--net', net, '--', 'cat', '/proc/self/mountinfo']);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      expectContainerTable(r.stdout);
    });
  }

  it.skipIf(requireOrSkip(imageUnavailable()))('with --rootfs, --net none and --net host', async () => {
    const image = join(scratch(), 'image');
    buildBusyboxImage(image);
    for (const net of ['none', 'host']) {
      const r = await cli(['run', '--net', net, '--rootfs', image, '--', '/bin/cat', '/proc/self/mountinfo']);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      expectContainerTable(r.stdout);
    }
  });
});

describe.skipIf(skip || requireOrSkip(javaUnavailable()))('the JVM sizes itself from the limits', () => {
  cleanUpAfterEach();
  /** MaxHeapSize the same JVM picks on the host when told it has 256 MiB of RAM. */
  let hostHeapFor256M = 0;
  beforeAll(() => {
    hostHeapFor256M = flagValue(execFileSync('java', ['-XX:MaxRAM=256m', '-XX:+PrintFlagsFinal', '-version'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }), 'MaxHeapSize');
  }, JVM_DEADLINE_MS);

  it('--cpu 20% --mem 256M: one CPU, a 256 MiB limit, the heap of a 256 MiB machine', async () => {
    const r = await cli(['run', '--cpu', '20%', '--mem', '256M', '--', ...JVM_ARGS]);
    expect(r.code).toBe(0);
    const out = r.stdout + r.stderr; // -XshowSettings prints on stderr, the flags on stdout
    expect(out).toMatch(/^\s+Memory Limit: 256\.00M$/m);
    expect(out).toMatch(/^\s+Effective CPU Count: 1$/m);
    // HotSpot's own view (what Runtime.availableProcessors() returns), separate from the Java metrics.
    expect(out).toMatch(/OSContainer::active_processor_count: 1$/m);
    expect(out).toMatch(/Memory Limit is: 268435456$/m);
    expect(flagValue(out, 'MaxHeapSize')).toBe(hostHeapFor256M);
  }, JVM_DEADLINE_MS);

  it.skipIf(requireOrSkip(availableParallelism() < 2 ? machineLacks('needs 2 CPUs for --cpu 150% to mean two') : null))(
    '--cpu 150%: two CPUs', async () => {
      const r = await cli(['run', '--cpu', '150%', '--', ...JVM_ARGS]);
      expect(r.code).toBe(0);
      const out = r.stdout + r.stderr;
      expect(out).toMatch(/^\s+Effective CPU Count: 2$/m);
      expect(out).toMatch(/OSContainer::active_processor_count: 2$/m);
    }, JVM_DEADLINE_MS);
});
