// Runtimes inside agree with the limits (issue 22): the mount table lists each mount point once (no
// shadowed host copies of /proc, /dev, /sys or the cgroup mounts) and every cgroup mount is rooted
// at "/", as under runc; a real JVM (Debian's openjdk-17-jre-headless, installed by
// native/setup.sh) sizes its CPUs and heap from --cpu and --mem; and sysinfo(2), which no file can
// cover, answers with the sandbox's figures (native/stage/sysinfo.c) for busybox free, glibc's
// sysconf, a direct caller, --user and `sandbox exec`.
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildBusyboxImage, imageUnavailable } from '../helpers/image.js';
import { cleanUpAfterEach, detached, scratchDir } from '../helpers/lifecycle.js';
import { HOST_IS_V2, cli, idmapUnavailable, sandboxUnavailable } from '../helpers/sandbox.js';
import { machineLacks, needsSetup, requireOrSkip, type Missing } from '../helpers/skip.js';

/** One line of /proc/PID/mountinfo (proc(5)): the fields a runtime matches on. */
interface MountLine {
  root: string;
  mountPoint: string;
  fsType: string;
}

/** Parse mountinfo text: root is field 4, the mount point field 5, the type follows the " - ". */
function parseMountinfo(text: string): MountLine[] {
  return text
    .trim()
    .split('\n')
    .map((line) => {
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

describe.skipIf(skip)("mountinfo inside looks like a container's", () => {
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
    // The default ID-maps the image's layers, which needs a file system that allows it (not the
    // v2 VM's tmpfs /tmp on Linux 6.1: a visible skip of that mode); --userns=host maps nothing.
    const modes = requireOrSkip(idmapUnavailable(image)) ? [['--userns=host']] : [[], ['--userns=host']];
    for (const mode of modes) {
      for (const net of ['none', 'host']) {
        const r = await cli([
          'run',
          ...mode,
          '--net',
          net,
          '--rootfs',
          image,
          '--',
          '/bin/cat',
          '/proc/self/mountinfo',
        ]);
        expect(r.stderr).toBe('');
        expect(r.code).toBe(0);
        expectContainerTable(r.stdout);
      }
    }
  });
});

describe.skipIf(skip || requireOrSkip(javaUnavailable()))('the JVM sizes itself from the limits', () => {
  cleanUpAfterEach();
  /** MaxHeapSize the same JVM picks on the host when told it has 256 MiB of RAM. */
  let hostHeapFor256M = 0;
  beforeAll(() => {
    hostHeapFor256M = flagValue(
      execFileSync('java', ['-XX:MaxRAM=256m', '-XX:+PrintFlagsFinal', '-version'], {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'ignore'],
      }),
      'MaxHeapSize',
    );
  }, JVM_DEADLINE_MS);

  it(
    '--cpu 20% --mem 256M: one CPU, a 256 MiB limit, the heap of a 256 MiB machine',
    async () => {
      const r = await cli(['run', '--cpu', '20%', '--mem', '256M', '--', ...JVM_ARGS]);
      expect(r.code).toBe(0);
      const out = r.stdout + r.stderr; // -XshowSettings prints on stderr, the flags on stdout
      expect(out).toMatch(/^\s+Provider: cgroupv[12]$/m); // found its container (was a NullPointerException)
      expect(out).toMatch(/^\s+Effective CPU Count: 1$/m);
      // It reads the limit, and its physical memory (sysinfo(2)) is the sandbox's: since JDK-8292083
      // a limit >= physical memory counts as none, so it sizes from the physical 256 MiB instead, and
      // -XshowSettings prints "Memory Limit: Unlimited" (docs/run.md, "What runtimes find inside").
      expect(out).toMatch(/Memory Limit is: 268435456$/m);
      expect(out).toMatch(/total physical memory: 268435456$/m);
      // HotSpot's own view (what Runtime.availableProcessors() returns), separate from the Java metrics.
      expect(out).toMatch(/OSContainer::active_processor_count: 1$/m);
      expect(flagValue(out, 'MaxHeapSize')).toBe(hostHeapFor256M);
    },
    JVM_DEADLINE_MS,
  );

  it.skipIf(requireOrSkip(availableParallelism() < 2 ? machineLacks('needs 2 CPUs for --cpu 150% to mean two') : null))(
    '--cpu 150%: two CPUs',
    async () => {
      const r = await cli(['run', '--cpu', '150%', '--', ...JVM_ARGS]);
      expect(r.code).toBe(0);
      const out = r.stdout + r.stderr;
      expect(out).toMatch(/^\s+Effective CPU Count: 2$/m);
      expect(out).toMatch(/OSContainer::active_processor_count: 2$/m);
    },
    JVM_DEADLINE_MS,
  );
});

