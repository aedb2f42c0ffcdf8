// What every engine test runs inside its container, and the image it runs in: the busybox test
// image (bench/engines/image.ts) with procps free/top/uptime and coreutils nproc, which read
// /proc and /sys as users' tools do (busybox's free and uptime use sysinfo(2), which no file
// bind can change), packed as a tarball for `docker import` / `podman import`.
import { expect } from 'vitest';
import { buildImageTarball as buildTarball } from '../../../bench/engines/image.js';

/** procps uptime, beside the image's procps top/free and coreutils nproc. */
const EXTRA_TOOLS = ['/usr/bin/uptime'];

/** Build the image's root at `${dir}/rootfs` and return the path of its tarball. */
export function buildImageTarball(dir: string): string {
  return buildTarball(dir, EXTRA_TOOLS);
}

/** The probe: one `key value` line per check (sh -c). */
export const PROBE = [
  '/usr/bin/free -b | awk \'$1=="Mem:" {print "free", $2}\'',
  'echo nproc $(/usr/bin/nproc)',
  'echo online $(cat /sys/devices/system/cpu/online)',
  'echo cpuinfo $(grep -c ^processor /proc/cpuinfo)',
  // -1: one %Cpu line per CPU that /proc/stat lists.
  'echo topcpus $(/usr/bin/top -b -n 1 -1 | grep -c "^%Cpu")',
  'echo topmem $(/usr/bin/top -b -n 1 | grep "^MiB Mem" | awk \'{print $4}\')',
  'echo memtotal $(awk \'$1=="MemTotal:" {print $2}\' /proc/meminfo)',
  'echo uptime $(cut -d" " -f1 /proc/uptime)',
  'echo procps-uptime $(/usr/bin/uptime)',
].join('; ');

/** The probe's output as key -> value. */
export function parseProbe(stdout: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of stdout.trim().split('\n')) {
    const sp = line.indexOf(' ');
    if (sp > 0) out[line.slice(0, sp)] = line.slice(sp + 1).trim();
  }
  return out;
}

/** Minutes procps `uptime` prints ("up 3 min", "up 1:05" = 65, "up 2 days, 3:04" …). */
function procpsUptimeMinutes(line: string): number {
  const days = /up\s+(\d+)\s+days?/.exec(line);
  const hm = /(\d+):(\d\d),/.exec(line.replace(/^\s*\S+/, '')); // skip the clock at the start
  const min = /(\d+)\s+min/.exec(line);
  return (
    (days ? Number(days[1]) * 1440 : 0) + (hm ? Number(hm[1]) * 60 + Number(hm[2]) : 0) + (min ? Number(min[1]) : 0)
  );
}

/** The memory limit every engine test gives its container (`-m 256m`, the pod's 256Mi). */
export const PROBE_MEM = 256 * 1024 * 1024;

/**
 * What the probe prints in a container limited to PROBE_MEM and one CPU (cpuset 0) with our views
 * bound; nproc is left out: it follows the cpuset (sched_getaffinity), not the files.
 */
export const VIEWS_OF_LIMITS = {
  free: String(PROBE_MEM),
  memtotal: String(PROBE_MEM / 1024),
  topmem: '256.0',
  online: '0',
  cpuinfo: '1',
  topcpus: '1',
};

/** The probe's uptimes (/proc/uptime, procps uptime) count from the container's start, `elapsedS` ago at most. */
export function expectContainerUptime(p: Record<string, string>, elapsedS: number): void {
  expect(Number(p.uptime)).toBeLessThanOrEqual(elapsedS + 1);
  expect(procpsUptimeMinutes(p['procps-uptime'] ?? '')).toBeLessThanOrEqual(Math.ceil(elapsedS / 60));
}