/** Python calling sysinfo(2) through ctypes (struct sysinfo of <sys/sysinfo.h>, 64-bit), then
 * sysinfo(8), a bad pointer; prints the fields as JSON, then the view files it should agree with. */
const SYSINFO_PY = `
import ctypes, json
L, U = ctypes.c_long, ctypes.c_ulong
class S(ctypes.Structure):
    _fields_ = [('uptime', L), ('loads', U * 3), ('totalram', U), ('freeram', U), ('sharedram', U),
                ('bufferram', U), ('totalswap', U), ('freeswap', U), ('procs', ctypes.c_ushort),
                ('pad', ctypes.c_ushort), ('totalhigh', U), ('freehigh', U), ('mem_unit', ctypes.c_uint), ('f', ctypes.c_char * 4)]
libc = ctypes.CDLL(None, use_errno=True)
s = S()
rc = libc.sysinfo(ctypes.byref(s))
bad = libc.sysinfo(ctypes.c_void_p(8))
print(json.dumps({'rc': rc, 'bad': bad, 'errno': ctypes.get_errno(), 'uptime': s.uptime, 'loads': list(s.loads),
  'totalram': s.totalram, 'freeram': s.freeram, 'totalswap': s.totalswap, 'procs': s.procs, 'mem_unit': s.mem_unit}))
print(open('/proc/meminfo').read().split('\\n')[0])
print(open('/proc/uptime').read().strip())
print(open('/proc/loadavg').read().strip())
`;

/** The fields SYSINFO_PY prints: sysinfo(2)'s, its return codes and errno. */
interface SysinfoFields {
  rc: number;
  bad: number;
  errno: number;
  uptime: number;
  loads: number[];
  totalram: number;
  freeram: number;
  totalswap: number;
  procs: number;
  mem_unit: number;
}

/** What SYSINFO_PY printed: the sysinfo fields, MemTotal in bytes, the uptime and loadavg views. */
function parseSysinfoRun(stdout: string): { si: SysinfoFields; memTotal: number; uptime: number; loadavg: string[] } {
  const [json, mem, up, load] = stdout.trim().split('\n');
  return {
    si: JSON.parse(json!) as SysinfoFields,
    memTotal: Number(/(\d+) kB/.exec(mem!)![1]) * 1024,
    uptime: Number(up!.split(' ')[0]),
    loadavg: load!.split(' '),
  };
}

/** The sysinfo fields agree with the views read right after, and a bad pointer gets EFAULT. */
function expectSandboxSysinfo(stdout: string, memBytes: number): void {
  const { si, memTotal, uptime, loadavg } = parseSysinfoRun(stdout);
  expect(si.rc).toBe(0);
  expect(si.mem_unit).toBe(1);
  expect(memTotal).toBe(memBytes);
  expect(si.totalram).toBe(memTotal);
  expect(si.freeram).toBeLessThanOrEqual(si.totalram);
  expect(si.totalswap).toBe(0); // no --swap: none (the swaps view)
  // Rounded up to whole seconds like the kernel's; the view was read after the call.
  expect(si.uptime).toBeLessThanOrEqual(Math.ceil(uptime));
  expect(si.uptime).toBeGreaterThanOrEqual(Math.floor(uptime) - 1);
  expect(si.loads).toHaveLength(3);
  for (const [i, load] of si.loads.entries())
    expect(Math.abs(load / 65536 - Number(loadavg[i]))).toBeLessThanOrEqual(0.01);
  // procs is the sandbox's task count, as the loadavg view's total (sh, python3 and PID 1 here).
  const tasks = Number(loadavg[3]!.split('/')[1]);
  expect(Math.abs(si.procs - tasks)).toBeLessThanOrEqual(2);
  expect(si.bad).toBe(-1);
  expect(si.errno).toBe(14); // EFAULT, as the kernel's own sysinfo on a bad pointer
}

/** A C caller of sysinfo(2): total RAM in bytes and the uptime in seconds. */
const C_CALLER = `#include <stdio.h>
#include <sys/sysinfo.h>
int main(void)
{
	struct sysinfo si;

	if (sysinfo(&si) != 0)
		return 1;
	printf("%llu %ld\\n", (unsigned long long)si.totalram * si.mem_unit, si.uptime);
	return 0;
}
`;

describe.skipIf(skip || requireOrSkip(imageUnavailable()))("sysinfo(2) answers with the sandbox's figures", () => {
  cleanUpAfterEach();
  const scratch = scratchDir(tmpdir(), 'sandbox-sysinfo-');
  const MEM = 256 * 1024 * 1024;

  it("the host's own answer differs (the test can fail): more RAM than the sandbox gets", () => {
    const { si } = parseSysinfoRun(execFileSync('python3', ['-c', SYSINFO_PY], { encoding: 'utf8' }));
    expect(si.totalram).toBeGreaterThan(MEM);
  });

  for (const user of [[], ['--user', '1000']]) {
    it(`a direct caller, busybox free and glibc's sysconf agree with /proc/meminfo${user.length ? ' (--user 1000)' : ''}`, async () => {
      const script =
        'python3 -c "$1"; busybox free | sed -n 2p; ' +
        "python3 -c \"import os; print(os.sysconf('SC_PHYS_PAGES') * os.sysconf('SC_PAGE_SIZE'), os.sysconf('SC_AVPHYS_PAGES') * os.sysconf('SC_PAGE_SIZE'))\"";
      const r = await cli(['run', '--mem', '256M', ...user, '--', 'sh', '-c', script, 'sh', SYSINFO_PY]);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      const lines = r.stdout.trim().split('\n');
      expectSandboxSysinfo(lines.slice(0, 4).join('\n'), MEM);
      expect(lines[4]!.trim().split(/\s+/).slice(0, 2)).toEqual(['Mem:', String(MEM / 1024)]); // busybox free: KiB
      const [phys, avphys] = lines[5]!.split(' ').map(Number);
      expect(phys).toBe(MEM);
      expect(avphys).toBeLessThanOrEqual(MEM);
    });
  }

  it("a C program calling sysinfo(2) gets the limit and the sandbox's uptime", async () => {
    // Built here with the set-up's gcc, in a directory the workload (uid 100000 by default) can read,
    // bound as its workdir (its /tmp is a tmpfs of its own).
    const dir = join(scratch(), 'c-caller');
    mkdirSync(dir, { mode: 0o755 });
    chmodSync(scratch(), 0o755);
    writeFileSync(join(dir, 'si.c'), C_CALLER);
    execFileSync('cc', ['-O2', '-o', join(dir, 'si'), join(dir, 'si.c')]);
    const r = await cli(['run', '--mem', '256M', '--', './si'], { cwd: dir });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const [total, uptime] = r.stdout.trim().split(' ').map(Number);
    expect(total).toBe(MEM);
    expect(uptime).toBeLessThan(Number(execFileSync('cut', ['-d.', '-f1', '/proc/uptime'], { encoding: 'utf8' }))); // not the host's
  });

  it('a process started by `sandbox exec` gets them too', async () => {
    const id = await detached(['--mem', '256M', '--', 'sleep', '300']);
    const r = await cli(['exec', id, 'python3', '-c', SYSINFO_PY]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expectSandboxSysinfo(r.stdout, MEM);
  });
});
